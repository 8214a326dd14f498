"""What reaches into requests and urllib3, for the requests path of ``occ.http`` (``occ.http.hop``).

The adapter's connections hand their socket to the request's ``occ.http.deadline.Deadline``
when they start reading the answer (``getresponse``), so that a trickling server is cut off on
time. Also here: the guards on urllib3's logs and warnings, and the mapping of requests'
exceptions to ``SourceUnavailable``.
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Iterator

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from occ import redact
from occ.errors import SourceUnavailable
from occ.http.deadline import Retryable, current, late
from occ.log import lazy

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class _RedactingFilter(logging.Filter):
    """Redacts urllib3's own log records, which carry full URLs (and so signatures)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = redact.redact(record.getMessage()), None
        return True


def _guard_urllib3_logs() -> None:
    # Our own DEBUG line covers every request; urllib3's repeat it with the secrets in. Their
    # records go straight to logging: its set-up must not wait for occ's first (occ.log.lazy).
    lazy.ensure()
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


class _Watched:
    """Mixin for urllib3 connections: register the socket before the answer is read."""

    sock: Any

    def getresponse(self, *args: Any, **kwargs: Any) -> Any:
        deadline = current()
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


def failure(what: str, exc: Exception, budget: float, expired: bool) -> Exception:
    """Return the exception for a failure below HTTP (``expired``: the attempt's time ran
    out and its connection was cut): TLS errors are final, others retried."""
    if expired:
        return late(what, budget)
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


def cause(exc: Exception) -> str:
    """Return the innermost useful text of a requests/urllib3 exception, redacted."""
    reason: Any = exc.args[0] if exc.args else exc
    reason = getattr(reason, "reason", reason)  # urllib3 MaxRetryError wraps the real cause
    text = str(reason)
    marker = "Failed to establish a new connection: "
    if marker in text:
        text = text.split(marker, 1)[1]
    return redact.redact(text.strip("()") or type(exc).__name__)
