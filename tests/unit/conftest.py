"""Fixtures shared by the unit tests."""

from __future__ import annotations

import shutil

import pytest

from tests import support
from tests.fakes.server import localhost_tls


@pytest.fixture(scope="session")
def tls(tmp_path_factory):
    """(server SSL context, CA file) for a certificate of 127.0.0.1/localhost."""
    if shutil.which("openssl") is None:
        support.skip_or_fail(
            f"openssl makes their certificate: {support.install_command('openssl')}",
            label="TLS TESTS",
        )
    return localhost_tls(str(tmp_path_factory.mktemp("tls")))
