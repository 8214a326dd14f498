"""One hop of a request through requests: the path for what a proxy takes (HTTP proxies,
CONNECT tunnels, SOCKS), which requests knows how to reach.

``occ.http.client`` decides the policy (whether to try, how long each attempt may take,
retries, redirects) and hands each hop here or, for a request straight to its server, to
``occ.http.plain``. ``exchange`` sends the request through the pass's session, judges the status
before reading the body, and reads the body in small pieces up to the size cap
(``occ.http.answer``), with ``occ.http.deadline.Deadline`` cutting the connection when the
attempt's time is up, whatever the server does.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator

import requests

from occ.errors import SourceUnavailable
from occ.http import answer, redirects, transport
from occ.http.deadline import Deadline, late
from occ.http.outgoing import Outgoing
from occ.http.response import Response

TYPE_CHECKING = False
if TYPE_CHECKING:
    import datetime
    from typing import Any


def session(pool_size: int, user_agent: str) -> requests.Session:
    """Return a session whose connections ``Deadline`` can cut, sending ``user_agent``."""
    made = requests.Session()
    made.trust_env = False  # occ.http.environment reads the environment, once per origin
    made.headers["User-Agent"] = user_agent
    adapter = transport.DeadlineAdapter(pool_connections=4, pool_maxsize=pool_size, max_retries=0)
    made.mount("http://", adapter)
    made.mount("https://", adapter)
    return made


def exchange(
    through: requests.Session,
    outgoing: Outgoing,
    *,
    what: str,
    budget: float,
    settings: dict[str, Any],
    accept: Collection[int],
    max_size: int,
    now: Callable[[], datetime.datetime],
) -> Response:
    """Return the answer to ``outgoing``, all of it within ``budget`` seconds; a redirect's
    body is not read. ``settings`` are requests' proxies, verify, stream and cert for its URL.

    Raise SourceUnavailable (or deadline.Retryable, for what a later attempt may cure) on
    transport errors, TLS failures, the time running out, an unaccepted status >= 400 (429 and
    5xx retryable, with the wait ``Retry-After`` asks for) and a body over ``max_size`` bytes.
    """
    try:
        prepared = through.prepare_request(
            requests.Request(outgoing.method, outgoing.url, outgoing.headers, data=outgoing.body)
        )
    except requests.exceptions.InvalidHeader:  # its message quotes the value: never show it
        raise SourceUnavailable(f"{what}: a header value cannot be sent") from None
    except (requests.RequestException, ValueError) as exc:
        raise SourceUnavailable(f"{what}: {transport.cause(exc)}") from None
    with Deadline(budget) as cut:
        try:
            with transport.unverified_quietly(settings["verify"]):
                raw = through.send(
                    prepared, timeout=(budget, budget), allow_redirects=False, **settings
                )
        except requests.RequestException as exc:
            raise transport.failure(what, exc, budget, cut.expired) from None
        with raw:
            answer.check_status(what, raw.status_code, raw.reason, raw.headers, accept, now)
            redirect = raw.status_code in redirects.REDIRECT_STATUSES
            body = b"" if redirect else _body(what, raw, budget, cut, max_size)
        if cut.expired:  # a cut can look like the end of the headers or of the body
            raise late(what, budget)
    return Response(outgoing.method, outgoing.url, raw.status_code, raw.headers, body)


def _body(what: str, raw: requests.Response, budget: float, cut: Deadline, cap: int) -> bytes:
    chunks: Iterator[bytes] = raw.iter_content(answer.CHUNK)
    try:
        return answer.read_capped(
            what, chunks, status=raw.status_code, headers=raw.headers, budget=budget, cut=cut,
            cap=cap,
        )  # fmt: skip
    except (requests.RequestException, OSError) as exc:
        raise transport.failure(what, exc, budget, cut.expired) from None
