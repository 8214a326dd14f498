"""Helpers shared by the systemd tests: where things are, and skipping that CI cannot ignore."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent.parent


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def loud(reason: str) -> str:
    return f"SYSTEMD TESTS NOT RUN: {reason}"


def skip_or_fail(reason: str) -> None:
    """Skip with a loud reason; under CI (CI=true) fail instead, because CI must run it."""
    if in_ci():
        pytest.fail(loud(reason) + " (CI=true: failing instead of skipping)", pytrace=False)
    pytest.skip(loud(reason))


def have_systemd_analyze() -> bool:
    return shutil.which("systemd-analyze") is not None


def system_unit_dir() -> Path:
    """Return the directory of the distribution's units (sysinit.target and friends)."""
    for candidate in ("/usr/lib/systemd/system", "/lib/systemd/system"):
        if Path(candidate, "sysinit.target").exists():
            return Path(candidate)
    raise FileNotFoundError("no systemd unit directory with sysinit.target")
