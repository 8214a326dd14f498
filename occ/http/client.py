"""The one HTTP client of occ: every network collector talks through an ``Http`` object.

One ``Http`` lives for one pass and holds its kept-alive connections, enough for the ec2
walk's concurrency. It owns the network policy so collectors do not have to: a timeout on
every request, a per-pass monotonic deadline that shortens it near its end, bounded retries
with full jitter for transient failures only (transport errors, 429, 5xx) honouring
``Retry-After``, a response size cap, TLS verification, no proxy for link-local metadata
addresses, and redacted messages. Every failure is raised as ``SourceUnavailable`` with a
one-line, secret-free reason.

Each request is prepared once (``occ.http.outgoing``). Each hop then goes straight to its
server through the standard library (``occ.http.plain``), or through requests where a proxy
takes it (``occ.http.hop``, imported only then). Each attempt (all its redirect hops, headers
and body) ends by ``min(timeout, what is left of the pass)`` whatever the server does:
``occ.http.deadline`` cuts the connection when that time is up. Redirects are followed here,
hop by hop, under ``occ.http.redirects``' origin policy, never by requests. Header values are
checked before sending (``occ.http.headers``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Collection, Mapping

from occ import __version__, redact
from occ.config.model import Config
from occ.errors import SourceUnavailable
from occ.http import headers as header_policy
from occ.http import outgoing as wire
from occ.http import plain, redirects, retry
from occ.http.deadline import Retryable
from occ.http.environment import Environment, direct
from occ.http.response import Response
from occ.log import lazy, logfields

TYPE_CHECKING = False
if TYPE_CHECKING:
    import datetime
    from typing import Any, Callable

    import requests

    from occ.http.tls import Verify

__all__ = ["Http", "Response"]

LOG = lazy.logger(__name__)

USER_AGENT = f"os-collect-config/{__version__} (occ)"
# What every request sends unless the caller says otherwise, on either path (requests adds
# its Accept-Encoding; the stdlib path asks for no compression).
DEFAULT_HEADERS = {
    # Service operators see who is calling (and count it) in their request logs; requests'
    # default names only the library.
    "User-Agent": USER_AGENT,
    "Accept": "*/*",
    "Connection": "keep-alive",
}
POOL_SIZE = 16  # >= the ec2 walk's worker count, so concurrent fetches reuse connections
RETRIES = 2  # retries after the first attempt, for transient failures
BACKOFF_BASE = 0.5  # seconds; the jitter window doubles per retry ...
BACKOFF_CAP = 8.0  # ... up to this
_MIN_TIMEOUT = 0.05  # below this much time left, a request cannot succeed: give up instead


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
        random: Callable[[], float] | None = None,
        now: Callable[[], datetime.datetime] | None = None,
        started: float | None = None,
    ) -> None:
        self.pass_timeout = pass_timeout
        self.max_response_size = max_response_size
        self.retries = retries
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self._clock = clock
        self._sleep = sleep
        self._random = random or _random
        self._now = now or _utc_now
        # The pass began at ``started`` (by ``clock``), which may be before this client was
        # made: the collectors that ran first used part of the pass already.
        self.deadline = (clock() if started is None else started) + pass_timeout
        # The environment (proxy variables, a CA bundle variable) is read once per origin,
        # not by requests on every request: that re-read os.environ and ~/.netrc for each of
        # an ec2 walk's hundreds of requests.
        self._environment = Environment()
        # A request straight to its server goes through the standard library; requests (and
        # its import) is only for what a proxy takes (occ.http.plain says why).
        self._pool = plain.Pool(POOL_SIZE)
        self._session: requests.Session | None = None
        self._session_lock = threading.Lock()

    @classmethod
    def for_config(cls, config: Config, *, started: float | None = None) -> Http:
        """Return the client for one pass, whose ``[DEFAULT] pass_timeout`` runs from
        ``started`` (``time.monotonic()``; now if None)."""
        general = config.general
        return cls(
            pass_timeout=general.number("pass_timeout"),
            max_response_size=general.integer("max_response_size"),
            started=started,
        )

    def close(self) -> None:
        self._pool.close()
        if self._session is not None:
            self._session.close()

    def _requests_session(self) -> requests.Session:
        """Return the pass's requests session, made on first use."""
        with self._session_lock:
            if self._session is None:
                from occ.http import hop

                self._session = hop.session(POOL_SIZE, USER_AGENT)
            return self._session

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

        ``timeout`` bounds each attempt as a whole (connecting, every redirect hop, the headers
        and the body, however slowly they trickle in) and is shortened to what is left of the
        pass deadline. Redirects are followed as ``occ.http.redirects`` allows, unless
        ``allow_redirects`` is False. Statuses below 400 and those listed in ``accept`` are
        returned; 429 and 5xx are retried (``retries`` times at most, default ``self.retries``)
        and then fail like any other status >= 400. ``source`` names the collector in logs.

        Raise SourceUnavailable (with ``http_status`` when a status decided it) on transport
        errors, timeouts, TLS failures, an exhausted deadline, a body larger than
        ``max_response_size``, unaccepted statuses >= 400, a header value that cannot be sent,
        a redirect the origin policy refuses, and more than ``MAX_REDIRECTS`` redirects.
        """
        what = redact.redact(f"{method} {url}")
        header_policy.check(headers, what)
        try:
            prepared = wire.prepare(
                method, url, defaults=DEFAULT_HEADERS, headers=headers, params=params, json=json,
                data=data,
            )  # fmt: skip
        except ValueError as exc:  # its text names the URL's fault, never a header value
            raise SourceUnavailable(f"{what}: {redact.redact(str(exc))}") from None
        limit = self.retries if retries is None else retries
        attempt = 0
        while True:
            try:
                return self._exchange(prepared, source, timeout, verify, allow_redirects, accept)
            except Retryable as failure:
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

    def _exchange(
        self,
        prepared: wire.Outgoing,
        source: str,
        timeout: float,
        verify: Verify,
        follow: bool,
        accept: Collection[int],
    ) -> Response:
        """Return the answer to ``prepared``, following redirects if ``follow``, all hops within
        ``timeout``. Raise SourceUnavailable (or deadline.Retryable) as ``request`` says."""
        ends = min(self._clock() + timeout, self.deadline)
        first = prepared.url
        credentials = redirects.carries_credentials(first, prepared.headers, bool(prepared.body))
        hop = prepared
        for _ in range(redirects.MAX_REDIRECTS + 1):
            response = self._attempt(hop, source, ends, timeout, verify, accept)
            location = response.headers.get("Location")
            if not follow or response.status not in redirects.REDIRECT_STATUSES or not location:
                return response
            try:
                where = redirects.next_hop(
                    first, response.url, response.method, response.status, location,
                    credentials=credentials,
                )  # fmt: skip
            except SourceUnavailable as exc:
                raise SourceUnavailable(
                    f"{response.what()}: {exc}", http_status=exc.http_status
                ) from None
            hop = self._redirected(hop, where)
        raise SourceUnavailable(
            f"{redact.redact(f'{prepared.method} {first}')}: more than "
            f"{redirects.MAX_REDIRECTS} redirects",
            http_status=response.status,
        )

    def _redirected(self, prepared: wire.Outgoing, hop: redirects.Hop) -> wire.Outgoing:
        """Return the request for the next hop: ``prepared`` sent as ``hop`` says."""
        try:
            return prepared.to(
                hop.url,
                hop.method,
                keep_body=hop.keep_body,
                keep_cookie=redirects.origin(hop.url) == redirects.origin(prepared.url),
            )
        except ValueError as exc:
            what = redact.redact(f"{hop.method} {hop.url}")
            raise SourceUnavailable(f"{what}: {redact.redact(str(exc))}") from None

    def _retry_delay(self, attempt: int, limit: int, failure: Retryable) -> float | None:
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
        prepared: wire.Outgoing,
        source: str,
        ends: float,
        timeout: float,
        verify: Verify,
        accept: Collection[int],
    ) -> Response:
        """Return the answer to one hop, cut off at monotonic time ``ends``; a redirect's body
        is not read. Raise SourceUnavailable (or deadline.Retryable) as ``request`` says."""
        what = redact.redact(f"{prepared.method} {prepared.url}")
        left = ends - self._clock()
        if self.remaining() < _MIN_TIMEOUT:
            raise SourceUnavailable(f"{what}: the pass deadline ({self.pass_timeout:g} s) is over")
        if left < _MIN_TIMEOUT:
            raise SourceUnavailable(f"{what}: no complete answer within {timeout:g} s")
        started = self._clock()
        settings = self._environment.settings(prepared.url, verify)
        if direct(prepared.url, settings["proxies"]):
            response = plain.exchange(
                self._pool, prepared, what=what, budget=left, accept=accept,
                max_size=self.max_response_size, now=self._now, verify=settings["verify"],
            )  # fmt: skip
        else:
            from occ.http import hop

            response = hop.exchange(
                self._requests_session(), prepared, what=what, budget=left,
                settings=settings, accept=accept, max_size=self.max_response_size,
                now=self._now,
            )  # fmt: skip
        LOG.debug(
            "%s: %s -> %d (%d bytes, %.2f s)",
            source,
            what,
            response.status,
            len(response.body),
            self._clock() - started,
            extra=logfields.fields(collector=source, http_status=response.status),
        )
        return response


# Imported when first called: only a retry needs jitter, and only a Retry-After date the time
# of day; a pass that needs neither does not load random or datetime (doc/performance.rst).
def _random() -> float:
    import random

    return random.random()


def _utc_now() -> datetime.datetime:
    import datetime

    return datetime.datetime.now(datetime.timezone.utc)
