"""The OpenStack configuration drive as a source of EC2 metadata
(doc/compatibility.rst, "Config drive").

Used by the ec2 collector before it asks the network: find the block device labelled
``config-2`` (vfat or iso9660) with ``blkid``, mount it read-only unless it is already mounted,
read ``ec2/latest/meta-data.json``, and unmount what we mounted. Parsing ``blkid -o export``
output and ``/proc/mounts`` is done by pure functions; mounting uses the external ``mount`` and
``umount`` commands (which need CAP_SYS_ADMIN and access to the block device).
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
from collections.abc import Iterator

from occ import jsonio
from occ.core import fsutil
from occ.log import lazy

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

LOG = lazy.logger(__name__)

LABEL = "config-2"
TYPES = ("vfat", "iso9660")
METADATA_PATH = os.path.join("ec2", "latest", "meta-data.json")
COMMAND_TIMEOUT = 30.0  # seconds; a wedged device must not hang the pass
MOUNT_OPTIONS = "ro,nosuid,nodev,noexec"
_MOUNTS_ESCAPE_RE = re.compile(r"\\([0-7]{3})")


def parse_blkid(text: str) -> list[dict[str, str]]:
    """Return one ``{NAME: value}`` per device of ``blkid -o export`` output.

    Devices are separated by blank lines; a value is everything after the first ``=``, with
    ``\\ `` turned into a space (blkid's escape for spaces in labels).
    """
    devices: list[dict[str, str]] = []
    current: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            if current:
                devices.append(current)
            current = {}
            continue
        name, sep, value = line.partition("=")
        if sep:
            current[name.strip()] = value.replace("\\ ", " ")
    if current:
        devices.append(current)
    return devices


def find_device(devices: list[dict[str, str]]) -> str | None:
    """Return the first device labelled ``config-2`` with a vfat or iso9660 file system."""
    for device in devices:
        if device.get("LABEL") == LABEL and device.get("TYPE") in TYPES and device.get("DEVNAME"):
            return device["DEVNAME"]
    return None


def find_mount(mounts: str, device: str) -> str | None:
    """Return where ``device`` is mounted according to ``/proc/mounts`` text, or None.

    Only a line whose first field is exactly ``device`` counts; octal escapes (``\\040`` for a
    space) in the mount point are decoded.
    """
    for line in mounts.splitlines():
        fields = line.split()
        if len(fields) >= 2 and fields[0] == device:
            return _MOUNTS_ESCAPE_RE.sub(lambda m: chr(int(m.group(1), 8)), fields[1])
    return None


def parse_metadata(data: bytes) -> Any:
    """Return the parsed ``meta-data.json`` (as ``json.loads`` reads it). Raise ValueError if
    it is not JSON, RecursionError if it nests too deeply."""
    return jsonio.loads_document(data)


def read_metadata(mounts_path: str = "/proc/mounts") -> Any:
    """Return the EC2 metadata of the configuration drive, or None if there is none or it
    cannot be read (the ec2 collector then asks the network). Never raises for a missing or
    broken drive; problems are logged."""
    device = _locate()
    if device is None:
        return None
    try:
        with _mounted(device, mounts_path) as mountpoint:
            return _read(os.path.join(mountpoint, METADATA_PATH))
    except (OSError, subprocess.SubprocessError) as exc:
        LOG.warning(
            "ec2: cannot mount the configuration drive %s (%s); trying the network", device, exc
        )
        return None


def _locate() -> str | None:
    try:
        done = _run(["blkid", "-o", "export"])
    except (OSError, subprocess.SubprocessError) as exc:
        LOG.debug("ec2: blkid unusable (%s); no configuration drive", exc)
        return None
    if done.returncode != 0:  # 2: no device identified, the usual case in containers
        LOG.debug("ec2: blkid found no block devices (exit %d)", done.returncode)
        return None
    device = find_device(parse_blkid(done.stdout))
    LOG.debug("ec2: configuration drive: %s", device or "none")
    return device


@contextlib.contextmanager
def _mounted(device: str, mounts_path: str) -> Iterator[str]:
    """Yield a mount point of ``device``: an existing one (left mounted), or a private
    read-only one that is unmounted and removed afterwards."""
    mounts = fsutil.read_bytes(mounts_path) or b""
    existing = find_mount(mounts.decode("utf-8", "surrogateescape"), device)
    if existing is not None:
        yield existing
        return
    import tempfile  # only to mount a drive: it loads shutil, random and the compressors

    mountpoint = tempfile.mkdtemp(prefix="config-2-")
    try:
        _check(_run(["mount", "-o", MOUNT_OPTIONS, device, mountpoint]), "mount")
        try:
            yield mountpoint
        finally:
            # Lazy: a reader still holding a file must not keep the drive attached.
            done = _run(["umount", "-l", mountpoint])
            if done.returncode != 0:
                LOG.warning("ec2: umount %s failed: %s", mountpoint, done.stderr.strip())
    finally:
        with contextlib.suppress(OSError):
            os.rmdir(mountpoint)


def _read(path: str) -> Any:
    try:
        # Never follow a link off the drive, block on a FIFO or read a device on it.
        data = fsutil.read_bytes(path, follow=False)
        if data is None:
            raise FileNotFoundError(path)
        return parse_metadata(data)
    except FileNotFoundError:
        LOG.warning("ec2: the configuration drive has no %s; trying the network", METADATA_PATH)
    except (OSError, ValueError, RecursionError) as exc:
        LOG.warning("ec2: cannot read %s from the configuration drive (%s)", METADATA_PATH, exc)
    return None


def _run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        check=False,
        env={**os.environ, "LC_ALL": "C"},
    )


def _check(done: subprocess.CompletedProcess[str], what: str) -> None:
    if done.returncode != 0:
        raise OSError(f"{what} exited with status {done.returncode}: {done.stderr.strip()}")
