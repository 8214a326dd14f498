"""Running the hook command, and the bounded retry policy for a failing hook.

The hook (usually os-refresh-config) runs as ``/bin/sh -c <command>`` with the program's
environment plus ``OS_CONFIG_FILES`` (every file of the pass) and ``OCC_CHANGED_FILES`` (the
changed ones), stdin/stdout/stderr inherited. Its exit status is reported the way the original
did (killed by signal N: 256 - N).

A hook that keeps failing on the same data is retried by automatic passes with a doubling
back-off and a finite number of attempts (doc/compatibility.rst, "Hook retry back-off"); new
data, ``--force`` or a changed configuration start over. The record lives in
``<cachedir>/.occ/hook.state``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from occ import status
from occ.core.state import State
from occ.errors import HookError
from occ.log import logfields

if TYPE_CHECKING:
    import subprocess

LOG = logging.getLogger(__name__)

# After a hook timeout: SIGTERM, then this long before SIGKILL.
KILL_GRACE_SECONDS = 10.0


def environment(files: Sequence[str], changed: Sequence[str]) -> dict[str, str]:
    """Return the variables a hook receives on top of the inherited environment."""
    return {"OS_CONFIG_FILES": ":".join(files), "OCC_CHANGED_FILES": ":".join(changed)}


def run(command: str, variables: dict[str, str], *, timeout: float = 0) -> int:
    """Run ``command`` with ``variables`` added to the environment; return its exit status.

    ``timeout`` > 0 stops the hook (SIGTERM, then SIGKILL) after that many seconds.
    Raise HookError if the shell cannot be started at all.
    """
    import subprocess  # not needed by the passes that change nothing, i.e. almost all

    LOG.info("running hook: %s", command)
    env = dict(os.environ, **variables)
    try:
        # start_new_session: a timeout can stop the whole hook process tree, not just sh.
        child = subprocess.Popen(["/bin/sh", "-c", command], env=env, start_new_session=timeout > 0)
    except OSError as exc:
        raise HookError(f"cannot start the hook: /bin/sh: {exc.strerror}") from exc
    try:
        returncode = child.wait(timeout=timeout or None)
    except subprocess.TimeoutExpired:
        LOG.error("hook still running after %gs (hook_timeout); stopping it", timeout)
        returncode = _stop(child)
    code = status.from_returncode(returncode)
    if code == 0:
        LOG.log(
            logfields.NOTICE,
            "hook succeeded",
            extra=logfields.fields(hook_exit=0, message_id=logfields.MESSAGE_HOOK_SUCCEEDED),
        )
    else:
        LOG.error(
            "hook failed with exit status %d; nothing committed, the data stays pending",
            code,
            extra=logfields.fields(hook_exit=code, message_id=logfields.MESSAGE_HOOK_FAILED),
        )
    return code


def _stop(child: subprocess.Popen) -> int:
    import signal
    import subprocess

    for sig, wait in ((signal.SIGTERM, KILL_GRACE_SECONDS), (signal.SIGKILL, None)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, sig)
        try:
            return child.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue
    return child.wait()


class RetryPolicy:
    """Decides whether an automatic pass may hand data to the hook again.

    ``record`` is ``{"digest", "attempts", "next_attempt", "exhausted", "config"}``: the data
    last handed to the hook, how many hand-overs of it did not end in a commit, when the next
    one is allowed (epoch seconds), and the configuration fingerprint it was handed under.
    """

    def __init__(self, state: State, *, base_delay: float, max_delay: float, limit: int) -> None:
        self.state = state
        self.base_delay = max(base_delay, 1.0)
        self.max_delay = max(max_delay, self.base_delay)
        self.limit = limit

    def allows(self, digest: str, config_fingerprint: str) -> bool:
        """Return True if data with ``digest`` may go to the hook now; log why not otherwise."""
        record = self.state.load()
        if record.get("digest") != digest or record.get("config") != config_fingerprint:
            return True
        attempts = int(record.get("attempts", 0))
        if self.limit and attempts >= self.limit:
            if not record.get("exhausted"):
                LOG.error(
                    "the hook failed %d times on the same data; not retrying until the "
                    "data or the configuration changes (or run with --force)",
                    attempts,
                    extra=logfields.fields(
                        attempt=attempts, message_id=(logfields.MESSAGE_HOOK_RETRIES_EXHAUSTED)
                    ),
                )
                self.state.save(dict(record, exhausted=True))
            return False
        wait = float(record.get("next_attempt", 0)) - time.time()
        if wait > 0:
            LOG.info(
                "hook failed %d time(s) on this data; next retry in %.0fs",
                attempts,
                wait,
                extra=logfields.fields(attempt=attempts),
            )
            return False
        return True

    def handed_over(self, digest: str, config_fingerprint: str) -> int:
        """Record a hand-over of ``digest`` to the hook; return its attempt number.

        Recorded before the hook runs, so that a hook that never reports back (a crash, a
        failed hook unit) still counts as a failed attempt.
        """
        import random

        record: dict[str, Any] = self.state.load()
        same = record.get("digest") == digest and record.get("config") == config_fingerprint
        attempts = int(record.get("attempts", 0)) + 1 if same else 1
        delay = min(self.max_delay, self.base_delay * 2 ** (attempts - 1))
        self.state.save(
            {
                "digest": digest,
                "config": config_fingerprint,
                "attempts": attempts,
                # Jitter spreads the retries of a fleet that failed on the same deployment.
                "next_attempt": time.time() + delay * random.uniform(0.5, 1.0),
                "exhausted": False,
            }
        )
        return attempts

    def succeeded(self) -> None:
        """Forget the attempts: the hook succeeded, or an operator forced a new start."""
        self.state.clear()
