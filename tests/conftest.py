"""Shared test helpers: run the real entry point in a subprocess, write configuration files."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Callable

import pytest

REPO = Path(__file__).resolve().parent.parent

try:
    from hypothesis import HealthCheck, settings
except ImportError:  # only the property-based tests need it; they skip without it
    pass
else:
    # One profile for every property-based test: the same examples on every run (no flaky CI,
    # no example database), a bounded count, and no per-example deadline on two shared cores.
    settings.register_profile(
        "ci",
        derandomize=True,
        database=None,
        max_examples=60,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


class Run:
    """Runs ``python -m occ`` with a clean environment rooted in a temporary HOME."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(home),
            "PYTHONPATH": str(REPO),
            "LANG": "C.UTF-8",
            # coverage's subprocess measurement finds its configuration through these.
            **{k: v for k, v in os.environ.items() if k.startswith("COVERAGE_")},
        }

    def __call__(
        self,
        *args: str,
        env: dict | None = None,
        timeout: float = 60,
        check: int | None = None,
        **kwargs,
    ) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [sys.executable, "-m", "occ", *args],
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
            **kwargs,
        )
        if check is not None:
            assert result.returncode == check, (
                f"exit {result.returncode}, expected {check}\nstdout:\n{result.stdout}\n"
                f"stderr:\n{result.stderr}"
            )
        return result

    def popen(self, *args: str, env: dict | None = None, **kwargs) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-m", "occ", *args], env={**self.env, **(env or {})}, **kwargs
        )


@pytest.fixture
def occ(tmp_path: Path) -> Run:
    home = tmp_path / "home"
    home.mkdir()
    return Run(home)


@pytest.fixture
def write(tmp_path: Path) -> Callable[..., Path]:
    """write(name, text) -> path: a dedented file under tmp_path."""

    def _write(name: str, text: str, mode: int | None = None) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
        if mode is not None:
            path.chmod(mode)
        return path

    return _write
