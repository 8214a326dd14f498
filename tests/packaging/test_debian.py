"""The Debian package: built from packaging/debian with the real toolchain, then inspected.

The build takes a few seconds. It needs dpkg-dev, debhelper, dh-python, python3-all,
python3-setuptools and python3-docutils; without them the test skips loudly (fails under CI).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.systemd import support

REPO = support.REPO
TOOLS = {
    "dpkg-buildpackage": "dpkg-dev",
    "dh": "debhelper",
    "dh_python3": "dh-python",
    "rst2man": "python3-docutils",
}
UNITS = sorted(
    p.name for p in (REPO / "systemd").iterdir() if p.suffix in (".service", ".timer", ".path")
)


@pytest.fixture(scope="module")
def deb(tmp_path_factory) -> Path:
    missing = [pkg for tool, pkg in TOOLS.items() if shutil.which(tool) is None]
    if missing:
        support.skip_or_fail(
            f"cannot build the Debian package: apt-get install {' '.join(missing)}"
        )
    base = tmp_path_factory.mktemp("deb")
    source = base / "occ"
    ignore = shutil.ignore_patterns(
        ".git", "__pycache__", ".*_cache", ".tox", "build", "dist", "*.egg-info", "tests"
    )
    shutil.copytree(REPO, source, symlinks=True, ignore=ignore)
    shutil.copytree(REPO / "packaging/debian", source / "debian", symlinks=True)
    result = subprocess.run(
        ["dpkg-buildpackage", "-us", "-uc", "-b"],
        cwd=source,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    (package,) = base.glob("os-collect-config_*_all.deb")
    return package


def contents(deb: Path) -> dict[str, str]:
    """Return path -> mode string of every entry in the package."""
    listing = subprocess.run(["dpkg-deb", "-c", str(deb)], capture_output=True, text=True)
    entries = {}
    for line in listing.stdout.splitlines():
        fields = line.split()
        entries[fields[5].removeprefix(".")] = fields[0]
    return entries


def control(deb: Path, name: str) -> str:
    return subprocess.run(
        ["dpkg-deb", "-I", str(deb), name],
        capture_output=True,
        text=True,
    ).stdout


def test_units_generator_tmpfiles_and_dropins_are_installed(deb):
    files = contents(deb)
    for unit in UNITS:
        assert f"/lib/systemd/system/{unit}" in files
    generator = "/lib/systemd/system-generators/os-collect-config-generator"
    assert files[generator].startswith("-rwx")
    assert "/usr/lib/tmpfiles.d/os-collect-config.conf" in files
    assert "/usr/share/os-collect-config/systemd/config-drive.conf" in files
    assert "/usr/share/os-collect-config/systemd/systemd-pre-243.conf" in files
    # none of the optional drop-ins is active by default
    assert not [f for f in files if ".service.d/" in f]


def test_program_man_page_and_config_are_installed(deb):
    files = contents(deb)
    assert files["/usr/bin/os-collect-config"].startswith("-rwx")
    assert "/usr/lib/python3/dist-packages/occ/generator.py" in files
    assert "/usr/share/man/man8/os-collect-config.8.gz" in files
    assert "/etc/os-collect-config.conf" in control(deb, "conffiles")


def test_only_the_timer_and_path_units_are_enabled_and_started(deb):
    postinst = control(deb, "postinst")
    for unit in (
        "os-collect-config.timer",
        "os-collect-config.path",
        "os-collect-config-reload.path",
    ):
        assert f"deb-systemd-helper enable '{unit}'" in postinst
    for static in ("os-collect-config.service", "os-collect-config-hook.service", "burst.timer"):
        assert static not in postinst
    assert "systemd-tmpfiles" in postinst


def test_runtime_dependencies(deb):
    fields = control(deb, "control")
    depends = next(line for line in fields.splitlines() if line.startswith("Depends:"))
    assert "python3-requests" in depends and "python3-dateutil" in depends
    assert "python3-systemd" not in depends  # optional: <N>-prefixed stderr without it
