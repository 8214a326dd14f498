"""Helpers shared by every test suite: skipping that CI cannot ignore, the install command for
what a skipped test needs (taken from the one list of prerequisites), and probes run in a
process of their own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PREREQUISITES = REPO / "tests" / "prerequisites.txt"


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def loud(reason: str, label: str = "SYSTEMD TESTS") -> str:
    """Return ``"<LABEL> NOT RUN: <reason>"``; the label says what was not run."""
    return f"{label} NOT RUN: {reason}"


def skip_or_fail(reason: str, *, label: str = "SYSTEMD TESTS") -> None:
    """Skip with a loud reason; under CI (CI=true) fail instead, because CI must run it."""
    if in_ci():
        pytest.fail(loud(reason, label) + " (CI=true: failing instead of skipping)", pytrace=False)
    pytest.skip(loud(reason, label))


def listed_packages() -> list[str]:
    """Return the Debian packages in tests/prerequisites.txt (one per line, ``#`` comments)."""
    try:
        text = PREREQUISITES.read_text()
    except FileNotFoundError:
        return []
    names = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return [name for name in names if name]


def install_command(*packages: str) -> str:
    """Return the command that installs ``packages``, each of which tests/prerequisites.txt
    must list (so a skip never names a package that CI and tools/run-tests do not install)."""
    listed = listed_packages()
    unlisted = [package for package in packages if package not in listed]
    assert not unlisted, f"add {', '.join(unlisted)} to {PREREQUISITES}"
    return "apt-get install -y " + " ".join(packages)


def through_proxy(monkeypatch, proxy_url: str) -> None:
    """Send plain HTTP through requests (occ.http.hop) instead of the stdlib path: name
    ``proxy_url`` as the proxy. A tests.fakes server named as its own proxy answers the
    absolute-form targets by their path, as it answers direct requests."""
    for name in ("no_proxy", "NO_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("http_proxy", proxy_url)


def probe_output(code: str, env: dict[str, str] | None = None) -> str:
    """Return what ``code`` prints when this interpreter runs it in a new process, with the work
    tree on its path and ``env`` (default: nothing else) as its environment: what it imports is
    its own doing. Raise CalledProcessError if it fails."""
    environ = {**(env or {}), "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=environ, check=True
    ).stdout
