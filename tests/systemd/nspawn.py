"""A throw-away systemd: systemd-nspawn booted on an overlay of ``/``.

The overlay's lower layer is the host's root, so the container runs the host's systemd and
Python; everything the tests install or change lands in a temporary upper directory and is gone
after ``teardown``. ``--private-network`` leaves the container only its own ``lo``, where a fake
metadata service may bind 169.254.169.254 without touching the host's network.

Each container gets its own cgroup subtree: with ``--keep-unit`` on a host whose PID 1 is not
systemd, nspawn puts the container below the caller's cgroup, and two containers started from
the same cgroup would share (and break) each other's ``system.slice``.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Callable

# Host services that only slow the container's boot or run maintenance inside it.
MASK = (
    "postgresql.service",
    "e2scrub_reap.service",
    "apt-daily.timer",
    "apt-daily-upgrade.timer",
    "dpkg-db-backup.timer",
    "e2scrub_all.timer",
    "fstrim.timer",
    "man-db.timer",
    "logrotate.timer",
)


class Unavailable(Exception):
    """This machine cannot boot a container (not root, no nspawn, no overlayfs ...)."""


def unavailable_reason() -> str | None:
    """Return why no container can be booted here, or None if it can."""
    if os.geteuid() != 0:
        return "needs root (systemd-nspawn and overlay mounts)"
    for command in ("systemd-nspawn", "nsenter", "mount", "umount"):
        if shutil.which(command) is None:
            return f"{command} is not installed (apt-get install systemd-container util-linux)"
    if "overlay" not in Path("/proc/filesystems").read_text():
        return "the kernel has no overlayfs"
    return None


def _cgroup_hierarchies() -> list[Path]:
    base = Path("/sys/fs/cgroup")
    if (base / "cgroup.controllers").exists():  # unified hierarchy only
        return [base]
    return [p for p in (base / "unified", base / "systemd") if p.is_dir()]


class Container:
    """One booted container. ``run`` executes a command inside it (as root, all namespaces)."""

    def __init__(self) -> None:
        tmp = os.environ.get("TMPDIR", tempfile.gettempdir())
        self.base = Path(tempfile.mkdtemp(prefix="occ-nspawn.", dir=tmp))
        self.root = self.base / "root"
        # A machine name is letters, digits and '-' only; mkdtemp's suffix may contain '_'.
        self.name = re.sub(r"[^A-Za-z0-9-]", "-", self.base.name)
        self.console = self.base / "console.log"
        self.nspawn: subprocess.Popen | None = None
        self.pid1: int | None = None
        self.cgroups: list[Path] = []
        self.started = time.monotonic()

    # -- set-up ---------------------------------------------------------------------------
    def mount_overlay(self) -> None:
        """Mount the overlay of / on ``root``. Raise Unavailable if that is impossible."""
        if _fstype(self.base) in ("overlay", "overlayfs"):
            raise Unavailable(f"{self.base} is on overlayfs; set TMPDIR to another file system")
        for name in ("upper", "work", "root"):
            (self.base / name).mkdir()
        options = f"lowerdir=/,upperdir={self.base}/upper,workdir={self.base}/work"
        result = subprocess.run(
            ["mount", "-t", "overlay", "overlay", "-o", options, str(self.root)],
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise Unavailable(f"cannot mount an overlay of /: {result.stderr.strip()}")

    def mask(self, units: tuple[str, ...] = MASK) -> None:
        system = self.root / "etc/systemd/system"
        for unit in units:
            link = system / unit
            if link.exists() or link.is_symlink():
                link.unlink()
            link.symlink_to("/dev/null")

    def boot(self, timeout: float = 60) -> None:
        """Boot the container and wait until systemd reports running (or degraded)."""
        self.cgroups = [h / self.name for h in _cgroup_hierarchies()]
        for cgroup in self.cgroups:
            cgroup.mkdir()
        command = [
            "systemd-nspawn",
            f"--directory={self.root}",
            "--boot",
            "--console=pipe",
            "--private-network",
            "--register=no",
            "--link-journal=no",
            "--keep-unit",
            f"--machine={self.name}",
            f"--uuid={uuid.uuid4().hex}",
        ]
        with open(self.console, "wb") as console:
            self.nspawn = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=console,
                stderr=subprocess.STDOUT,
                preexec_fn=self._enter_cgroups,
            )
        self.pid1 = self._wait(timeout, self._find_pid1, "container PID 1")
        self._wait(timeout, self._booted, "systemd in the container to finish booting")

    def _enter_cgroups(self) -> None:  # runs in the child between fork and exec
        for cgroup in self.cgroups:
            (cgroup / "cgroup.procs").write_text(str(os.getpid()))

    def _find_pid1(self) -> int | None:
        assert self.nspawn is not None
        if self.nspawn.poll() is not None:
            tail = self.console.read_text(errors="replace").strip().splitlines()[-15:]
            raise RuntimeError(
                f"systemd-nspawn exited with {self.nspawn.returncode}; its last output:\n"
                + "\n".join(tail)
            )
        own = os.readlink("/proc/self/ns/pid")
        for child in _children(self.nspawn.pid):
            try:
                if os.readlink(f"/proc/{child}/ns/pid") != own:
                    return child
            except OSError:
                continue
        return None

    def _booted(self) -> bool:
        state = self.run("systemctl", "is-system-running", check=False).stdout.strip()
        return state in ("running", "degraded")

    def _wait(self, timeout: float, probe: Callable, what: str):  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = probe()
            if value:
                return value
            time.sleep(0.1)
        raise RuntimeError(f"timed out after {timeout:.0f}s waiting for {what}")

    # -- use ------------------------------------------------------------------------------
    def run(
        self, *command: str, check: bool = True, input: str | None = None, timeout: float = 60
    ) -> subprocess.CompletedProcess:
        """Run ``command`` inside the container. Raise CalledProcessError if check and it fails."""
        assert self.pid1 is not None
        result = subprocess.run(
            ["nsenter", "-t", str(self.pid1), "-a", *command],
            capture_output=True,
            text=True,
            input=input,
            timeout=timeout,
        )
        if check and result.returncode != 0:
            raise subprocess.CalledProcessError(
                result.returncode, command, result.stdout, result.stderr
            )
        return result

    def sh(self, script: str, check: bool = True) -> subprocess.CompletedProcess:
        return self.run("/bin/sh", "-c", script, check=check)

    def wait_for(self, timeout: float, what: str, probe: Callable[[], object]) -> object:
        """Poll ``probe`` every 0.2 s until it returns something true; return that.

        Raise AssertionError naming ``what`` after ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        while True:
            value = probe()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout:.0f}s waiting for: {what}")
            time.sleep(0.2)

    def journal(self, *args: str) -> str:
        return self.run("journalctl", "--no-pager", *args, check=False).stdout

    # -- tear-down ------------------------------------------------------------------------
    def save_logs(self, destination: Path) -> list[Path]:
        """Copy the container's journal and console log to ``destination``; return the files."""
        saved = []
        if self.pid1 is not None and self.nspawn is not None and self.nspawn.poll() is None:
            path = destination.with_name(destination.name + ".journal.log")
            path.write_text(self.journal("-o", "short-precise"))
            saved.append(path)
        if self.console.exists():
            path = destination.with_name(destination.name + ".console.log")
            shutil.copy(self.console, path)
            saved.append(path)
        return saved

    def teardown(self) -> None:
        """Stop the container, unmount the overlay, remove cgroups and files. Never raises."""
        if self.nspawn is not None and self.nspawn.poll() is None:
            self.nspawn.terminate()  # nspawn asks the container's systemd to power off
            try:
                self.nspawn.wait(10)
            except subprocess.TimeoutExpired:
                self.nspawn.kill()
                self.nspawn.wait(10)
        unmounted = (
            not os.path.ismount(self.root)
            or not subprocess.run(["umount", str(self.root)], capture_output=True).returncode
        )
        if not unmounted:
            subprocess.run(["umount", "-l", str(self.root)], capture_output=True)
        for cgroup in self.cgroups:
            for directory in sorted(cgroup.glob("**/"), key=lambda p: -len(p.parts)):
                with contextlib.suppress(OSError):
                    directory.rmdir()
        if not os.path.ismount(self.root):
            shutil.rmtree(self.base, ignore_errors=True)


