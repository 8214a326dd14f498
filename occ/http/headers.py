"""Header values that came from a server (a session token, a subject token) are checked here
before they are put into a request.

A value with a line break or another control character would make requests refuse the request
with an exception that quotes the value, escaped, in its message and traceback, where redaction
of the registered secret no longer matches. Worse, a lenient stack would split it into extra
header lines. Pure functions; nothing here imports ``requests``.
"""

from __future__ import annotations

from collections.abc import Mapping

from occ.errors import SourceUnavailable


def valid_value(value: object) -> bool:
    """Return True if ``value`` is a string that can be sent as a header value as it is: tab,
    space, visible ASCII and the rest of Latin-1 (what requests can send); no controls."""
    if not isinstance(value, str):
        return False
    if value.isascii() and value.isprintable():  # the usual value, checked in C
        return True
    return all(c == "\t" or " " <= c <= "~" or "\xa0" <= c <= "\xff" for c in value)


def check(headers: Mapping[str, str] | None, what: str) -> None:
    """Raise SourceUnavailable for the first header of ``headers`` whose name or value cannot
    be sent; the message names the header (and ``what``, the redacted request), never the value."""
    for name, value in (headers or {}).items():
        if not valid_value(name) or not name or not valid_value(value):
            shown = name if valid_value(name) else "with an invalid name"
            raise SourceUnavailable(
                f"{what}: not sending header {shown}: its value holds control "
                "characters (a broken or hostile answer from a server)"
            )
