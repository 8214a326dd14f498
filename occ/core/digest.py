"""SHA-256 digests in hex, the one helper for every digest occ keeps.

The implementation is loaded on first use: an idle pass (nothing changed, no network source
configured) computes no digest and should not pay for loading it. And it is Python's built-in
SHA-256 where there is one: ``hashlib`` loads OpenSSL's libcrypto on import, about 3 ms of a
network pass that hashes a few hundred bytes (a token cache key, a document to compare), and a
pass over plain HTTP loads it for nothing else. Both give the same digest, of course.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable

_sha256: Callable[[], Any] | None = None


def sha256_hex(*chunks: bytes) -> str:
    """Return the hex SHA-256 of ``chunks`` concatenated (callers separate fields themselves)."""
    global _sha256
    if _sha256 is None:
        _sha256 = _implementation()
    digest = _sha256()
    for chunk in chunks:
        digest.update(chunk)
    return str(digest.hexdigest())


def _implementation() -> Callable[[], Any]:
    # The module is _sha2 from Python 3.12 on, _sha256 before; an interpreter built without
    # either still has hashlib's.
    for name in ("_sha2", "_sha256"):
        try:
            return __import__(name).sha256
        except (ImportError, AttributeError):
            continue
    import hashlib

    return hashlib.sha256
