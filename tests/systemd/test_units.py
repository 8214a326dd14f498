"""Static checks of the shipped units: systemd-analyze verify and security, no boot needed.

``systemd-analyze verify`` exits 0 for unknown keys and unparsable values, so these tests fail on
any output at all. Commands are resolved inside a scratch root that holds the standard units and
stub executables, so the checks run unprivileged and without the program installed.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from occ import generator
from tests.systemd import support

UNITS = support.REPO / "systemd"
UNIT_FILES = sorted(
    p for p in UNITS.iterdir() if p.suffix in (".service", ".timer", ".path") and p.is_file()
)
DROPINS = support.REPO / "systemd" / "dropins"


@pytest.fixture(autouse=True)
def _systemd_analyze() -> None:
    if not support.have_systemd_analyze():
        support.skip_or_fail("systemd-analyze is not installed (apt-get install systemd)")


def scratch_root(tmp_path: Path, dropins: dict[str, list[Path]] | None = None) -> Path:
    """Return a root with the system's standard units, ours, our drop-ins and stub commands."""
    root = tmp_path / "root"
    system = root / "etc/systemd/system"
    system.mkdir(parents=True)
    shutil.copytree(support.system_unit_dir(), root / "usr/lib/systemd/system", symlinks=True)
    for unit in UNIT_FILES:
        shutil.copy(unit, system)
    for unit, files in (dropins or {}).items():
        (system / f"{unit}.d").mkdir(exist_ok=True)
        for dropin in files:
            shutil.copy(dropin, system / f"{unit}.d")
    for command in ("usr/bin/os-collect-config", "usr/bin/systemctl", "usr/bin/python3", "bin/sh"):
        stub = root / command
        stub.parent.mkdir(parents=True, exist_ok=True)
        stub.write_text("#!/bin/sh\n")
        stub.chmod(0o755)
    return root


def verify(root: Path) -> str:
    units = sorted(str(p) for p in (root / "etc/systemd/system").glob("os-collect-config*"))
    units = [u for u in units if not u.endswith(".d")]
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", f"--root={root}", *units],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return (result.stdout + result.stderr).strip() + ("" if result.returncode == 0 else " (rc)")


def test_every_shipped_unit_is_checked():
    names = {p.name for p in UNIT_FILES}
    assert {
        "os-collect-config.service",
        "os-collect-config-hook.service",
        "os-collect-config.timer",
        "os-collect-config-burst.timer",
        "os-collect-config.path",
        "os-collect-config-reload.path",
        "os-collect-config-reload.service",
    } <= names


def test_units_verify_without_any_output(tmp_path):
    assert verify(scratch_root(tmp_path)) == ""


def test_verify_catches_a_misspelt_key(tmp_path):
    """The gate itself works: a typo in a drop-in produces output."""
    typo = tmp_path / "typo.conf"
    typo.write_text("[Service]\nProtectSytem=strict\n")
    root = scratch_root(tmp_path, {"os-collect-config.service": [typo]})
    assert "Unknown key" in verify(root)


@pytest.mark.parametrize("dropin", ["config-drive.conf", "systemd-pre-243.conf"])
def test_shipped_dropins_verify_without_any_output(tmp_path, dropin):
    root = scratch_root(tmp_path, {"os-collect-config.service": [DROPINS / dropin]})
    assert verify(root) == ""


def test_generated_timer_dropins_verify_without_any_output(tmp_path):
    config = generator.load({"HOME": str(tmp_path)})
    out = tmp_path / "generated"
    generator.write(str(out), generator.render(config))
    root = scratch_root(
        tmp_path,
        {
            generator.TIMER: [out / f"{generator.TIMER}.d" / generator.DROPIN_NAME],
            generator.BURST_TIMER: [out / f"{generator.BURST_TIMER}.d" / generator.DROPIN_NAME],
        },
    )
    assert verify(root) == ""


def security(unit: Path, threshold: int) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["systemd-analyze", "security", "--offline=true", f"--threshold={threshold}", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=unit.parent,
    )


def exposure(result: subprocess.CompletedProcess) -> float:
    match = re.search(r"Overall exposure level for \S+: ([0-9.]+)", result.stdout)
    assert match, result.stdout + result.stderr
    return float(match.group(1))


def test_collector_unit_exposure_is_at_most_2_0():
    result = security(UNITS / "os-collect-config.service", 20)
    assert result.returncode == 0, result.stdout
    assert exposure(result) <= 2.0


def test_config_drive_profile_stays_ok(tmp_path):
    """The opt-in config-drive drop-in adds only what mounting needs (measured 2.2)."""
    unit = tmp_path / "os-collect-config.service"
    shutil.copy(UNITS / unit.name, unit)
    (tmp_path / f"{unit.name}.d").mkdir()
    shutil.copy(DROPINS / "config-drive.conf", tmp_path / f"{unit.name}.d")
    result = security(unit, 25)
    assert result.returncode == 0, result.stdout
    assert "CAP_SYS_ADMIN" in result.stdout
    assert 1.6 < exposure(result) <= 2.5


def test_security_gate_fails_an_unhardened_unit(tmp_path):
    unit = tmp_path / "os-collect-config.service"
    unit.write_text("[Service]\nType=oneshot\nExecStart=/usr/bin/os-collect-config collect\n")
    assert security(unit, 20).returncode != 0


def service_directives(path: Path) -> list[tuple[int, str]]:
    """Return (line number, line) of every setting in the [Service] section."""
    found, section = [], None
    for number, line in enumerate(path.read_text().splitlines()):
        if line.startswith("["):
            section = line
        elif line and not line.startswith("#") and section == "[Service]":
            found.append((number, line))
    return found


@pytest.mark.parametrize("name", ["os-collect-config.service", "dropins/config-drive.conf"])
def test_every_directive_of_the_collector_sandbox_has_a_reason(name):
    """Each [Service] setting belongs to a block of settings that starts with a comment."""
    lines = (UNITS / name).read_text().splitlines()
    unexplained = []
    for number, line in service_directives(UNITS / name):
        above = number - 1
        while above >= 0 and lines[above] and not lines[above].startswith(("#", "[")):
            above -= 1
        if above < 0 or not lines[above].startswith("#"):
            unexplained.append(line)
    assert service_directives(UNITS / name)
    assert unexplained == []


def test_units_name_the_man_page():
    for unit in UNIT_FILES:
        assert "Documentation=man:os-collect-config(8)" in unit.read_text(), unit.name


def test_generator_wrapper_is_executable_and_runs_the_module():
    wrapper = UNITS / "os-collect-config-generator"
    assert os.access(wrapper, os.X_OK)
    assert "-m occ.generator" in wrapper.read_text()
