"""Helpers shared by the systemd tests: where things are, and skipping that CI cannot ignore."""

from __future__ import annotations

import shutil
from pathlib import Path

# Re-exported: the skipping helpers live in tests/support.py, shared by every suite.
from tests.support import REPO, in_ci, install_command, loud, skip_or_fail

__all__ = ["REPO", "in_ci", "install_command", "loud", "skip_or_fail"]


def have_systemd_analyze() -> bool:
    return shutil.which("systemd-analyze") is not None


def system_unit_dir() -> Path:
    """Return the directory of the distribution's units (sysinit.target and friends)."""
    for candidate in ("/usr/lib/systemd/system", "/lib/systemd/system"):
        if Path(candidate, "sysinit.target").exists():
            return Path(candidate)
    raise FileNotFoundError("no systemd unit directory with sysinit.target")
