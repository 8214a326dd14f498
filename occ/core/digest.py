"""SHA-256 digests in hex, the one helper for every digest occ keeps.

``hashlib`` is imported on first use: an idle pass (nothing changed, no network source
configured) computes no digest and should not pay for loading it.
"""

from __future__ import annotations


def sha256_hex(*chunks: bytes) -> str:
    """Return the hex SHA-256 of ``chunks`` concatenated (callers separate fields themselves)."""
    import hashlib

    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(chunk)
    return digest.hexdigest()
