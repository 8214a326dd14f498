"""Registered secrets in log lines: one that is a prefix of another never leaves the longer
one's tail behind (the longest secret is masked first)."""

from __future__ import annotations

import logging

import pytest

from occ import redact
from occ.log.logsetup import TEXT_FORMAT, RedactingFormatter

SHORT = "Pa55"  # e.g. a password
LONG = "Pa55-then-the-rest-of-a-token-7f3c"  # e.g. a token that happens to start with it


@pytest.fixture
def registry(monkeypatch):
    """A registry of secrets private to the test (registering is process-wide)."""
    monkeypatch.setattr(redact, "_registered", set())


@pytest.mark.parametrize("order", [(SHORT, LONG), (LONG, SHORT)])
def test_a_secret_that_is_a_prefix_of_another_leaves_no_tail(registry, order):
    for secret in order:
        redact.register(secret)
    assert redact.redact(f"login with {SHORT}, then token {LONG}.") == (
        "login with ***, then token ***."
    )


def test_a_log_line_keeps_no_tail_of_the_longer_secret(registry):
    redact.register(SHORT)
    redact.register(LONG)
    record = logging.LogRecord(
        "occ.test", logging.WARNING, __file__, 1, "heat: token %s rejected", (LONG,), None
    )
    line = RedactingFormatter(logging.Formatter(TEXT_FORMAT)).format(record)
    assert line.endswith(" WARNING heat: token *** rejected")
    assert "-then-the-rest" not in line
