"""Fixtures shared by the unit tests."""

from __future__ import annotations

import shutil

import pytest

from tests import support
from tests.fakes.server import FakeServer, localhost_tls


@pytest.fixture(scope="session")
def tls(tmp_path_factory):
    """(server SSL context, CA file) for a certificate of 127.0.0.1/localhost."""
    if shutil.which("openssl") is None:
        support.skip_or_fail(
            f"openssl makes their certificate: {support.install_command('openssl')}",
            label="TLS TESTS",
        )
    return localhost_tls(str(tmp_path_factory.mktemp("tls")))


@pytest.fixture
def fake_server():
    """An HTTP server on 127.0.0.1 with scripted routes (tests.fakes.server)."""
    with FakeServer() as server:
        yield server


@pytest.fixture
def tls_server(tls):
    """The same, over TLS with the ``tls`` certificate."""
    with FakeServer(tls=tls[0]) as server:
        yield server
