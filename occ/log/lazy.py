"""Loggers that import ``logging`` only when a record is made, and a set-up that waits for it.

Every pass is a new process. ``logging`` with what it brings (``traceback``, ``string``, the
journal handler) costs a network pass about a tenth of its time (doc/performance.rst,
"Import time"), and the usual pass, unchanged, says nothing its unit would keep. So occ's
modules take their loggers from here (``LOG = lazy.logger(__name__)``), and the CLI may
``defer`` the logging set-up with the level it will set: until a record at or above that level
is made, records below it are dropped without loading anything; the first one loads
``logging``, runs the set-up, and is logged as if it had been done at the start.

Without a deferred set-up (tests, library use) every record goes to ``logging`` as usual.
"""

from __future__ import annotations

import _thread
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from types import ModuleType
    from typing import Any

DEBUG, INFO, WARNING, ERROR = 10, 20, 30, 40  # logging's own numbers
# Between WARNING and INFO. Under systemd the collector unit sets LogLevelMax=notice, so NOTICE
# is what an operator sees for a pass; INFO and DEBUG are there for --debug and manual runs.
NOTICE = 25

_lock = _thread.RLock()  # type: ignore[attr-defined]  # threading.RLock, without threading
_setup: Callable[[], None] | None = None
_threshold = 0  # while a set-up waits, records below this level are dropped unseen
_lines = 0  # lines written by ``plain_line`` while the set-up waited
_named = False  # NOTICE has its name in logging
_busy = False  # the deferred set-up is running
# Held from ``prepare`` until its thread holds ``_lock``: a record made in between waits for it
# instead of running the set-up itself, or finding it not started.
_claimed = _thread.allocate_lock()
_armed = False  # prepare() was called: start the set-up when the process next waits


def defer(setup: Callable[[], None], threshold: int) -> None:
    """Run ``setup`` (it must not fail) when the first record at ``threshold`` or above is
    made, instead of now; until then, drop the records below ``threshold``."""
    global _setup, _threshold
    with _lock:
        _setup, _threshold = setup, threshold


def now(setup: Callable[[], None]) -> None:
    """Run ``setup`` now, in place of any set-up still deferred; what it raises, raises."""
    global _setup
    with _lock:
        _setup = None
        ensure()
        setup()


def prepare() -> None:
    """Have a deferred set-up start in a thread of its own when the process next waits for an
    answer (``network_wait``), for a caller that knows a record will follow and is about to
    wait for the network: the set-up's imports then run while the process would sit idle,
    instead of delaying the first record (doc/performance.rst, "Findings"). Records made
    meanwhile wait for it, as they wait for any set-up."""
    global _armed
    _armed = _setup is not None


def network_wait() -> None:
    """Start a prepared set-up now: the HTTP client has sent a request and waits for its
    answer. Started earlier, its imports would hold the interpreter lock while the request
    is still being sent."""
    global _armed
    if _armed:
        _armed = False
        if _setup is not None and _claimed.acquire(False):
            _thread.start_new_thread(_prepared, ())


def _prepared() -> None:
    with _lock:
        _claimed.release()  # records made from now on wait for _lock, and the set-up
        ensure()


def waiting() -> bool:
    """Return True while a deferred set-up has not run (nothing has been logged)."""
    return _setup is not None


def ensure() -> ModuleType:
    """Import ``logging``, run the deferred set-up if one waits, and return ``logging``."""
    global _setup, _named, _busy
    import logging

    if not _named:
        logging.addLevelName(NOTICE, "NOTICE")
        _named = True
    if _setup is not None:
        with _claimed:
            pass
        # Other threads wait here until the handlers are in place; the set-up's own records
        # (the lock is re-entrant) go through as they come.
        with _lock:
            if _setup is not None and not _busy:
                _busy = True
                try:
                    _setup()
                finally:
                    _setup, _busy = None, False
    return logging


def plain_line(write: Callable[[], None]) -> None:
    """Write a line with ``write`` (``occ.log.plain``) in place of an INFO record while the
    set-up waits; ``lines_logged`` counts it."""
    global _lines
    with _lock:
        write()
        _lines += 1


def lines_logged() -> int | None:
    """Return how many records at INFO or above were logged since logging was set up by occ
    (``occ.log.logsetup``), or None if it was not (a pass run from a test)."""
    if _setup is not None:
        return _lines
    logsetup = sys.modules.get("occ.log.logsetup")
    counted = logsetup.lines_logged() if logsetup is not None else None
    return None if counted is None else counted + _lines


class Logger:
    """Stands for ``logging.getLogger(name)``: ``debug``, ``info``, ``warning``, ``error``
    and ``log``, with logging's arguments (``exc_info``, ``extra``)."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def debug(self, message: str, *args: object, **options: Any) -> None:
        self._emit(DEBUG, message, args, options)

    def info(self, message: str, *args: object, **options: Any) -> None:
        self._emit(INFO, message, args, options)

    def warning(self, message: str, *args: object, **options: Any) -> None:
        self._emit(WARNING, message, args, options)

    def error(self, message: str, *args: object, **options: Any) -> None:
        self._emit(ERROR, message, args, options)

    def log(self, level: int, message: str, *args: object, **options: Any) -> None:
        self._emit(level, message, args, options)

    def _emit(self, level: int, message: str, args: tuple[object, ...], options: Any) -> None:
        if _setup is not None and level < _threshold:
            return
        # stacklevel: the record names the caller of debug() ..., not this module.
        ensure().getLogger(self.name).log(level, message, *args, stacklevel=3, **options)


def logger(name: str) -> Logger:
    """Return the lazy logger for ``name`` (a module's ``__name__``)."""
    return Logger(name)


def log(name: str, level: int, message: str, *args: object) -> None:
    """Log ``message % args`` at ``level`` through the logger ``name``."""
    Logger(name)._emit(level, message, args, {})
