"""A request as it goes on the wire: method, absolute URL, headers and body, checked and encoded
once, before the first attempt, whichever path then sends it (``occ.http.plain`` or
``occ.http.hop``).

The encoding follows what requests does, so that servers see the same requests whichever path
is taken: the method upper-cased, a host name IDNA-encoded, characters a URL cannot carry
percent-encoded (those already escaped are kept), ``params`` appended as a form-encoded query,
user information in the URL sent as HTTP Basic credentials instead, JSON bodies compact UTF-8
with ``allow_nan=False``. Nothing here imports an HTTP library.
"""

from __future__ import annotations

from collections.abc import Mapping

from occ import urls

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_SAFE = "!#$%&'()*+,/:;=?@[]~"  # what stays as it is in a URL; everything else is escaped
_BODILESS = ("GET", "HEAD")  # methods sent without Content-Length when they have no body


class Outgoing:
    """One request ready to send: ``headers`` keep their caller's spelling. (A plain class:
    ``dataclasses`` imports ``inspect``, 3 ms of every network pass's start.)"""

    __slots__ = ("body", "headers", "method", "url")

    def __init__(
        self, method: str, url: str, headers: dict[str, str], body: bytes | None = None
    ) -> None:
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body

    def to(self, url: str, method: str, *, keep_body: bool, keep_cookie: bool) -> Outgoing:
        """Return this request redirected to ``url`` (already absolute) as ``method``, without
        its body and the headers describing it unless ``keep_body``, and without its Cookie
        header unless ``keep_cookie``. Raise ValueError if ``url`` cannot be sent."""
        drop = set() if keep_body else {"content-length", "content-type", "transfer-encoding"}
        if not keep_cookie:
            drop.add("cookie")
        target, _ = _target(url)  # a Location header's credentials are not sent anywhere
        headers = {k: v for k, v in self.headers.items() if k.lower() not in drop}
        return Outgoing(method, target, headers, self.body if keep_body else None)


def prepare(
    method: str,
    url: str,
    *,
    defaults: Mapping[str, str],
    headers: Mapping[str, str] | None = None,
    params: Any = None,
    json: Any = None,
    data: Any = None,
) -> Outgoing:
    """Return the request to send. ``headers`` override ``defaults`` whatever their case; a
    header given as None is not sent. Raise ValueError (whose text quotes no header value) if
    the URL is not an http(s) URL with a host, or the body cannot be encoded."""
    target, auth = _target(url, params)
    merged = _merge(defaults, headers or {})
    if auth is not None and not any(k.lower() == "authorization" for k in merged):
        merged["Authorization"] = auth
    body = _body(json, data, merged)
    if body is not None:
        merged["Content-Length"] = str(len(body))
    elif method.upper() not in _BODILESS:
        merged["Content-Length"] = "0"
    return Outgoing(method.upper(), target, merged, body)


def _target(url: str, params: Any = None) -> tuple[str, str | None]:
    """Return the URL to send (without user information or fragment) and the Basic
    credentials its user information stands for, if any."""
    parts = urls.split(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise ValueError(f"not an http or https URL: {url!r}" if scheme else "no URL scheme")
    try:
        host = parts.hostname or ""
        port = parts.port
    except ValueError as exc:  # a port that is not a number, or out of range
        raise ValueError(f"invalid URL: {exc}") from None
    if not host:
        raise ValueError("no host in the URL")
    host = _ascii_host(host)
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc += f":{port}"
    query = parts.query
    encoded = _params(params)
    if encoded:
        query = f"{query}&{encoded}" if query else encoded
    path = urls.quote(parts.path or "/", safe=_SAFE)
    target = urls.join(scheme, netloc, path, urls.quote(query, safe=_SAFE), "")
    auth = None
    if parts.username is not None or parts.password is not None:
        import base64  # only for credentials in a URL, which few sources have
        from urllib.parse import unquote

        pair = f"{unquote(parts.username or '')}:{unquote(parts.password or '')}"

        auth = "Basic " + base64.b64encode(pair.encode("latin-1", "replace")).decode("ascii")
    return target, auth


def _ascii_host(host: str) -> str:
    if host.isascii():
        return host
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        raise ValueError("the URL's host name is not a valid domain name") from None


def _params(params: Any) -> str:
    if not params:
        return ""
    if isinstance(params, (str, bytes)):
        return params.decode() if isinstance(params, bytes) else params
    items = params.items() if isinstance(params, Mapping) else params
    pairs = [(k, v) for k, v in items if v is not None]
    from urllib.parse import urlencode  # only for parameters, which no idle pass sends

    return urlencode(pairs, doseq=True)


def _merge(defaults: Mapping[str, str], headers: Mapping[str, str | None]) -> dict[str, str]:
    merged = dict(defaults)
    for name, value in headers.items():
        for known in [k for k in merged if k.lower() == name.lower()]:
            del merged[known]
        if value is not None:
            merged[name] = value
    return merged


def _body(json: Any, data: Any, headers: dict[str, str]) -> bytes | None:
    """Return the encoded body, adding its Content-Type unless one is given."""
    body: bytes | None
    if data is None and json is not None:
        import json as jsonlib  # only for a JSON body (a Keystone login), not every request

        kind, body = "application/json", jsonlib.dumps(json, allow_nan=False).encode("utf-8")
    elif isinstance(data, Mapping):
        kind, body = "application/x-www-form-urlencoded", _params(data).encode("ascii")
    elif isinstance(data, str):
        kind, body = "", data.encode("utf-8")
    elif data is None or isinstance(data, bytes):
        kind, body = "", data
    else:
        raise ValueError(f"cannot send a body of type {type(data).__name__}")
    if kind and not any(k.lower() == "content-type" for k in headers):
        headers["Content-Type"] = kind
    return body
