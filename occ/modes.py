"""The original's modes: print, one pass with the hook in process, and continuous.

All of them share the pass of ``occ.passes``/``occ.handoff``. Exit statuses are the original's
(contract.md section 1.5): 0, or the hook's status when it ran and failed.
"""

from __future__ import annotations

import json
import logging
import os
import random
import select
import signal
import sys
from collections.abc import Callable

from occ import hook, passes
from occ.cache import Cache
from occ.errors import OccError
from occ.handoff import Handoff, config_fingerprint, locked, retry_policy, store_pass
from occ.settings import Config
from occ.state import state_dir

LOG = logging.getLogger(__name__)

# How long a manual or continuous pass waits for another pass to release the cache.
LOCK_TIMEOUT_SECONDS = 3600.0


def print_mode(config: Config) -> int:
    """Collect once without writing anything; print the merged document on stdout."""
    outcomes = passes.collect(config, store=False, state_dir=state_dir(config.cachedir))
    for outcome in outcomes:
        if outcome.status == passes.UNAVAILABLE:
            LOG.warning("%s: source unavailable: %s", outcome.name, outcome.reason)
    sys.stdout.write(json.dumps(passes.merged(outcomes), indent=1) + "\n")
    sys.stdout.flush()
    return 0


def one_pass(config: Config, *, force: bool = False) -> int:
    """Run one store-mode pass and, on a change (or ``force``), the hook; commit on success.

    Return the hook's status (0 when it did not run). Raise CacheError if the cache cannot be
    used.
    """
    return _pass_and_hook(config, force=force, automatic=False)[1]


def _pass_and_hook(config: Config, *, force: bool, automatic: bool) -> tuple[bool, int]:
    """Return (changed, hook status). ``automatic`` passes (continuous mode) respect the
    back-off for a failing hook; a manual pass always runs it when something changed."""
    cache = Cache(config.cachedir, config.backup_cachedir)
    with locked(cache, timeout=LOCK_TIMEOUT_SECONDS):
        result = store_pass(config, cache)
        if not (result.changed or force):
            return False, 0
        handoff = Handoff.of(cache, result)
        policy = retry_policy(config, cache)
        fingerprint = config_fingerprint(config)
        if automatic and not policy.allows(handoff.digest, fingerprint):
            return result.changed, 0
        policy.handed_over(handoff.digest, fingerprint)
        code = hook.run(
            config.command, handoff.variables(), timeout=config.general.number("hook_timeout")
        )
        if code == 0:
            cache.commit(handoff.records)
            policy.succeeded()
        return result.changed, code


class _Signals:
    """SIGHUP: run a pass now. SIGTERM/SIGINT: finish the current step and exit cleanly."""

    def __init__(self) -> None:
        self.stop = False
        self._read, write = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        signal.set_wakeup_fd(write)
        signal.signal(signal.SIGHUP, lambda *_: None)
        signal.signal(signal.SIGTERM, self._on_stop)
        signal.signal(signal.SIGINT, self._on_stop)

    def _on_stop(self, *_: object) -> None:
        self.stop = True

    def sleep(self, seconds: float) -> None:
        """Sleep up to ``seconds``; any handled signal ends the sleep early."""
        if not self.stop and select.select([self._read], [], [], max(seconds, 0))[0]:
            try:
                while os.read(self._read, 512):
                    pass
            except BlockingIOError:
                pass


def continuous(load: Callable[[], Config], config: Config) -> int:
    """Run passes forever with the original's sleep rules; return 0 after SIGTERM/SIGINT.

    The configuration is re-read before every pass; an invalid one is logged and the last
    valid one is kept. The sleep starts at min_polling_interval and doubles up to
    polling_interval; it starts over after a change, for fast follow-up polls.
    """
    signals = _Signals()
    splay = config.general.number("splay")
    if splay > 0:
        signals.sleep(random.uniform(0, splay))
    interval = config.general.number("min_polling_interval")
    while not signals.stop:
        try:
            config = load()
        except OccError as exc:
            LOG.error("%s; keeping the previous configuration", exc)
        changed = _continuous_pass(config)
        minimum = config.general.number("min_polling_interval")
        maximum = config.general.number("polling_interval")
        if changed:
            interval = minimum
        LOG.debug("next pass in %gs", interval)
        signals.sleep(interval)
        # Doubling from the minimum up to the maximum; never a busy loop on zero settings.
        interval = max(min(interval * 2, maximum), min(minimum, maximum)) or 1.0
    LOG.info("stopping on signal")
    return 0


def _continuous_pass(config: Config) -> bool:
    """Run one automatic pass; return True if something changed. Errors are logged."""
    try:
        return _pass_and_hook(config, force=False, automatic=True)[0]
    except OccError as exc:
        LOG.error("pass failed: %s; retrying at the next interval", exc)
        return False
