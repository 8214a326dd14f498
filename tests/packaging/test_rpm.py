"""The RPM: the spec read as text, then built and inspected.

Debian's CI cannot build on Fedora or EL: tests/packaging/builders.py runs ``rpmbuild -bb
--nodeps`` with packaging/rpm/ci/macros.debian standing in for the Fedora macros Debian lacks,
and the package is checked with ``rpm -q`` queries and ``rpmlint`` with
packaging/rpm/ci/rpmlint.toml (0 errors, 0 warnings).
"""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from tests.packaging import builders
from tests.systemd import support

SPEC = support.REPO / "packaging/rpm/os-collect-config.spec"
SYSTEMD = support.REPO / "systemd"
UNITS = {p.name for p in SYSTEMD.iterdir() if p.suffix in (".service", ".timer", ".path")}


SECTIONS = "description|prep|generate_buildrequires|build|install|check|pre|post|preun|postun|"
SECTIONS += "pretrans|posttrans|files|changelog|package"


def section(name: str) -> str:
    text = SPEC.read_text()
    match = re.search(
        rf"^%{name}(?: [^\n]*)?\n(.*?)(?=^%(?:{SECTIONS})(?: [^\n]*)?\n|\Z)", text, re.M | re.S
    )
    assert match, name
    return match.group(1)


def test_files_lists_every_shipped_unit():
    listed = set(re.findall(r"%\{_unitdir\}/(\S+)", section("files")))
    assert listed == UNITS


def test_scriptlets_name_only_the_polling_units():
    text = SPEC.read_text()
    match = re.search(r"^%global polling_units (.*)$", text, re.M)
    assert match
    assert match.group(1).split() == list(builders.POLLING_UNITS)
    for unit in builders.POLLING_UNITS:
        assert "[Install]" in (SYSTEMD / unit).read_text(), unit
    for scriptlet in ("post", "preun", "postun"):
        assert re.search(r"^%systemd_\w+ %\{polling_units\}$", section(scriptlet), re.M), scriptlet
    assert "postun_with_restart" not in text  # a restart would fire a pass


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


@pytest.fixture(scope="module")
def rpm(tmp_path_factory):
    return builders.rpm(tmp_path_factory)


def query(rpm, *options: str) -> str:
    result = subprocess.run(["rpm", "-qp", *options, str(rpm)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_rpm_ships_units_generator_tmpfiles_man_page_launcher_and_migration(rpm):
    files = set(query(rpm, "-l").split())
    for unit in UNITS:
        assert f"/usr/lib/systemd/system/{unit}" in files
    assert "/usr/lib/systemd/system-generators/os-collect-config-generator" in files
    assert "/usr/lib/tmpfiles.d/os-collect-config.conf" in files
    assert "/usr/share/man/man8/os-collect-config.8.gz" in files
    assert "/usr/share/os-collect-config/systemd/config-drive.conf" in files
    assert {"/usr/bin/os-collect-config", builders.MIGRATE, "/etc/os-collect-config.conf"} <= files
    assert any(f.endswith("/site-packages/occ/cli/entry.py") for f in files)
    assert any(
        f.endswith(f"os_collect_config_systemd-{builders.version()}.dist-info") for f in files
    )


def test_rpm_config_is_noreplace(rpm):
    assert query(rpm, "--configfiles").split() == ["/etc/os-collect-config.conf"]
    flags = query(rpm, "--qf", "[%{FILEFLAGS:fflags} %{FILENAMES}\\n]")
    assert "cn /etc/os-collect-config.conf" in flags  # c: config, n: noreplace


def test_rpm_scriptlets_name_the_polling_units_and_migrate_after_the_transaction(rpm):
    scripts = query(rpm, "--scripts")
    parts = re.split(r"^(\w+) scriptlet \(using /bin/sh\):$", scripts, flags=re.M)
    named = dict(zip(parts[1::2], parts[2::2]))
    post, preun, posttrans = named["postinstall"], named["preuninstall"], named["posttrans"]
    units = " ".join(builders.POLLING_UNITS)
    assert f"install-system-units {units}" in post
    assert "systemd-tmpfiles --create os-collect-config.conf" in post
    assert f"remove-system-units {units}" in preun
    assert f"{builders.MIGRATE} || :" in posttrans
    assert "os-collect-config.service" not in scripts  # static: started by the polling units


def test_rpm_requires_python_and_its_libraries(rpm):
    requires = query(rpm, "--requires").splitlines()
    assert "/usr/bin/python3" in requires  # the launcher's interpreter
    assert any(r.startswith("python(abi) = 3.") for r in requires)
    assert any(re.match(r"python3\.\d+dist\(requests\) >= 2\.25", r) for r in requires)
    assert any(re.match(r"python3\.\d+dist\(python-dateutil\)", r) for r in requires)
    assert not any("systemd-python" in r or "websocket" in r for r in requires)  # extras


def test_rpm_launcher_is_the_plain_one(rpm, tmp_path):
    cpio = subprocess.run(["rpm2cpio", str(rpm)], capture_output=True, check=True).stdout
    subprocess.run(
        ["cpio", "-idm", "--quiet", "./usr/bin/os-collect-config"],
        input=cpio,
        cwd=tmp_path,
        check=True,
    )
    launcher = (tmp_path / "usr/bin/os-collect-config").read_text()
    assert launcher == (support.REPO / "packaging/common/os-collect-config").read_text()


def test_rpmlint_finds_no_error_and_no_warning(rpm):
    result = subprocess.run(
        ["rpmlint", "-c", str(support.REPO / "packaging/rpm/ci/rpmlint.toml"), str(rpm)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "0 errors, 0 warnings" in result.stdout, result.stdout + result.stderr
