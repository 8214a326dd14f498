"""The backstop that ends a pass stuck in its collecting phase, whatever it is stuck in.

The HTTP layer ends every request by its timeout and the pass deadline (``pass_timeout``), and
that is what normally bounds a pass. This watchdog does not rely on it: ``occ.run.runner`` arms
it around the collectors only, for ``pass_timeout + MARGIN`` seconds, and if they are still
running then, it logs one ERROR line and ends the process with status 255 (``ExitStatus.ERROR``,
the ``collect`` error status; in the legacy modes the same status as an internal error). A
daemon thread does that; should the interpreter be unable to run it (a C call that never
releases the GIL), SIGALRM with its default action kills the process ``GRACE`` seconds later
without running any Python code at all (main thread only; signals cannot be set elsewhere).

Nothing is left half-written: the cache is not written while the watchdog is armed (it is
disarmed before ``store``), state files are written atomically, and the kernel releases the
cache lock. It is also disarmed before the hook: ``--one-time`` runs the hook in this process,
and a hook may legitimately run for hours. Under systemd the hook is its own unit, started by
the service's ``ExecStart=``; a ``TimeoutStartSec=`` on the service would cut it, so the service
has none and this watchdog is what bounds a pass.
"""

from __future__ import annotations

# The signal module's C core, which the interpreter loads at start-up: ``signal`` itself wraps
# the same functions in enums, whose creation costs every network pass a few milliseconds
# (doc/performance.rst). Handlers and numbers are the same either way.
try:
    import _signal as signal  # type: ignore[import-not-found]  # no stubs for the C core
except ImportError:  # an interpreter without it
    import signal
import contextlib
import os
import sys
import threading
from collections.abc import Iterator

from occ.log import lazy
from occ.status import ExitStatus

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable

LOG = lazy.logger(__name__)

MARGIN = 3.0  # seconds after pass_timeout: the HTTP layer has ended every request by then
GRACE = 5.0  # seconds after the watchdog thread should have acted: the signal-level backstop


@contextlib.contextmanager
def armed(
    seconds: float,
    *,
    status: int = ExitStatus.ERROR,
    end: Callable[[int], Any] = os._exit,
) -> Iterator[None]:
    """Run the body with the watchdog armed: if it is still running after ``seconds``, log one
    line and call ``end(status)`` (``os._exit``: no cleanup code of a stuck thread runs).
    Raises nothing itself; whatever the body raises passes through, disarmed."""
    done = threading.Event()

    def watch() -> None:
        if done.wait(seconds):
            return
        LOG.error(
            "the collectors did not finish within %.3g s (pass_timeout plus %.3g s); "
            "ending this pass, the cache is unchanged",
            seconds,
            MARGIN,
        )
        for stream in (sys.stderr, sys.stdout):
            with contextlib.suppress(Exception):
                stream.flush()
        end(status)

    threading.Thread(target=watch, name="occ-watchdog", daemon=True).start()
    previous = _arm_alarm(seconds + GRACE)
    try:
        yield
    finally:
        done.set()
        _disarm_alarm(previous)


def _arm_alarm(seconds: float) -> Any:
    """Arm SIGALRM with its default action (terminate); return the handler it replaced, or
    None if no alarm could be armed (not the main thread)."""
    if threading.current_thread() is not threading.main_thread():
        return None
    previous = signal.signal(signal.SIGALRM, signal.SIG_DFL)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    return previous


def _disarm_alarm(previous: Any) -> None:
    if previous is None:
        return
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, previous)
