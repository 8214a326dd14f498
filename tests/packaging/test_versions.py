"""One version and one distribution name everywhere: occ.__version__ is the source; the Debian
changelog, the RPM spec, setup.py and ``os-collect-config --version`` must agree with it."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.packaging import builders
from tests.systemd import support

REPO = support.REPO
NAME = "os-collect-config-systemd"
SPEC = (REPO / "packaging/rpm/os-collect-config.spec").read_text()
CHANGELOG = (REPO / "packaging/debian/changelog").read_text()


def spec_value(tag: str) -> str:
    match = re.search(rf"^{tag}:\s*(\S+)$", SPEC, re.M)
    assert match, tag
    return match.group(1)


def test_debian_changelog_has_the_version():
    match = re.match(r"(\S+) \(([^)]+)\) ", CHANGELOG)
    assert match
    assert match.group(2) == builders.version()  # native package: no Debian revision


def test_rpm_spec_has_the_version_also_in_its_changelog():
    assert spec_value("Version") == builders.version()
    top = SPEC.split("%changelog", 1)[1].strip().splitlines()[0]
    assert top.endswith(f" - {builders.version()}-{spec_value('Release').split('%')[0]}"), top


def test_setup_py_and_the_program_report_the_version():
    setup = subprocess.run(
        [sys.executable, "setup.py", "--name", "--version"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    assert setup.stdout.split() == [NAME, builders.version()]
    program = subprocess.run(
        [sys.executable, "-m", "occ", "--version"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert program.stdout.strip() == builders.version(), program.stderr


def test_the_distribution_name_is_the_same_everywhere():
    assert CHANGELOG.startswith(f"{NAME} (")
    control = (REPO / "packaging/debian/control").read_text()
    assert f"Source: {NAME}\n" in control
    assert f"export PYBUILD_NAME={NAME}\n" in (REPO / "packaging/debian/rules").read_text()
    assert f"%global pypi_name {NAME}\n" in SPEC
    assert f"%global srcname {NAME.replace('-', '_')}\n" in SPEC  # the sdist's PEP 625 name
    assert NAME in (REPO / "README.rst").read_text()
