"""occ.core.digest: the digests occ keeps are SHA-256's, computed without loading OpenSSL."""

from __future__ import annotations

import hashlib

import pytest

from occ.core.digest import sha256_hex
from tests import support


@pytest.mark.parametrize(
    "chunks", [(), (b"",), (b"token",), (b"a", b"\0", b"b"), (bytes(range(256)) * 300,)]
)
def test_the_digest_is_sha256_of_the_chunks_joined(chunks):
    assert sha256_hex(*chunks) == hashlib.sha256(b"".join(chunks)).hexdigest()


def test_a_digest_does_not_load_hashlib():
    # hashlib loads OpenSSL's libcrypto, about 3 ms of a pass that hashes a few hundred bytes.
    probe = (
        "import sys\n"
        "from occ.core.digest import sha256_hex\n"
        "assert len(sha256_hex(b'x')) == 64\n"
        "print('hashlib' in sys.modules)\n"
    )
    assert support.probe_output(probe).strip() == "False"
