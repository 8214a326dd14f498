"""AWS Signature Version 2 (HmacSHA256), as Heat's CloudFormation-compatible API checks it.

Pure functions, no I/O. Heat's ``heat-api-cfn`` recomputes the signature (through Keystone's
``/v3/ec2tokens``) from the request's method, Host header, path and query parameters, so the
host signed here must be exactly the Host header sent: ``host_header`` gives it, and the cfn
collector sends it explicitly. Every signature uses a fresh HMAC object; the original reused one
across paths, which made every path after the first fail with 403
(doc/compatibility.rst, "cfn multi-path signing").
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from urllib.parse import quote, urlsplit

SIGNATURE_VERSION = "2"
SIGNATURE_METHOD = "HmacSHA256"
_DEFAULT_PORTS = {"http": 80, "https": 443}


def canonical_query(params: Mapping[str, str]) -> str:
    """Return the signed form of ``params``: sorted by key (code-point order), each
    ``key=value`` percent-encoded with only ``-_.~`` and alphanumerics left literal, joined
    with ``&``. A ``Signature`` parameter is left out."""
    pairs = sorted((key, value) for key, value in params.items() if key != "Signature")
    return "&".join(
        quote(key, safe="") + "=" + quote(value.encode("utf-8"), safe="-_~") for key, value in pairs
    )


def string_to_sign(method: str, host: str, path: str, params: Mapping[str, str]) -> str:
    """Return the SigV2 string to sign: method, host, path and canonical query, one a line."""
    return "\n".join((method, host, path, canonical_query(params)))


def signature(secret: str, method: str, host: str, path: str, params: Mapping[str, str]) -> str:
    """Return the base64 HMAC-SHA256 signature of one request, from a fresh HMAC object."""
    message = string_to_sign(method, host, path, params).encode("utf-8")
    digest = hmac.new(secret.encode("utf-8"), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def host_header(url: str) -> str:
    """Return the Host header for ``url``: its host, lower-cased, bracketed if IPv6, with the
    port unless it is the scheme's default (HTTP clients leave default ports out).

    Raise ValueError if ``url`` has no host or a malformed port.
    """
    parts = urlsplit(url)
    host = parts.hostname
    if not host:
        raise ValueError("URL has no host")
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    if port is not None and port != _DEFAULT_PORTS.get(parts.scheme.lower()):
        host = f"{host}:{port}"
    return host
