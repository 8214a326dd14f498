"""The one HTTP client of occ: every network collector talks through an ``Http`` object.

One ``Http`` lives for one pass and holds one ``requests.Session`` (keep-alive, a connection
pool large enough for the ec2 walk's concurrency). It owns the network policy so collectors do
not have to: connect and read timeouts on every request, a per-pass monotonic deadline that
shortens them near its end, bounded retries with full jitter for transient failures only
(transport errors, 429, 5xx) honouring ``Retry-After``, a response size cap, TLS verification,
no proxy for link-local metadata addresses, and redacted messages. Every failure is raised as
``SourceUnavailable`` with a one-line, secret-free reason. This is the only module that imports
``requests``; the pure policy helpers are in ``occ.http.retry``.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import random as randomlib
import time
import warnings
from collections.abc import Collection, Iterator, Mapping
from typing import Any, Callable, Union

import requests
import urllib3
from requests.adapters import HTTPAdapter

from occ import redact
from occ.config.model import Config
from occ.errors import SourceUnavailable
from occ.http import retry
from occ.http.response import Response
from occ.log import logfields

__all__ = ["Http", "Response", "Verify"]

LOG = logging.getLogger(__name__)

POOL_SIZE = 16  # >= the ec2 walk's worker count, so concurrent fetches reuse connections
RETRIES = 2  # retries after the first attempt, for transient failures
BACKOFF_BASE = 0.5  # seconds; the jitter window doubles per retry ...
BACKOFF_CAP = 8.0  # ... up to this
_CHUNK = 64 * 1024
_MIN_TIMEOUT = 0.05  # below this much time left, a request cannot succeed: give up instead
_NO_PROXY: dict[str, str | None] = {"http": None, "https": None, "all": None}

Verify = Union[bool, str]  # True (system CAs), a CA bundle path, or False


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
def _unverified_quietly(verify: Verify) -> Iterator[None]:
    """Silence urllib3's per-request stderr warning when verification is off: that only
    happens by explicit configuration, and the collector says so in the log. (Only then:
    catch_warnings touches process-wide state, which concurrent ec2 fetches must not race.)"""
    if verify is not False:
        yield
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", urllib3.exceptions.InsecureRequestWarning)
        yield


class _Retryable(Exception):
    """One attempt failed in a way a later attempt may not (internal to ``Http.request``)."""

    def __init__(self, error: SourceUnavailable, wait: float | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.wait = wait  # what Retry-After asked for, if anything


class Http:
    """The HTTP client of one pass. Thread-safe for concurrent ``request`` calls."""

    def __init__(
        self,
        *,
        pass_timeout: float = 240.0,
        max_response_size: int = 4 * 1024 * 1024,
        retries: int = RETRIES,
        backoff_base: float = BACKOFF_BASE,
        backoff_cap: float = BACKOFF_CAP,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        random: Callable[[], float] = randomlib.random,
        now: Callable[[], datetime.datetime] | None = None,
    ) -> None:
        self.pass_timeout = pass_timeout
        self.max_response_size = max_response_size
        self.retries = retries
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self._clock = clock
        self._sleep = sleep
        self._random = random
        self._now = now or (lambda: datetime.datetime.now(datetime.timezone.utc))
        self.deadline = clock() + pass_timeout
        self.session = requests.Session()
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=POOL_SIZE, max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    @classmethod
    def for_config(cls, config: Config) -> Http:
        """Return the client for one pass, with ``[DEFAULT] pass_timeout`` starting now."""
        general = config.general
        return cls(
            pass_timeout=general.number("pass_timeout"),
            max_response_size=general.integer("max_response_size"),
        )

    def close(self) -> None:
        self.session.close()

    def remaining(self) -> float:
        """Return the seconds left before the pass deadline (negative once it has passed)."""
        return self.deadline - self._clock()

    def get(self, url: str, **kwargs: Any) -> Response:
        """``request("GET", url, ...)``."""
        return self.request("GET", url, **kwargs)

    def request(
        self,
        method: str,
        url: str,
        *,
        source: str,
        timeout: float,
        headers: Mapping[str, str] | None = None,
        params: Any = None,
        json: Any = None,
        data: Any = None,
        verify: Verify = True,
        allow_redirects: bool = True,
        accept: Collection[int] = (),
        retries: int | None = None,
    ) -> Response:
        """Return the response to one request, retrying transient failures.

        ``timeout`` bounds connecting and each read, and is shortened to what is left of the
        pass deadline. Statuses below 400 and those listed in ``accept`` are returned; 429 and
        5xx are retried (``retries`` times at most, default ``self.retries``) and then fail like
        any other status >= 400. ``source`` names the collector in log lines.

        Raise SourceUnavailable (with ``http_status`` when a status decided it) on transport
        errors, timeouts, TLS failures, an exhausted deadline, a body larger than
        ``max_response_size``, and unaccepted statuses >= 400.
        """
        prepared = self.session.prepare_request(
            requests.Request(method, url, headers=headers, params=params, json=json, data=data)
        )
        limit = self.retries if retries is None else retries
        attempt = 0
        while True:
            try:
                return self._attempt(prepared, source, timeout, verify, allow_redirects, accept)
            except _Retryable as failure:
                delay = self._retry_delay(attempt, limit, failure)
                if delay is None:
                    raise failure.error from None
                attempt += 1
                LOG.info(
                    "%s: %s; retry %d of %d in %.1f s",
                    source,
                    failure.error,
                    attempt,
                    limit,
                    delay,
                    extra=logfields.fields(
                        collector=source, http_status=failure.error.http_status, attempt=attempt
                    ),
                )
                self._sleep(delay)

    def _retry_delay(self, attempt: int, limit: int, failure: _Retryable) -> float | None:
        """Return the wait before the next attempt, or None to give up now."""
        if attempt >= limit:
            return None
        delay = retry.backoff_delay(
            attempt, base=self.backoff_base, cap=self.backoff_cap, random=self._random
        )
        if failure.wait is not None:
            delay = failure.wait
        # Waiting past the deadline only to fail then would stall the other sources.
        return delay if delay + _MIN_TIMEOUT < self.remaining() else None

    def _attempt(
        self,
        prepared: requests.PreparedRequest,
        source: str,
        timeout: float,
        verify: Verify,
        allow_redirects: bool,
        accept: Collection[int],
    ) -> Response:
        what = redact.redact(f"{prepared.method} {prepared.url}")
        left = self.remaining()
        if left < _MIN_TIMEOUT:
            raise SourceUnavailable(f"{what}: the pass deadline ({self.pass_timeout:g} s) is over")
        budget = min(timeout, left)
        url = prepared.url or ""
        # requests drops None entries after merging, so these mask any environment proxy.
        proxies: Any = dict(_NO_PROXY) if retry.never_proxied(url) else {}
        settings = self.session.merge_environment_settings(url, proxies, True, verify, None)
        started = self._clock()
        try:
            with _unverified_quietly(verify):
                raw = self.session.send(
                    prepared, timeout=(budget, budget), allow_redirects=allow_redirects, **settings
                )
        except requests.RequestException as exc:
            raise self._transport_failure(what, exc, budget) from None
        with raw:
            self._check_status(what, raw, accept)  # before reading: error pages are not needed
            body = self._read_body(what, raw, budget)
        LOG.debug(
            "%s: %s -> %d (%d bytes, %.2f s)",
            source,
            what,
            raw.status_code,
            len(body),
            self._clock() - started,
            extra=logfields.fields(collector=source, http_status=raw.status_code),
        )
        return Response(prepared.method or "", url, raw.status_code, raw.headers, body)

    def _read_body(self, what: str, raw: requests.Response, budget: float) -> bytes:
        """Return the body, reading at most ``max_response_size`` bytes of it."""
        cap = self.max_response_size
        too_big = SourceUnavailable(
            f"{what}: response larger than max_response_size ({cap} bytes)",
            http_status=raw.status_code,
        )
        declared = raw.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > cap:
            raise too_big
        chunks: list[bytes] = []
        size = 0
        try:
            for chunk in raw.iter_content(_CHUNK):
                size += len(chunk)
                if size > cap:
                    raise too_big
                if self.remaining() < 0:
                    raise SourceUnavailable(f"{what}: the pass deadline ran out while reading")
                chunks.append(chunk)
        except requests.RequestException as exc:
            raise self._transport_failure(what, exc, budget) from None
        return b"".join(chunks)

    def _check_status(self, what: str, raw: requests.Response, accept: Collection[int]) -> None:
        """Raise SourceUnavailable (or _Retryable) for an unaccepted status >= 400."""
        status = raw.status_code
        if status < 400 or status in accept:
            return
        error = SourceUnavailable(
            f"{what}: HTTP {status} {raw.reason or ''}".rstrip(), http_status=status
        )
        if retry.is_transient_status(status):
            wait = retry.retry_after(raw.headers.get("Retry-After"), self._now())
            raise _Retryable(error, wait)
        raise error

    def _transport_failure(self, what: str, exc: Exception, budget: float) -> Exception:
        """Return the exception for a failure below HTTP: TLS errors are final, others retried."""
        if isinstance(exc, requests.exceptions.SSLError):
            return SourceUnavailable(f"{what}: TLS failure ({_cause(exc)})")
        if isinstance(exc, requests.exceptions.ConnectTimeout):
            text = f"could not connect within {budget:.3g} s"
        elif isinstance(exc, requests.exceptions.Timeout):
            text = f"no answer within {budget:.3g} s"
        elif isinstance(exc, requests.exceptions.ConnectionError):
            text = _cause(exc)
        else:  # invalid URL, too many redirects ...: retrying cannot help
            return SourceUnavailable(f"{what}: {_cause(exc)}")
        return _Retryable(SourceUnavailable(f"{what}: {text}"))


def _cause(exc: Exception) -> str:
    """Return the innermost useful text of a requests/urllib3 exception, redacted."""
    reason: Any = exc.args[0] if exc.args else exc
    reason = getattr(reason, "reason", reason)  # urllib3 MaxRetryError wraps the real cause
    text = str(reason)
    marker = "Failed to establish a new connection: "
    if marker in text:
        text = text.split(marker, 1)[1]
    return redact.redact(text.strip("()") or type(exc).__name__)
