"""TLS for the stdlib path (``occ.http.plain``): one ``ssl`` context per verification setting.

The ``ssl`` module's default client context verifies the certificate chain and the host name
and refuses old protocol versions. Its CA bundle is the one requests would use, so that a
switch of path changes nothing an operator configured: ``[...] ca_certificate`` or
``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` when given (``occ.http.environment`` resolves those),
else certifi's bundle, which Debian's and Fedora's certifi point at the system bundle.
"""

from __future__ import annotations

import os
import ssl
import threading

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Union

    Verify = Union[bool, str]  # True (the default CAs), a CA bundle file or directory, or False

_contexts: dict[Verify, ssl.SSLContext] = {}
_lock = threading.Lock()


def context(verify: Verify) -> ssl.SSLContext:
    """Return the client context for ``verify``: True (the default bundle), a CA file or
    directory, or False (no verification). Raise OSError if the CA bundle cannot be used."""
    with _lock:
        made = _contexts.get(verify)
        if made is None:
            made = _contexts[verify] = _make(verify)
        return made


def _make(verify: Verify) -> ssl.SSLContext:
    if verify is False:
        unverified = ssl.create_default_context()
        unverified.check_hostname = False
        unverified.verify_mode = ssl.CERT_NONE
        return unverified
    where = default_bundle() if verify is True else str(verify)
    try:
        if where is None:
            return ssl.create_default_context()
        if os.path.isdir(where):
            return ssl.create_default_context(capath=where)
        return ssl.create_default_context(cafile=where)
    except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
        reason = getattr(exc, "strerror", None) or str(exc)
        raise OSError(f"cannot use the CA bundle {where}: {reason}") from None


def default_bundle() -> str | None:
    """Return requests' default CA bundle (certifi's), or None for the system's default."""
    try:
        import certifi
    except ImportError:
        return None
    return str(certifi.where())
