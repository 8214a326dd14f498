"""The configuration drive: parsing on fixtures, the mount sequence with stand-in commands, and
a real vfat image on a loop device where the machine allows it."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from occ.collectors.ec2 import config_drive
from tests import support
from tests.fakes.server import FakeServer, Reply

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "config_drive"
DRIVE = FIXTURES / "drive"
METADATA = json.loads((DRIVE / "ec2" / "latest" / "meta-data.json").read_text())
DEVICE = "/dev/occ-test-config-drive"  # never in the real /proc/mounts

# Stand-ins for blkid, mount and umount: they log their arguments, and "mounting" copies the
# drive's files into the mount point.
COMMANDS = {
    "blkid": """echo "blkid $*" >> "$OCC_FAKE_LOG"
[ -n "$OCC_FAKE_BLKID" ] && cat "$OCC_FAKE_BLKID"
exit "${OCC_FAKE_BLKID_EXIT:-0}"
""",
    "mount": """echo "mount $*" >> "$OCC_FAKE_LOG"
[ -n "$OCC_FAKE_MOUNT_FAIL" ] && { echo "mount: wrong fs type" >&2; exit 32; }
for last; do :; done
cp -R "$OCC_FAKE_DRIVE"/. "$last"
""",
    "umount": """echo "umount $*" >> "$OCC_FAKE_LOG"
