"""Splitting, joining and quoting the URLs a pass requests, without ``urllib.parse`` for the
usual ones.

``urllib.parse`` imports ``re``, ``enum`` and ``ipaddress``: about 5 ms of every network pass
on the units' interpreter (doc/performance.rst, "Findings"), for URLs that are nearly always
``scheme://host[:port]/path?query`` in printable ASCII. For such a URL ``split``, ``join`` and
``quote`` return what ``urlsplit``, ``urlunsplit`` and ``quote`` return
(tests/unit/test_urls.py holds them to it with generated URLs); any other URL or argument goes
to ``urllib.parse`` itself, so that its answers and its errors stay the reference.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Protocol

    class Parts(Protocol):
        """What ``urlsplit`` returns, as far as occ reads it."""

        @property
        def scheme(self) -> str: ...
        @property
        def netloc(self) -> str: ...
        @property
        def path(self) -> str: ...
        @property
        def query(self) -> str: ...
        @property
        def fragment(self) -> str: ...
        @property
        def hostname(self) -> str | None: ...
        @property
        def port(self) -> int | None: ...  # ValueError for a bad port, as urlsplit's
        @property
        def username(self) -> str | None: ...
        @property
        def password(self) -> str | None: ...


_SCHEME = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-.")
# In a host and port split here: neither user information ("@") nor an IPv6 literal
# (brackets) nor a zone id or an escape ("%"); those go to urlsplit.
_NOT_PLAIN_NETLOC = frozenset("@[]%")
_ALWAYS_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~")


class _Plain:
    """``urlsplit``'s answer for a plain URL: no user information, a valid port or none."""

    __slots__ = ("fragment", "hostname", "netloc", "path", "port", "query", "scheme")
    username = None
    password = None

    def __init__(self, scheme: str, netloc: str, rest: str, host: str, port: int | None) -> None:
        self.scheme, self.netloc, self.hostname, self.port = scheme, netloc, host, port
        rest, _, self.fragment = rest.partition("#")
        self.path, _, self.query = rest.partition("?")


def split(url: str) -> Parts:
    """Return ``urllib.parse.urlsplit(url)``'s parts. Raise ValueError as it does."""
    plain = _split_plain(url)
    if plain is not None:
        return plain
    from urllib.parse import urlsplit

    return urlsplit(url)


def _split_plain(url: str) -> _Plain | None:
    # urlsplit drops leading spaces and controls and removes tabs and line breaks anywhere:
    # a URL with any of them, or a backslash, is not plain.
    if not (url.isascii() and url.isprintable()) or " " in url or "\\" in url:
        return None
    colon = url.find(":")
    scheme = url[:colon]
    if colon <= 0 or not scheme[0].isalpha() or not _SCHEME.issuperset(scheme):
        return None
    if url[colon + 1 : colon + 3] != "//":
        return None
    start = colon + 3
    end = min((i for i in (url.find(c, start) for c in "/?#") if i >= 0), default=len(url))
    netloc = url[start:end]
    if _NOT_PLAIN_NETLOC.intersection(netloc):
        return None
    host, _, port_text = netloc.partition(":")
    if not host:
        return None
    port = None
    if port_text:
        if not port_text.isdigit() or int(port_text) > 65535:
            return None  # urlsplit's port raises for it, in its own words
        port = int(port_text)
    return _Plain(scheme.lower(), netloc, url[end:], host.lower(), port)


def join(scheme: str, netloc: str, path: str, query: str, fragment: str) -> str:
    """Return ``urllib.parse.urlunsplit((scheme, netloc, path, query, fragment))``."""
    if not (scheme and netloc):
        from urllib.parse import urlunsplit

        return urlunsplit((scheme, netloc, path, query, fragment))
    if path and path[0] != "/":
        path = "/" + path
    url = f"{scheme}://{netloc}{path}"
    if query:
        url += "?" + query
    if fragment:
        url += "#" + fragment
    return url


def quote(text: str, safe: str = "/") -> str:
    """Return ``urllib.parse.quote(text, safe=safe)``."""
    if text.isascii() and safe.isascii() and _ALWAYS_SAFE.union(safe).issuperset(text):
        return text  # nothing to escape: what quote returns, unchanged
    from urllib.parse import quote as escape

    return escape(text, safe=safe)
