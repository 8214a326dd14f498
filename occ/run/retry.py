"""``os-collect-config retry``: "I fixed the hook, retry now".

A hook that keeps failing on the same data is retried with a growing back-off, and not at all
once the retries are exhausted (``occ.core.hook.RetryPolicy``). This command forgets the failed
attempts and runs a pass at once, the way the installation runs passes: under systemd it starts
``os-collect-config.service``, so the hook runs in its own unit exactly as on a timer tick (no
second copy of that logic); elsewhere it runs the pass and the hook in this process, as
``--one-time`` does.
"""

from __future__ import annotations

import os

from occ.config.model import Config
from occ.core.cache import Cache
from occ.log import lazy
from occ.run.handoff import retry_policy
from occ.run.runner import locked

LOG = lazy.logger(__name__)

SERVICE = "os-collect-config.service"
LOCK_TIMEOUT_SECONDS = 60.0


def retry_now(config: Config) -> int:
    """Clear the hook back-off and run a pass with the hook; return the exit status of that
    pass (``systemctl start``'s under systemd). Raise CacheError if the cache cannot be used."""
    cache = Cache(config.cachedir, config.backup_cachedir)
    with locked(cache, timeout=LOCK_TIMEOUT_SECONDS):
        retry_policy(config, cache).succeeded()
    LOG.log(lazy.NOTICE, "hook back-off cleared by an operator; running a pass now")
    if _systemd_runs(SERVICE):
        import subprocess

        return subprocess.call(["systemctl", "start", SERVICE])
    from occ.run import legacy

    return legacy.one_pass(config)


def _systemd_runs(unit: str) -> bool:
    """Return True if systemd is the init system and knows ``unit``."""
    if not os.path.isdir("/run/systemd/system"):
        return False
    import subprocess

    try:
        found = subprocess.run(
            ["systemctl", "show", "--property=LoadState", "--value", unit],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return found.stdout.strip() == "loaded"
