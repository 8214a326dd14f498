"""occ.log.lazy: a pass that logs nothing never loads ``logging``; the first record that counts
sets logging up exactly once, and no record is lost or misattributed on the way."""

from __future__ import annotations

import logging
import threading
import time

import pytest

from occ.log import lazy
from tests import support


@pytest.fixture(autouse=True)
def fresh(monkeypatch):
    monkeypatch.setattr(lazy, "_setup", None)
    monkeypatch.setattr(lazy, "_threshold", 0)
    monkeypatch.setattr(lazy, "_lines", 0)
    monkeypatch.setattr(lazy, "_armed", False)


class Keep(logging.Handler):
    """Keeps the message of every record it is given."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.seen.append(record.getMessage())


PROBE = """
import sys
from occ.log import lazy

def setup():
    import logging
    print("SETUP")
    logging.basicConfig(
        stream=sys.stdout, level=logging.INFO, format="%(levelname)s %(message)s in %(funcName)s"
    )

LOG = lazy.logger("probe")
lazy.defer(setup, lazy.INFO)

def quiet_part():
    LOG.debug("not shown %s", "at info")
    print("loaded" if "logging" in sys.modules else "not loaded")

def talking_part():
    LOG.info("hello %s", "world")
    LOG.log(lazy.NOTICE, "noted")
    LOG.info("again")

quiet_part()
talking_part()
"""


def test_records_below_the_deferred_level_load_nothing_and_the_first_one_above_sets_up():
    assert support.probe_output(PROBE).splitlines() == [
        "not loaded",
        "SETUP",
        "INFO hello world in talking_part",  # the caller, not occ.log.lazy
        "NOTICE noted in talking_part",
        "INFO again in talking_part",
    ]


def test_threads_logging_at_once_set_logging_up_once_and_lose_no_record():
    setups: list[int] = []
    target = logging.getLogger("lazy-test")
    keep = Keep()

    def setup() -> None:
        setups.append(1)
        time.sleep(0.05)  # the other threads arrive while the handler is not there yet
        target.addHandler(keep)

    lazy.defer(setup, lazy.INFO)
    log = lazy.logger("lazy-test")
    threads = [threading.Thread(target=log.warning, args=("from %d", n)) for n in range(8)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(5)
    finally:
        target.removeHandler(keep)
    assert setups == [1]
    assert sorted(keep.seen) == sorted(f"from {n}" for n in range(8))


def test_lines_written_without_logging_are_counted_until_logging_takes_over(monkeypatch):
    ran: list[str] = []
    lazy.defer(lambda: ran.append("setup"), lazy.INFO)
    assert lazy.waiting()
    lazy.plain_line(lambda: ran.append("line"))
    assert lazy.lines_logged() == 1
    assert ran == ["line"]


def test_a_set_up_run_now_replaces_the_deferred_one():
    ran: list[str] = []
    lazy.defer(lambda: ran.append("early"), lazy.INFO)
    lazy.now(lambda: ran.append("full"))
    lazy.logger("lazy-test").warning("after")
    assert ran == ["full"]
    assert not lazy.waiting()


def test_a_prepared_set_up_runs_in_the_background_and_a_record_waits_for_it():
    ran: list[str] = []
    finished = threading.Event()
    target = logging.getLogger("lazy-prepared")
    keep = Keep()

    def setup() -> None:
        ran.append(threading.current_thread().name)
        time.sleep(0.1)  # the record below is made while this runs
        target.addHandler(keep)
        finished.set()

    lazy.defer(setup, lazy.INFO)
    try:
        lazy.prepare()
        time.sleep(0.05)
        assert ran == []  # not before the process waits for the network
        started = time.monotonic()
        lazy.network_wait()
        assert time.monotonic() - started < 0.05  # the caller goes on at once
        assert not finished.is_set()
        lazy.logger("lazy-prepared").warning("made during the set-up")
        assert finished.is_set()
    finally:
        target.removeHandler(keep)
    assert len(ran) == 1 and ran[0] != threading.current_thread().name
    assert keep.seen == ["made during the set-up"]
    assert not lazy.waiting()


def test_prepare_without_a_deferred_set_up_does_nothing():
    before = threading.active_count()
    lazy.prepare()
    lazy.network_wait()
    assert threading.active_count() == before


def test_without_prepare_waiting_for_the_network_starts_no_set_up():
    ran: list[str] = []
    lazy.defer(lambda: ran.append("setup"), lazy.INFO)
    lazy.network_wait()
    time.sleep(0.05)
    assert ran == [] and lazy.waiting()
