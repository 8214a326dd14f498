"""Continuous mode: the original's daemon loop, kept for existing units and scripts.

The shipped systemd units do not use it (timers do the polling); ``ExecStart=os-collect-config``
units from before do. Each pass is ``occ.run.legacy.pass_and_hook`` with the hook back-off applied.
"""

from __future__ import annotations

import os
import random
import select
import signal
from collections.abc import Callable

from occ.config.model import Config
from occ.errors import OccError
from occ.log import lazy
from occ.run.legacy import pass_and_hook

LOG = lazy.logger(__name__)


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

    def stopped(self) -> bool:
        """Return True once SIGTERM or SIGINT arrived (a method: signal handlers change it)."""
        return self.stop

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

    ``config`` serves the first pass; the configuration is re-read before every later one, and
    an invalid one is logged and the last valid one kept. The sleep starts at
    min_polling_interval and doubles up to polling_interval; it starts over after a change,
    for fast follow-up polls.
    """
    signals = _Signals()
    splay = config.general.number("splay")
    if splay > 0:
        signals.sleep(random.uniform(0, splay))
    interval = config.general.number("min_polling_interval")
    while not signals.stopped():
        changed = _continuous_pass(config)
        minimum = config.general.number("min_polling_interval")
        maximum = config.general.number("polling_interval")
        if changed:
            interval = minimum
        LOG.debug("next pass in %gs", interval)
        signals.sleep(interval)
        if signals.stopped():
            break
        # Doubling from the minimum up to the maximum; never a busy loop on zero settings.
        interval = max(min(interval * 2, maximum), min(minimum, maximum)) or 1.0
        try:
            config = load()
        except OccError as exc:
            LOG.error("%s; keeping the previous configuration", exc)
    LOG.info("stopping on signal")
    return 0


def _continuous_pass(config: Config) -> bool:
    """Run one automatic pass; return True if something changed. Errors are logged."""
    try:
        return pass_and_hook(config, force=False, automatic=True)[0]
    except OccError as exc:
        LOG.error("pass failed: %s; retrying at the next interval", exc)
        return False
