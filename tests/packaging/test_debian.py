"""The Debian package: built from packaging/debian with the real toolchain, then inspected.

The build (tests/packaging/builders.py, once per session) takes a few seconds. It needs the
packages tests/prerequisites.txt lists for it; without them the test skips loudly (fails under
CI). lintian must find no error and no warning.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.packaging import builders
from tests.systemd import support

REPO = support.REPO
UNITS = sorted(
    p.name for p in (REPO / "systemd").iterdir() if p.suffix in (".service", ".timer", ".path")
)


@pytest.fixture(scope="module")
def deb(tmp_path_factory) -> Path:
    return builders.deb(tmp_path_factory)


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


def test_only_the_polling_units_get_snippets_and_migration_enables_them(deb):
    postinst = control(deb, "postinst")
    for unit in builders.POLLING_UNITS:
        # --no-enable: deb-systemd-helper only records the state (for purge) ...
        assert f"deb-systemd-helper update-state '{unit}'" in postinst
        assert f"deb-systemd-helper --quiet was-enabled '{unit}'" in postinst
    for static in ("os-collect-config.service", "os-collect-config-hook.service", "burst.timer"):
        assert static not in postinst
    assert "systemd-tmpfiles" in postinst
    # ... and the migration script, after debhelper's snippets, enables on a fresh install.
    assert postinst.index("deb-systemd-invoke") < postinst.index(f"{builders.MIGRATE} --enable")
    assert contents(deb)[builders.MIGRATE].startswith("-rwx")


def test_purge_removes_only_occs_own_state(deb):
    postrm = control(deb, "postrm")
    assert "deb-systemd-helper purge" in postrm
    assert "rm -rf /var/lib/os-collect-config/.occ\n" in postrm
    assert "rm -rf /var/lib/os-collect-config\n" not in postrm


def test_takes_over_the_command_from_debians_original(deb):
    fields = control(deb, "control")
    assert "Breaks: python3-os-collect-config" in fields
    assert "Replaces: python3-os-collect-config" in fields


def test_the_launcher_is_the_plain_one(deb, tmp_path):
    subprocess.run(["dpkg-deb", "-x", str(deb), str(tmp_path)], check=True)
    installed = (tmp_path / "usr/bin/os-collect-config").read_text()
    assert installed == (REPO / "packaging/common/os-collect-config").read_text()
    assert "from occ.cli.entry import run" in installed
    code = "\n".join(line for line in installed.splitlines() if not line.startswith("#"))
    assert "importlib" not in code and "pkg_resources" not in code


def test_lintian_finds_no_error_and_no_warning(tmp_path_factory):
    if subprocess.run(["which", "lintian"], capture_output=True).returncode:
        support.skip_or_fail(
            f"lintian is not installed ({support.install_command('lintian')})",
            label="DEBIAN PACKAGE LINT TEST",
        )
    changes = builders.changes(tmp_path_factory)
    result = subprocess.run(
        ["lintian", "--fail-on", "error,warning", str(changes)],
        capture_output=True,
        text=True,
        env={"PATH": builders.SYSTEM_PATH, "LANG": "C.UTF-8"},
        timeout=600,
    )
    tags = [line for line in result.stdout.splitlines() if line[:2] in ("E:", "W:")]
    assert tags == [] and result.returncode == 0, result.stdout + result.stderr


def test_runtime_dependencies(deb):
    fields = control(deb, "control")
    depends = next(line for line in fields.splitlines() if line.startswith("Depends:"))
    assert "python3-requests" in depends and "python3-dateutil" in depends
    assert "python3-systemd" not in depends  # optional: <N>-prefixed stderr without it
