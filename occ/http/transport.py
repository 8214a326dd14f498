"""Hard per-request deadlines below requests: a trickling server cannot outlast a timeout.

urllib3's read timeout bounds each ``recv``, not the answer: headers sent one line a second, or
a body one byte a second, would keep a request going for ever. ``Deadline`` is armed around one
request by ``occ.http.client``; the adapter's connections hand it their socket when they start
reading the answer (``getresponse``), and when the time is up one watcher thread shuts the socket
down, which ends a blocked ``recv`` at once in any thread, TLS included. The request then fails
with a transport error that the client reports as a timeout (``Deadline.expired``). This module
owns everything that reaches into urllib3: the adapter, the connection classes, and the guards
on urllib3's logs and warnings.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import logging
import socket
import threading
import time
import warnings
from collections.abc import Iterator
from typing import Any

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from occ import redact
from occ.errors import SourceUnavailable


class _RedactingFilter(logging.Filter):
    """Redacts urllib3's own log records, which carry full URLs (and so signatures)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = redact.redact(record.getMessage()), None
        return True


def _guard_urllib3_logs() -> None:
    # Our own DEBUG line covers every request; urllib3's repeat it with the secrets in.
    logging.getLogger("urllib3").setLevel(logging.WARNING)
    for name in ("urllib3", "urllib3.connectionpool", "urllib3.connection", "urllib3.response",
                 "urllib3.poolmanager", "urllib3.util.retry"):  # fmt: skip
        logger = logging.getLogger(name)
        if not any(isinstance(f, _RedactingFilter) for f in logger.filters):
            logger.addFilter(_RedactingFilter())


_guard_urllib3_logs()


@contextlib.contextmanager
def unverified_quietly(verify: bool | str) -> Iterator[None]:
    """Silence urllib3's per-request stderr warning when verification is off: that only
    happens by explicit configuration, and the collector says so in the log. (Only then:
    catch_warnings touches process-wide state, which concurrent ec2 fetches must not race.)"""
    if verify is not False:
        yield
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", urllib3.exceptions.InsecureRequestWarning)
        yield


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
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except (OSError, TypeError):
        with contextlib.suppress(OSError):
            sock.close()


class _Watched:
    """Mixin for urllib3 connections: register the socket before the answer is read."""

    sock: Any

    def getresponse(self, *args: Any, **kwargs: Any) -> Any:
        deadline = getattr(_current, "deadline", None)
        if deadline is not None and self.sock is not None:
            deadline.attach(self.sock)
        return super().getresponse(*args, **kwargs)  # type: ignore[misc]


class _HTTPConnection(_Watched, HTTPConnection):
    pass


class _HTTPSConnection(_Watched, HTTPSConnection):
    pass


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


_POOLS = {"http": _HTTPPool, "https": _HTTPSPool}


class DeadlineAdapter(HTTPAdapter):
    """requests' adapter with connections that ``Deadline`` can cut (direct and via proxy)."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = dict(_POOLS)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if type(manager) is urllib3.ProxyManager:  # SOCKS managers keep their own pools
            manager.pool_classes_by_scheme = dict(_POOLS)
        return manager


class Retryable(Exception):
    """One attempt failed in a way a later attempt may not (internal to ``occ.http``)."""

    def __init__(self, error: SourceUnavailable, wait: float | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.wait = wait  # what Retry-After asked for, if anything


def failure(what: str, exc: Exception, budget: float, expired: bool) -> Exception:
    """Return the exception for a failure below HTTP (``expired``: the attempt's time ran
    out and its connection was cut): TLS errors are final, others retried."""
    if expired:
        return Retryable(SourceUnavailable(f"{what}: {late(budget)}"))
    if isinstance(exc, requests.exceptions.SSLError):
        return SourceUnavailable(f"{what}: TLS failure ({cause(exc)})")
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        text = f"could not connect within {budget:.3g} s"
    elif isinstance(exc, requests.exceptions.Timeout) or _read_timeout(exc):
        text = f"no answer within {budget:.3g} s"
    elif isinstance(exc, requests.exceptions.ConnectionError):
        text = cause(exc)
    elif isinstance(exc, (requests.exceptions.ChunkedEncodingError, OSError)):
        text = f"the connection broke while reading the answer ({cause(exc)})"
    else:  # invalid URL, too many redirects ...: retrying cannot help
        return SourceUnavailable(f"{what}: {cause(exc)}")
    return Retryable(SourceUnavailable(f"{what}: {text}"))


def _read_timeout(exc: Exception) -> bool:
    # requests reports a read timeout in the body as a ConnectionError wrapping urllib3's.
    inner = exc.args[0] if exc.args else None
    return isinstance(inner, urllib3.exceptions.TimeoutError)


def late(budget: float) -> str:
    """Return the reason for an attempt whose time ran out."""
    return f"no answer within {budget:.3g} s"


def cause(exc: Exception) -> str:
    """Return the innermost useful text of a requests/urllib3 exception, redacted."""
    reason: Any = exc.args[0] if exc.args else exc
    reason = getattr(reason, "reason", reason)  # urllib3 MaxRetryError wraps the real cause
    text = str(reason)
    marker = "Failed to establish a new connection: "
    if marker in text:
        text = text.split(marker, 1)[1]
    return redact.redact(text.strip("()") or type(exc).__name__)
