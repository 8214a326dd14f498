"""One hop of a request: sending it and reading its complete answer within a hard deadline.

``occ.http.client`` decides the policy (whether to try, how long each attempt may take,
retries, redirects) and hands each hop here: ``exchange`` sends the prepared request through
the pass's session, refuses unaccepted statuses before reading their bodies, and reads the body
in small pieces up to the size cap, with ``occ.http.transport.Deadline`` cutting the connection
when the attempt's time is up, whatever the server does.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Collection
from typing import Any, Callable

import requests

from occ.errors import SourceUnavailable
from occ.http import redirects, retry, transport
from occ.http.response import Response

_CHUNK = 8 * 1024  # small reads: the deadline is checked between them


class Environment:
    """The proxies and CA verification a hop uses, from the environment as requests would merge
    them with ``trust_env``, worked out once per origin (proxy choice depends only on the scheme,
    host and port) instead of on every request. ``~/.netrc`` is not read."""

    def __init__(self) -> None:
        self._known: dict[tuple[Any, bool | str], dict[str, Any]] = {}

    def settings(self, url: str, verify: bool | str) -> dict[str, Any]:
        """Return requests' ``proxies``, ``verify``, ``stream`` and ``cert`` for ``url``."""
        key = (redirects.origin(url), verify)
        settings = self._known.get(key)
        if settings is None:
            if retry.never_proxied(url):
                proxies: dict[str, str] = {}
            else:
                proxies = requests.utils.get_environ_proxies(url)
            if verify is True:  # requests' variables for a CA bundle, as with trust_env
                verify = (
                    os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
                )
            settings = {"proxies": proxies, "verify": verify, "stream": True, "cert": None}
            self._known[key] = settings
        return settings


def exchange(
    session: requests.Session,
    prepared: requests.PreparedRequest,
    *,
    what: str,
    budget: float,
    settings: dict[str, Any],
    accept: Collection[int],
    max_size: int,
    now: Callable[[], datetime.datetime],
) -> Response:
    """Return the answer to ``prepared``, all of it within ``budget`` seconds; a redirect's body
    is not read. ``settings`` are requests' proxies, verify, stream and cert for its URL.

    Raise SourceUnavailable (or transport.Retryable, for what a later attempt may cure) on
    transport errors, TLS failures, the time running out, an unaccepted status >= 400 (429 and
    5xx retryable, with the wait ``Retry-After`` asks for) and a body over ``max_size`` bytes.
    """
    with transport.Deadline(budget) as cut:
        try:
            with transport.unverified_quietly(settings["verify"]):
                raw = session.send(
                    prepared, timeout=(budget, budget), allow_redirects=False, **settings
                )
        except requests.RequestException as exc:
            raise transport.failure(what, exc, budget, cut.expired) from None
        with raw:
            check_status(what, raw, accept, now)  # before reading: error pages are not needed
            redirect = raw.status_code in redirects.REDIRECT_STATUSES
            body = b"" if redirect else read_body(what, raw, budget, cut, max_size)
        if cut.expired:  # a cut can look like the end of the headers or of the body
            raise transport.Retryable(SourceUnavailable(f"{what}: {transport.late(budget)}"))
    return Response(prepared.method or "", prepared.url or "", raw.status_code, raw.headers, body)


def read_body(
    what: str, raw: requests.Response, budget: float, cut: transport.Deadline, cap: int
) -> bytes:
    """Return the body, reading at most ``cap`` bytes of it, in small reads that ``cut`` ends
    when the attempt's time is up. Raise SourceUnavailable if it is larger, or
    transport.Retryable if the time ran out or the connection broke."""
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
            if cut.expired:  # the last read may have come in just before the cut
                raise transport.Retryable(SourceUnavailable(f"{what}: {transport.late(budget)}"))
            chunks.append(chunk)
    except (requests.RequestException, OSError) as exc:
        raise transport.failure(what, exc, budget, cut.expired) from None
    return b"".join(chunks)


def check_status(
    what: str,
    raw: requests.Response,
    accept: Collection[int],
    now: Callable[[], datetime.datetime],
) -> None:
    """Raise SourceUnavailable (or transport.Retryable, for 429 and 5xx) for a status >= 400
    that is not in ``accept``."""
    status = raw.status_code
    if status < 400 or status in accept:
        return
    error = SourceUnavailable(
        f"{what}: HTTP {status} {raw.reason or ''}".rstrip(), http_status=status
    )
    if retry.is_transient_status(status):
        raise transport.Retryable(error, retry.retry_after(raw.headers.get("Retry-After"), now()))
    raise error
