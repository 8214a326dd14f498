"""Fixtures shared by the unit tests."""

from __future__ import annotations

import shutil

import pytest

from tests.fakes.server import localhost_tls


@pytest.fixture(scope="session")
def tls(tmp_path_factory):
    """(server SSL context, CA file) for a certificate of 127.0.0.1/localhost."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    return localhost_tls(str(tmp_path_factory.mktemp("tls")))
