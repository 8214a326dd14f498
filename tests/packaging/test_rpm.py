"""The RPM spec, linted: it ships every unit of systemd/ and enables only installable ones.

No RPM is built here (no rpmbuild on the Debian CI machine); when ``rpmspec`` happens to be
installed, the spec is also parsed by it.
"""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from tests.systemd import support

SPEC = support.REPO / "packaging/rpm/os-collect-config.spec"
SYSTEMD = support.REPO / "systemd"
UNITS = {p.name for p in SYSTEMD.iterdir() if p.suffix in (".service", ".timer", ".path")}


def section(name: str) -> str:
    text = SPEC.read_text()
    match = re.search(rf"^%{name}\n(.*?)(?=^%[a-z]+\n|\Z)", text, re.M | re.S)
    assert match, name
    return match.group(1)


def test_files_lists_every_shipped_unit():
    listed = set(re.findall(r"%\{_unitdir\}/(\S+)", section("files")))
    assert listed == UNITS


def test_scriptlets_name_only_units_with_an_install_section():
    for scriptlet in ("post", "preun", "postun"):
        named = set(
            re.findall(r"os-collect-config[\w.-]*\.(?:timer|path|service)", section(scriptlet))
        )
        assert named, scriptlet
        for unit in named:
            assert "[Install]" in (SYSTEMD / unit).read_text(), (scriptlet, unit)
    assert "postun_with_restart" not in SPEC.read_text()  # a restart would fire a pass


def test_every_file_the_install_step_reads_exists():
    install = section("install")
    for path in re.findall(r"(?<![\w/}-])(?:systemd|etc|doc)/[\w./-]+", install):
        if "*" not in path:
            assert (support.REPO / path).exists(), path
    assert (support.REPO / "doc/os-collect-config.8.rst").exists()


def test_config_is_noreplace():
    assert "%config(noreplace) %{_sysconfdir}/os-collect-config.conf" in section("files")


@pytest.mark.skipif(shutil.which("rpmspec") is None, reason="rpmspec not installed (optional)")
def test_rpmspec_parses_the_spec():
    result = subprocess.run(["rpmspec", "-P", str(SPEC)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
