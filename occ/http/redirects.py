"""The redirect policy of the HTTP layer: credentials stay with the origin they were meant for.

``occ.http.client`` never lets requests follow a redirect; it asks ``next_hop`` what to do with
each one. A redirect within the origin of the original request (same scheme, host and port) is
followed as browsers do: 301/302 of a POST and every 303 become a GET without a body, 307/308
keep method and body. A redirect to another origin is followed only by a request that carries
no credential (no token or authorization header, no body, no signed query, no registered secret
in its URL) and never from https to http: requests itself strips only ``Authorization`` on a
host change and would re-send custom token headers, and the body of a 307, to anyone. Pure
functions; nothing here imports ``requests``.
"""

from __future__ import annotations

from collections.abc import Mapping

from occ import redact, urls
from occ.errors import SourceUnavailable

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NamedTuple
else:
    from occ.records import NamedTuple

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 5  # Heat's stack lookup needs one; a loop must end long before the deadline
_DEFAULT_PORTS = {"http": 80, "https": 443}
# Header names that carry credentials beyond redact's list (any *token*, *auth*, *signature*).
_CREDENTIAL_WORDS = ("token", "auth", "signature", "secret", "password", "cookie")


class Hop(NamedTuple):
    """The request to send next: method, absolute URL, and whether the body goes along."""

    method: str
    url: str
    keep_body: bool


def origin(url: str) -> tuple[str, str, int | None]:
    """Return ``(scheme, host, port)`` of ``url``, the port defaulted from the scheme; a URL
    that does not parse (``http://[``) has the empty origin, which matches no real one."""
    try:
        parts = urls.split(url)
        scheme, host, port = parts.scheme.lower(), (parts.hostname or "").lower(), parts.port
    except ValueError:
        return "", "", None
    return scheme, host, port or _DEFAULT_PORTS.get(scheme)


def carries_credentials(url: str, headers: Mapping[str, str], has_body: bool) -> bool:
    """Return True if a request would hand a credential to whoever answers it: a body (a
    password, a signed form), a token or authorization header, or a secret in the URL."""
    if has_body or redact.redact(url) != url:
        return True
    for name in headers:
        lowered = name.lower()
        if lowered in redact.SECRET_HEADERS or any(w in lowered for w in _CREDENTIAL_WORDS):
            return True
    return False


def next_hop(
    first_url: str, url: str, method: str, status: int, location: str, *, credentials: bool
) -> Hop:
    """Return the request that follows a ``status`` redirect to ``location`` of ``method url``
    (a hop of a request first sent to ``first_url``).

    Raise SourceUnavailable, naming the redacted Location in one line, if the redirect leaves
    the first URL's origin while the request carries credentials or a body that would be
    re-sent, if it downgrades https to http, or if it is not to an http(s) URL.
    """
    where = redact.redact(location.strip())[:200]
    try:
        from urllib.parse import urljoin  # only for a redirect

        target = urljoin(url, location.strip())
        scheme = urls.split(target).scheme.lower()
    except ValueError:  # e.g. an unclosed IPv6 bracket
        target, scheme = "", ""
    if scheme not in _DEFAULT_PORTS or not origin(target)[1]:
        raise SourceUnavailable(
            f"refusing a redirect to {where}: not an http(s) URL", http_status=status
        )
    keep_body = status in (307, 308)
    if status == 303 or (status in (301, 302) and method == "POST"):
        method = "GET" if method != "HEAD" else method
    if origin(target) == origin(first_url):
        return Hop(method, target, keep_body)
    if origin(first_url)[0] == "https" and scheme == "http":
        raise SourceUnavailable(
            f"refusing a redirect from https to {where}: the answer could be forged",
            http_status=status,
        )
    if credentials:  # a request with a body counts as one: no body goes to another origin
        raise SourceUnavailable(
            f"refusing a redirect to {where}: it leaves {_show(first_url)} and the request "
            "carries credentials",
            http_status=status,
        )
    return Hop(method, target, keep_body)


def _show(url: str) -> str:
    scheme, host, port = origin(url)
    return f"{scheme}://{host}:{port}"
