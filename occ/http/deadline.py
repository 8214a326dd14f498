"""Hard per-request deadlines: a trickling server cannot outlast a timeout.

A socket timeout bounds each ``recv``, not the answer: headers sent one line a second, or a
body one byte a second, would keep a request going for ever. ``Deadline`` is armed around one
request by ``occ.http``; the connection hands it its socket before the answer is read, and when
the time is up one watcher thread shuts the socket down, which ends a blocked ``recv`` at once
in any thread, TLS included. The request then fails with a transport error that the client
reports as a timeout (``Deadline.expired``). Nothing here imports an HTTP library: both paths
of ``occ.http`` (``occ.http.plain`` and ``occ.http.hop``) use it.
"""

from __future__ import annotations

import _socket  # not socket: its enums and selectors cost a pass about 2 ms (occ.http.connection)
import contextlib
import heapq
import itertools
import threading
import time

from occ.errors import SourceUnavailable

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_current = threading.local()  # the Deadline of the request this thread is making, if any


class _Watcher:
    """One daemon thread that expires every ``Deadline`` of the process when its time is up.

    Started on first use and kept: a thread per request (``threading.Timer``) cost an ec2 walk
    a thread start for each of its hundreds of requests (doc/performance.rst). Deadlines that
    end in time are only marked done and dropped when they reach the front.
    """

    def __init__(self) -> None:
        self._wakeup = threading.Condition()
        self._queue: list[tuple[float, int, Deadline]] = []  # a heap, soonest first
        self._count = itertools.count()
        self._thread: threading.Thread | None = None

    def watch(self, deadline: Deadline, when: float) -> None:
        """Expire ``deadline`` at monotonic time ``when`` unless it is done by then."""
        with self._wakeup:
            heapq.heappush(self._queue, (when, next(self._count), deadline))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="occ-deadline", daemon=True)
                self._thread.start()
            # Wake the thread only if it must now wake sooner: requests of one pass mostly have
            # the same timeout, so a new deadline is rarely the first, and waking the thread
            # for each of a walk's requests cost two thread switches apiece.
            if self._queue[0][2] is deadline:
                self._wakeup.notify()

    def _run(self) -> None:
        with self._wakeup:
            while True:
                now = time.monotonic()
                while self._queue and (self._queue[0][2].done or self._queue[0][0] <= now):
                    deadline = heapq.heappop(self._queue)[2]
                    if not deadline.done:
                        deadline.expire()
                self._wakeup.wait(self._queue[0][0] - now if self._queue else None)


_WATCHER = _Watcher()


class Deadline:
    """Cuts the connections of one request (made by the current thread) after ``seconds``."""

    def __init__(self, seconds: float) -> None:
        self.expired = False
        self.done = False
        self._seconds = max(seconds, 0.0)
        self._lock = threading.Lock()
        self._sockets: list[Any] = []

    def __enter__(self) -> Deadline:
        _current.deadline = self
        _WATCHER.watch(self, time.monotonic() + self._seconds)
        return self

    def __exit__(self, *exc_info: object) -> None:
        with self._lock:
            self.done = True
            self._sockets = []  # the watcher keeps this object until its time; not its sockets
        _current.deadline = None

    def attach(self, sock: Any) -> None:
        """Watch ``sock``; cut it at once if the time is already up."""
        with self._lock:
            if self.expired:
                _cut(sock)
            else:
                self._sockets.append(sock)

    def expire(self) -> None:
        """Cut every watched socket now (the watcher thread calls this)."""
        with self._lock:
            if self.done:
                return
            self.expired = True
            for sock in self._sockets:
                _cut(sock)


def _cut(sock: Any) -> None:
    # The plain socket's shutdown, also for TLS sockets: SSLSocket.shutdown would drop the TLS
    # object under the reading thread's feet. The reader sees EOF; urllib3 discards the socket.
    try:
        _socket.socket.shutdown(sock, _socket.SHUT_RDWR)
    except (OSError, TypeError):
        with contextlib.suppress(OSError):
            sock.close()


class Retryable(Exception):
    """One attempt failed in a way a later attempt may not (internal to ``occ.http``)."""

    def __init__(self, error: SourceUnavailable, wait: float | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.wait = wait  # what Retry-After asked for, if anything


def late(what: str, budget: float) -> Retryable:
    """Return the failure of the attempt ``what`` whose ``budget`` seconds ran out (retryable:
    the next attempt may be answered in time)."""
    return Retryable(SourceUnavailable(f"{what}: no answer within {budget:.3g} s"))


def current() -> Deadline | None:
    """Return the Deadline of the request the calling thread is making, if any."""
    return getattr(_current, "deadline", None)