def _fstype(path: Path) -> str:
    result = subprocess.run(["stat", "-fc", "%T", str(path)], capture_output=True, text=True)
    return result.stdout.strip()


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


class TerminateAsInterrupt:
    """While active, SIGTERM (CI's timeout) raises KeyboardInterrupt, so tear-down runs."""

    def __enter__(self) -> TerminateAsInterrupt:
        self.previous = signal.signal(signal.SIGTERM, self._raise)
        return self

    def __exit__(self, *exc: object) -> None:
        signal.signal(signal.SIGTERM, self.previous)

    @staticmethod
    def _raise(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")


def boot(prepare: Callable[[Container], None], *, attempts: int = 2) -> Container:
    """Return a container booted after ``prepare`` installed what the scenario needs. A boot
    that fails is reported and tried once more on a fresh overlay (nspawn on a busy CI host
    fails now and then); the second failure is final. A machine that cannot boot one at all
    skips the scenario loudly (fails under CI)."""
    from tests import support  # pytest-dependent; this module also runs without pytest

    for attempt in range(1, attempts + 1):
        container = Container()
        try:
            try:
                container.mount_overlay()
            except Unavailable as exc:
                support.skip_or_fail(str(exc))
            prepare(container)
            container.boot()
            return container
        except RuntimeError as exc:
            container.teardown()
            if attempt == attempts:
                raise
            print(f"\nnspawn: boot attempt {attempt} failed, trying again: {exc}", flush=True)
        except BaseException:
            container.teardown()
            raise
    raise AssertionError("unreachable")


@contextlib.contextmanager
def scenario(request, prepare: Callable[[Container], None]):
    """Yield a booted container for a module's scenario (a module-scoped fixture's body); if
    any test failed meanwhile, print where its journal and console were saved; tear down."""
    from tests import support

    reason = unavailable_reason()
    if reason:
        support.skip_or_fail(reason)
    failed_before = request.session.testsfailed
    with TerminateAsInterrupt():
        container = boot(prepare)
        try:
            yield container
        finally:
            if request.session.testsfailed != failed_before:
                for path in container.save_logs(container.base):
                    print(f"\nnspawn: saved {path}")
            container.teardown()