for last; do :; done
case "$last" in */config-2-*) find "$last" -mindepth 1 -delete ;; *) exit 1 ;; esac
""",
}


class Commands:
    def __init__(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.bin = tmp_path / "bin"
        self.bin.mkdir()
        for name, body in COMMANDS.items():
            script = self.bin / name
            script.write_text("#!/bin/sh\n" + body)
            script.chmod(0o755)
        self.log = tmp_path / "commands.log"
        self.log.touch()
        self.blkid = tmp_path / "blkid.txt"
        self.blkid.write_text(f"DEVNAME=/dev/vda1\nTYPE=ext4\n\nDEVNAME={DEVICE}\n"
                              "LABEL=config-2\nTYPE=iso9660\n")  # fmt: skip
        self.tmp = tmp_path / "tmp"
        self.tmp.mkdir()
        self.monkeypatch = monkeypatch
        monkeypatch.setenv("PATH", f"{self.bin}:/usr/bin:/bin")
        monkeypatch.setenv("OCC_FAKE_LOG", str(self.log))
        monkeypatch.setenv("OCC_FAKE_BLKID", str(self.blkid))
        monkeypatch.setenv("OCC_FAKE_DRIVE", str(DRIVE))
        monkeypatch.setattr(tempfile, "tempdir", str(self.tmp))

    def calls(self) -> list[list[str]]:
        return [line.split() for line in self.log.read_text().splitlines()]

    def drive(self, path: Path) -> None:
        self.monkeypatch.setenv("OCC_FAKE_DRIVE", str(path))


@pytest.fixture
def commands(tmp_path, monkeypatch) -> Commands:
    return Commands(tmp_path, monkeypatch)


# --- parsing -----------------------------------------------------------------------------------


def test_parse_blkid_export_output():
    devices = config_drive.parse_blkid((FIXTURES / "blkid_export.txt").read_text())
    assert [d["DEVNAME"] for d in devices] == ["/dev/vda1", "/dev/vdb", "/dev/vdc", "/dev/sr0",
                                               "/dev/vdd"]  # fmt: skip
    assert devices[2]["LABEL"] == "my data"
    assert devices[3] == {
        "DEVNAME": "/dev/sr0",
        "UUID": "2026-11-25-10-00-00-00",
        "LABEL": "config-2",
        "BLOCK_SIZE": "2048",
        "TYPE": "iso9660",
    }


def test_first_config_2_device_with_vfat_or_iso9660_is_chosen():
    devices = config_drive.parse_blkid((FIXTURES / "blkid_export.txt").read_text())
    assert config_drive.find_device(devices) == "/dev/sr0"  # /dev/vdb is ext4
    assert config_drive.find_device(devices[-1:]) == "/dev/vdd"
    assert config_drive.find_device(devices[:3]) is None
    assert config_drive.find_device([{"LABEL": "config-2", "TYPE": "vfat"}]) is None
    assert config_drive.find_device(config_drive.parse_blkid("")) is None


def test_value_keeps_everything_after_the_first_equals_sign():
    (device,) = config_drive.parse_blkid("DEVNAME=/dev/x\nLABEL=a=b\\ c\n\n\n")
    assert device == {"DEVNAME": "/dev/x", "LABEL": "a=b c"}


def test_find_mount_matches_the_exact_device_and_decodes_escapes():
    mounts = (FIXTURES / "proc_mounts.txt").read_text()
    assert config_drive.find_mount(mounts, "/dev/sr0") == "/media/config drive"
    assert config_drive.find_mount(mounts, "/dev/sr") is None
    assert config_drive.find_mount(mounts, "/dev/vdd") is None
    assert config_drive.find_mount("", "/dev/sr0") is None


# --- the mount sequence, with stand-in commands ------------------------------------------------


def test_drive_is_mounted_read_only_read_and_unmounted(commands):
    assert config_drive.read_metadata() == METADATA
    (blkid, mount, umount) = commands.calls()
    assert blkid == ["blkid", "-o", "export"]
    mountpoint = mount[-1]
    assert mount == ["mount", "-o", "ro,nosuid,nodev,noexec", DEVICE, mountpoint]
    assert os.path.basename(mountpoint).startswith("config-2-")
    assert umount == ["umount", "-l", mountpoint]
    assert not os.path.exists(mountpoint)
    assert list(commands.tmp.iterdir()) == []


def test_existing_mount_is_used_and_left_mounted(commands, tmp_path):
    mounted = tmp_path / "already mounted"
    shutil.copytree(DRIVE, mounted)
    mounts = tmp_path / "mounts"
    escaped = str(mounted).replace(" ", "\\040")
    mounts.write_text(f"/dev/vda1 / ext4 rw 0 0\n{DEVICE} {escaped} iso9660 ro 0 0\n")
    assert config_drive.read_metadata(mounts_path=str(mounts)) == METADATA
    assert [call[0] for call in commands.calls()] == ["blkid"]
    assert (mounted / "ec2" / "latest" / "meta-data.json").exists()


@pytest.mark.parametrize("exit_status", [2, 4])
def test_blkid_failure_means_no_drive(commands, exit_status, monkeypatch):
    monkeypatch.setenv("OCC_FAKE_BLKID_EXIT", str(exit_status))
    assert config_drive.read_metadata() is None
    assert [call[0] for call in commands.calls()] == ["blkid"]


def test_no_blkid_means_no_drive(commands, monkeypatch):
    (commands.bin / "blkid").unlink()
    monkeypatch.setenv("PATH", str(commands.bin))
    assert config_drive.read_metadata() is None


def test_no_config_2_device_means_no_mount(commands):
    commands.blkid.write_text("DEVNAME=/dev/vda1\nLABEL=config-2\nTYPE=ext4\n")
    assert config_drive.read_metadata() is None
    assert [call[0] for call in commands.calls()] == ["blkid"]


def test_mount_failure_is_logged_and_cleaned_up(commands, monkeypatch, caplog):
    monkeypatch.setenv("OCC_FAKE_MOUNT_FAIL", "1")
    assert config_drive.read_metadata() is None
    assert [call[0] for call in commands.calls()] == ["blkid", "mount"]
    assert list(commands.tmp.iterdir()) == []
    assert "wrong fs type" in caplog.text


@pytest.mark.parametrize(
    ("content", "message"), [(None, "has no"), ("{not json", "cannot read"), ("", "cannot read")]
)
def test_missing_or_invalid_metadata_file_is_logged_and_unmounted(
    commands, tmp_path, caplog, content, message
):
    drive = tmp_path / "drive"
    (drive / "ec2" / "latest").mkdir(parents=True)
    if content is not None:
        (drive / "ec2" / "latest" / "meta-data.json").write_text(content)
    commands.drive(drive)
    assert config_drive.read_metadata() is None
    assert [call[0] for call in commands.calls()] == ["blkid", "mount", "umount"]
    assert message in caplog.text
    assert any(r.levelno == logging.WARNING for r in caplog.records)
    assert list(commands.tmp.iterdir()) == []


# --- through the ec2 collector -----------------------------------------------------------------


def test_ec2_prefers_the_drive_to_the_network(harness, commands):
    with FakeServer() as server:
        section = f"[ec2]\nmetadata_url = {server.url}/latest/meta-data\n"
        assert harness.collect("ec2", section) == [("ec2", METADATA)]
    assert server.requests == []


def test_ec2_falls_back_to_the_network_without_drive_metadata(harness, commands, tmp_path):
    empty = tmp_path / "empty-drive"
    empty.mkdir()
    commands.drive(empty)
    with FakeServer() as server:
        server.route("/latest/meta-data/", Reply(body="instance-id"))
        server.route("/latest/meta-data/instance-id", Reply(body="i-net"))
        section = f"[ec2]\nmetadata_url = {server.url}/latest/meta-data\nimdsv2 = off\n"
        assert harness.collect("ec2", section) == [("ec2", {"instance-id": "i-net"})]


def test_ec2_does_not_look_for_a_drive_when_told_not_to(harness, commands):
    with FakeServer() as server:
        server.route("/latest/meta-data/", Reply(body=""))
        section = (
            f"[ec2]\nmetadata_url = {server.url}/latest/meta-data\nimdsv2 = off\n"
            "config_drive = false\n"
        )
        assert harness.collect("ec2", section) == [("ec2", {})]
    assert commands.calls() == []


# --- a real file system ------------------------------------------------------------------------


def _run(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, check=False, timeout=60)


LOOP_LABEL = "VFAT CONFIG-DRIVE TEST"
LOOP_PACKAGES = {
    "losetup": "mount",
    "mount": "mount",
    "umount": "mount",
    "blkid": "util-linux",
    "mkfs.vfat": "dosfstools",
    "mcopy": "mtools",
}

# mount(8) for kernels without a vfat driver: the same device and options, mounted through
# FUSE by fusefat, and named after the device in /proc/mounts as a kernel mount would be.
FUSE_MOUNT = """#!/bin/sh
options=ro
if [ "$1" = "-o" ]; then options=$2; shift 2; fi
if [ $# -ne 2 ]; then
    echo "mount (fusefat stand-in): usage: mount [-o OPTIONS] DEVICE DIR" >&2
    exit 2
fi
exec fusefat -o "$options,fsname=$1" "$1" "$2"
"""


@pytest.fixture
def loop_drive(tmp_path, monkeypatch):
    """A vfat image labelled config-2 holding the fixture metadata, on a loop device.

    Where the kernel cannot mount vfat (no module, no modprobe, as in some containers), mount
    is replaced in PATH by a stand-in that mounts the same device through fusefat, so the
    real mount / read / umount sequence still runs against a real vfat file system.
    """
    if os.geteuid() != 0:
        support.skip_or_fail("needs root to attach a loop device and mount it", label=LOOP_LABEL)
    missing = sorted({package for tool, package in LOOP_PACKAGES.items() if not shutil.which(tool)})
    if missing:
        support.skip_or_fail(f"needs {support.install_command(*missing)}", label=LOOP_LABEL)
    if "LABEL=config-2" in _run("blkid", "-o", "export").stdout:
        # Not a missing prerequisite: CI cannot install its way out of this one.
        pytest.skip(f"{LOOP_LABEL} NOT RUN: this machine already has a config-2 device")
    image = tmp_path / "drive.img"
    with open(image, "wb") as handle:
        handle.truncate(4 * 1024 * 1024)
    made = _run("mkfs.vfat", "-n", "config-2", str(image))
    assert made.returncode == 0, made.stderr
    copied = _run("mcopy", "-s", "-i", str(image), str(DRIVE / "ec2"), "::/")
    assert copied.returncode == 0, copied.stderr
    attached = _run("losetup", "--find", "--show", str(image))
    if attached.returncode != 0:
        support.skip_or_fail(
            f"no loop device available: {attached.stderr.strip()}", label=LOOP_LABEL
        )
    device = attached.stdout.strip()
    stage = tmp_path / "stage"
    stage.mkdir()
    try:
        mounted = _run("mount", "-o", "ro", device, str(stage))
        if mounted.returncode == 0:
            assert _run("umount", str(stage)).returncode == 0
        elif shutil.which("fusefat"):
            shims = tmp_path / "bin"
            shims.mkdir()
            (shims / "mount").write_text(FUSE_MOUNT)
            (shims / "mount").chmod(0o755)
            monkeypatch.setenv("PATH", f"{shims}{os.pathsep}{os.environ['PATH']}")
        else:
            support.skip_or_fail(
                f"this kernel cannot mount vfat ({mounted.stderr.strip()}), and fusefat is "
                f"missing: {support.install_command('fusefat')}",
                label=LOOP_LABEL,
            )
        yield device, stage
    finally:
        # Every mount of the device, a leaked one included: a device left attached would make
        # the next run find "a config-2 device" and skip.
        with open("/proc/mounts") as mounts:
            for line in mounts.read().splitlines():
                if line.split()[0] == device:
                    _run("umount", "-l", config_drive.find_mount(line, device) or "")
        _run("losetup", "-d", device)
        for _ in range(50):  # a FUSE driver lets go of the device a moment after the unmount
            if "LABEL=config-2" not in _run("blkid", "-o", "export").stdout:
                break
            time.sleep(0.1)


def test_real_vfat_drive_on_a_loop_device(loop_drive, tmp_path, monkeypatch):
    device, stage = loop_drive
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    assert config_drive.read_metadata() == METADATA
    with open("/proc/mounts") as mounts:
        assert config_drive.find_mount(mounts.read(), device) is None
    assert not list(tmp_path.glob("config-2-*"))
    # Mounted already (by an operator or cloud-init): used in place and left mounted.
    assert _run("mount", "-o", "ro", device, str(stage)).returncode == 0
    assert config_drive.read_metadata() == METADATA
    with open("/proc/mounts") as mounts:
        assert config_drive.find_mount(mounts.read(), device) == str(stage)


# --- files on the drive that are not regular files (issue 9, item 7) ---------------------------


@pytest.mark.parametrize("kind", ["fifo", "link to /dev/zero"])
def test_a_metadata_file_that_is_not_a_regular_file_is_refused_at_once(
    commands, tmp_path, caplog, kind
):
    drive = tmp_path / "hostile-drive"
    (drive / "ec2" / "latest").mkdir(parents=True)
    target = drive / "ec2" / "latest" / "meta-data.json"
    if kind == "fifo":
        os.mkfifo(target)  # opening it for reading would wait for a writer forever
    else:
        target.symlink_to("/dev/zero")  # reading it would never end
    commands.drive(drive)
    started = time.monotonic()
    with caplog.at_level(logging.WARNING):
        assert config_drive.read_metadata() is None
    assert time.monotonic() - started < 10
    assert any("not a regular file" in r.getMessage() for r in caplog.records)
