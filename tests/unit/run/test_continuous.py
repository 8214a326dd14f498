"""Continuous mode in process (occ.run.continuous): the loop keeps polling after a failed pass,
splays its first pass, follows the original's sleep rules, keeps the last valid configuration,
and stops cleanly on SIGTERM/SIGINT.

Sleeps are recorded instead of slept (``_Signals.sleep`` is replaced), except in the signal
tests, which send real signals to this process during a real (short) sleep.
"""

from __future__ import annotations

import logging
import os
import random
import signal
import threading
import time

import pytest

from occ.errors import ConfigError
from occ.run import continuous

HANDLED = (signal.SIGHUP, signal.SIGTERM, signal.SIGINT)


class Aborted(BaseException):
    """Raised by a test's ``load`` to end a loop that failed to stop (instead of hanging)."""


@pytest.fixture(autouse=True)
def restore_signal_handling():
    """continuous() installs handlers and a wakeup fd for the whole process: put them back."""
    handlers = {number: signal.getsignal(number) for number in HANDLED}
    wakeup = signal.set_wakeup_fd(-1)
    signal.set_wakeup_fd(wakeup)
    yield
    installed = signal.set_wakeup_fd(wakeup)
    if installed not in (-1, wakeup):
        os.close(installed)
    for number, handler in handlers.items():
        signal.signal(number, handler)


class Sleeps:
    """Replaces ``_Signals.sleep``: records each sleep, and stops the loop at the ``stop_at``-th.

    ``before_first_pass`` records, for each sleep, whether no pass had created the cache yet.
    """

    def __init__(self, monkeypatch, site, *, stop_at: int) -> None:
        self.seconds: list[float] = []
        self.before_first_pass: list[bool] = []
        sleeps = self

        def sleep(signals, seconds):
            sleeps.seconds.append(seconds)
            sleeps.before_first_pass.append(not site.cachedir.exists())
            if len(sleeps.seconds) >= stop_at:
                signals.stop = True

        monkeypatch.setattr(continuous._Signals, "sleep", sleep)


