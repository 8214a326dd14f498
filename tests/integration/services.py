"""Real OpenStack services for the integration tests: their virtualenv, their processes, and
what they logged.

The services (Keystone, keystonemiddleware, Zaqar) are installed from the package index into a
virtualenv of their own, pinned by ``constraints.txt`` beside this file and cached under
``.venv-services/<hash>/`` (the hash covers the pins, so changing a pin builds a new one).
Every service listens on 127.0.0.1 only, on a free port, and is started with a readiness check
and stopped when the session ends. A service that cannot be installed goes through
``skip_or_fail`` (a skip on a developer's machine, a failure under CI); one that was installed
but does not start is a plain failure.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Callable

import pytest

from tests.support import REPO, install_command, skip_or_fail

HERE = Path(__file__).resolve().parent
SERVERS = HERE / "servers"
CONSTRAINTS = HERE / "constraints.txt"
# What the service virtualenv installs; constraints.txt pins these and everything they pull in.
REQUIREMENTS = ("keystone", "keystonemiddleware", "zaqar", "redis")
LABEL = "REAL-SERVICE TESTS"
VENVS = REPO / ".venv-services"
INSTALL_TIMEOUT = 480.0  # seconds; a cold install takes about a minute
START_TIMEOUT = 90.0  # seconds for one service to answer after it was started
# The test suite's own requests to the services carry this User-Agent. keystonemiddleware
# (in front of the Heat-shaped endpoint, and inside Zaqar) logs in and validates tokens with
# its own (keystonemiddleware.auth_token/..., zaqar/... keystonemiddleware..., and
# python-keystoneclient). Every other request is the program's (today requests' default,
# python-requests/...).
SETUP_AGENT = "occ-integration-setup/1"
NOT_THE_PROGRAM = re.compile(r"^occ-integration-setup/|keystonemiddleware|keystoneclient")


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def service_python() -> Path:
    """Return the Python of the service virtualenv, building it first if needed.

    Skip (fail under CI) if it cannot be installed: the package index is unreachable, or pip
    fails for another reason, shown in the message.
    """
    digest = hashlib.sha256()
    digest.update(CONSTRAINTS.read_bytes())
    digest.update(" ".join(REQUIREMENTS).encode())
    digest.update(f"{sys.version_info[:2]}".encode())
    root = VENVS / digest.hexdigest()[:16]
    python = root / "bin" / "python"
    marker = root / ".complete"
    VENVS.mkdir(exist_ok=True)
    with open(VENVS / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two runs at once build it once
        if marker.exists():
            return python
        shutil.rmtree(root, ignore_errors=True)
        base = getattr(sys, "_base_executable", sys.executable)
        _install(root, [base, "-m", "venv", str(root)], "create the service virtualenv")
        pip = [str(python), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
        _install(root, [*pip, "-c", str(CONSTRAINTS), *REQUIREMENTS], "install the services")
        marker.write_text(CONSTRAINTS.read_text())
    return python


def _install(root: Path, argv: list[str], what: str) -> None:
    try:
        result = subprocess.run(
            argv, capture_output=True, text=True, timeout=INSTALL_TIMEOUT, stdin=subprocess.DEVNULL
        )
    except subprocess.TimeoutExpired:
        shutil.rmtree(root, ignore_errors=True)
        skip_or_fail(f"cannot {what}: no result within {INSTALL_TIMEOUT:g} s", label=LABEL)
    if result.returncode != 0:
        shutil.rmtree(root, ignore_errors=True)
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
        skip_or_fail(f"cannot {what} (is the package index reachable?):\n{tail}", label=LABEL)


def redis_server() -> str:
    """Return the path of redis-server; skip (fail under CI) if it is not installed."""
    found = shutil.which("redis-server") or shutil.which("redis-server", path="/usr/sbin:/usr/bin")
    if not found:
        skip_or_fail(
            f"redis-server is not installed ({install_command('redis-server')})", label=LABEL
        )
    return str(found)


class RequestLog:
    """The JSON-lines request log a service wrote (tests/integration/servers/serve.py)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def records(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text().splitlines() if line]

    def mark(self) -> int:
        """Return a position: ``since(mark)`` gives the requests logged after it."""
        return len(self.records())

    def since(self, mark: int) -> list[dict[str, Any]]:
        return self.records()[mark:]

    def program(self, mark: int) -> list[dict[str, Any]]:
        """Return the program's requests logged since ``mark`` (by its User-Agent): not the
        test's own, not keystonemiddleware's token validations."""
        program = [r for r in self.since(mark) if not NOT_THE_PROGRAM.search(r["agent"])]
        # The program names itself in its User-Agent: nothing else may pass for it.
        assert all(r["agent"].startswith("os-collect-config/") for r in program), program
        return program


class Process:
    """One service process: output in ``<workdir>/<name>.log``, its own process group."""

    def __init__(self, name: str, argv: list[str], workdir: Path, env: dict[str, str]) -> None:
        self.name = name
        self.output = workdir / f"{name}.log"
        with open(self.output, "ab") as output:
            self.popen = subprocess.Popen(
                argv,
                cwd=workdir,
                env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", **env},
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def tail(self, lines: int = 30) -> str:
        try:
            text = self.output.read_text(errors="replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def wait_ready(self, ready: Callable[[], bool], timeout: float = START_TIMEOUT) -> None:
        """Return once ``ready()`` is true; fail if the process exits or the time runs out."""
        deadline = time.monotonic() + timeout
        while True:
            if self.popen.poll() is not None:
                pytest.fail(
                    f"{self.name} exited with status {self.popen.returncode} while starting:\n"
                    + self.tail(),
                    pytrace=False,
                )
            if ready():
                return
            if time.monotonic() > deadline:
                self.stop()
                pytest.fail(
                    f"{self.name} did not become ready within {timeout:g} s:\n" + self.tail(),
                    pytrace=False,
                )
            time.sleep(0.2)

    def stop(self) -> None:
        if self.popen.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(10)


def run_tool(argv: list[str], *, env: dict[str, str], cwd: Path, timeout: float = 180) -> None:
    """Run a service's command-line tool; fail with its output if it fails."""
    result = subprocess.run(
        argv,
        cwd=cwd,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    if result.returncode != 0:
        pytest.fail(
            f"{' '.join(argv[:3])} failed ({result.returncode}):\n{result.stdout}{result.stderr}",
            pytrace=False,
        )


def http_answers(url: str) -> bool:
    """Return True if ``url`` answers HTTP at all (any status)."""
    request = urllib.request.Request(url, headers={"User-Agent": SETUP_AGENT})
    try:
        with urllib.request.urlopen(request, timeout=2):
            return True
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def api(
    method: str,
    url: str,
    *,
    token: str | None = None,
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], Any]:
    """Make one JSON request as the test suite (User-Agent SETUP_AGENT); return the status,
    the headers and the parsed body (None if empty)."""
    all_headers = {"User-Agent": SETUP_AGENT, "Accept": "application/json", **(headers or {})}
    if token:
        all_headers["X-Auth-Token"] = token
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        all_headers["Content-Type"] = "application/json"
    request = urllib.request.Request(url, data=data, method=method, headers=all_headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, answer, text = response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        status, answer, text = error.code, dict(error.headers), error.read()
    return status, answer, json.loads(text) if text.strip() else None
