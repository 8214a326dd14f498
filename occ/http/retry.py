"""Pure policy helpers of the HTTP layer: which failures are retried, how long to wait, and
which hosts must never go through a proxy.

Kept apart from ``occ.http.client`` so they can be tested without sockets and read without the
transport details. Nothing here imports ``requests``.
"""

from __future__ import annotations

import _socket
import math

from occ import urls

TYPE_CHECKING = False
if TYPE_CHECKING:
    import datetime
    from typing import Callable

# 5xx answers that a retry can cure. 501 (not implemented) and 505 (version not supported)
# describe the server, not a passing state, so retrying them only burns the deadline.
_PERMANENT_5XX = frozenset({501, 505})

# Link-local ranges that cloud metadata services live on (doc/compatibility.rst, "HTTP policy"):
# 169.254.0.0/16, the first two bytes of an IPv4 address as inet_pton packs it, and IPv6's.
_NEVER_PROXIED_V4 = b"\xa9\xfe"
_NEVER_PROXIED_V6 = ("fe80::/10", "fd00:ec2::254/128")


def is_transient_status(status: int) -> bool:
    """Return True if an HTTP status says "try again later" (429 and most 5xx)."""
    return status == 429 or (500 <= status <= 599 and status not in _PERMANENT_5XX)


def backoff_delay(attempt: int, *, base: float, cap: float, random: Callable[[], float]) -> float:
    """Return the full-jitter delay before retry number ``attempt`` (0 for the first retry):
    a uniform draw in [0, min(cap, base * 2**attempt)), so that clients that failed together
    do not retry together."""
    return random() * min(cap, base * (2**attempt))


def retry_after(value: str | None, now: datetime.datetime) -> float | None:
    """Return the seconds a ``Retry-After`` header asks to wait, or None if absent or unparsable.

    The header is either a number of seconds or an HTTP date (any form dateutil reads; a date
    without a zone is taken as UTC, as HTTP dates always are). Past dates give 0.
    """
    if not value or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    when = http_date(text)
    return None if when is None else max(0.0, (when - now).total_seconds())


def http_date(value: str | None) -> datetime.datetime | None:
    """Return an HTTP date header (RFC 7231, RFC 850, asctime, or numeric zones) as an aware
    datetime, or None if it is absent or unparsable."""
    if not value or not value.strip():
        return None
    # Deferred: dates are rare (a Retry-After date, a Last-Modified), and dateutil costs every
    # pass that imports this module a few milliseconds of start-up (doc/performance.rst).
    import datetime

    from dateutil import parser as dateparser

    try:
        when = dateparser.parse(value.strip())
    except (ValueError, OverflowError):
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=datetime.timezone.utc)


def never_proxied(url: str) -> bool:
    """Return True if ``url`` points at a link-local metadata address, which must be reached
    directly whatever ``http_proxy``/``no_proxy`` say (a proxy cannot reach the instance's own
    link-local network, and would see its credentials)."""
    try:
        host = (urls.split(url).hostname or "").split("%", 1)[0]  # drop an IPv6 zone id
    except ValueError:
        return False
    if ":" not in host:
        # Dotted-quad IPv4 as ipaddress reads it (four decimal numbers up to 255, no leading
        # zeros); inet_pton reads the same, without importing ipaddress (about 1 ms).
        try:
            return _socket.inet_pton(_socket.AF_INET, host)[:2] == _NEVER_PROXIED_V4
        except OSError:
            return False
    import ipaddress  # IPv6 literals are rare: the reference reads them

    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(network) for network in _NEVER_PROXIED_V6)