def errors(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


def test_a_failed_pass_is_logged_and_polling_goes_on(site, monkeypatch, caplog):
    site.set_local("a.json", {"a": 1})
    config = site.config(cachedir=site.root / "not-mounted" / "cache")
    sleeps = Sleeps(monkeypatch, site, stop_at=3)
    with caplog.at_level(logging.ERROR, logger="occ"):
        assert continuous.continuous(lambda: config, config) == 0
    failures = [m for m in errors(caplog) if m.startswith("pass failed: ")]
    assert len(failures) == 3  # one per pass: the loop went on after each
    assert "parent directory does not exist" in failures[0]
    assert failures[0].endswith("retrying at the next interval")
    assert len(sleeps.seconds) == 3
    assert site.hook_runs() == []


def test_splay_sleeps_once_before_the_first_pass_within_the_splay(site, monkeypatch):
    site.set_local("a.json", {"a": 1})
    config = site.config("[DEFAULT]\nsplay = 10\n")
    drawn = []

    def uniform(low, high):
        drawn.append((low, high))
        value = real_uniform(low, high)
        drawn.append(value)
        return value

    real_uniform = random.uniform
    monkeypatch.setattr(continuous.random, "uniform", uniform)
    sleeps = Sleeps(monkeypatch, site, stop_at=2)
    continuous.continuous(lambda: config, config)
    assert drawn[0] == (0, 10.0)
    assert sleeps.seconds[0] == drawn[1]
    assert 0 <= sleeps.seconds[0] <= 10
    assert sleeps.before_first_pass == [True, False]  # once, then the polling interval
    assert len(site.hook_runs()) == 1


def test_without_splay_the_first_pass_runs_at_once(site, monkeypatch):
    site.set_local("a.json", {"a": 1})
    config = site.config()
    sleeps = Sleeps(monkeypatch, site, stop_at=1)
    continuous.continuous(lambda: config, config)
    assert sleeps.before_first_pass == [False]


def test_the_sleep_doubles_up_to_polling_interval_and_starts_over_after_a_change(site, monkeypatch):
    site.set_local("a.json", {"a": 1})
    config = site.config("[DEFAULT]\nmin_polling_interval = 1\npolling_interval = 4\n")
    passes = []

    def load():
        passes.append(None)
        if len(passes) == 4:
            site.set_local("a.json", {"a": 2})  # the fifth pass finds a change
        return config

    sleeps = Sleeps(monkeypatch, site, stop_at=7)
    continuous.continuous(load, config)
    # Pass 1 changed (first data): 1; then 2, 4, capped at 4; pass 5 changed: 1 again, then 2.
    assert sleeps.seconds == [1, 2, 4, 4, 1, 2, 4]
    assert len(site.hook_runs()) == 2


def test_an_invalid_reread_configuration_is_logged_and_the_previous_one_kept(
    site, monkeypatch, caplog
):
    site.set_local("a.json", {"a": 1})
    first = site.config("[DEFAULT]\nmin_polling_interval = 1\npolling_interval = 1\n")
    second = site.config("[DEFAULT]\nmin_polling_interval = 7\npolling_interval = 7\n")
    loads = []

    def load():
        loads.append(None)
        if len(loads) == 1:
            return second
        raise ConfigError(["os-collect-config.conf: [DEFAULT] polling_interval: not a number"])

    sleeps = Sleeps(monkeypatch, site, stop_at=5)
    with caplog.at_level(logging.ERROR, logger="occ"):
        assert continuous.continuous(load, first) == 0
    # The second sleep was chosen under the first configuration; from then on the second one
    # stays in force although every later load failed (the first one would sleep 1 again).
    assert sleeps.seconds == [1, 1, 7, 7, 7]
    kept = [m for m in errors(caplog) if "keeping the previous configuration" in m]
    assert len(kept) == 3
    assert "polling_interval: not a number" in kept[0]


# Real signals during a real sleep


def signal_soon(number: int, delay: float = 0.2) -> threading.Timer:
    timer = threading.Timer(delay, os.kill, (os.getpid(), number))
    timer.start()
    return timer


@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGINT])
def test_sigterm_or_sigint_during_the_sleep_stops_the_loop_with_0(site, number, caplog):
    site.set_local("a.json", {"a": 1})
    config = site.config("[DEFAULT]\nmin_polling_interval = 30\npolling_interval = 30\n")

    def load():
        raise Aborted("the loop went on after the signal")

    timer = signal_soon(number)
    started = time.monotonic()
    try:
        with caplog.at_level(logging.INFO, logger="occ"):
            assert continuous.continuous(load, config) == 0
    finally:
        timer.cancel()
    assert time.monotonic() - started < 10  # the signal ended the 30 s sleep
    assert len(site.hook_runs()) == 1
    assert any(r.getMessage() == "stopping on signal" for r in caplog.records)


def test_sighup_runs_a_pass_at_once_and_the_loop_goes_on(site):
    site.set_local("a.json", {"a": 1})
    config = site.config("[DEFAULT]\nmin_polling_interval = 30\npolling_interval = 30\n")
    loads = []

    def load():
        loads.append(None)
        if len(loads) > 1:
            raise Aborted("more passes than signals")
        site.set_local("a.json", {"a": 2})
        signal_soon(signal.SIGTERM)  # ends the sleep after the second pass
        return config

    hup = signal_soon(signal.SIGHUP)
    started = time.monotonic()
    try:
        assert continuous.continuous(load, config) == 0
    finally:
        hup.cancel()
    assert time.monotonic() - started < 10  # neither pass waited for the 30 s interval
    assert len(loads) == 1
    assert len(site.hook_runs()) == 2  # the SIGHUP pass saw the new data at once
