"""Build the .deb and the .rpm once per test session, from a clean copy of the tree.

tests/packaging and tests/systemd/test_packaging_e2e.py share the packages: each build takes
a few seconds on a 2-core machine, and every test must look at the same files.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tarfile
from pathlib import Path

from tests.systemd import support

REPO = support.REPO
# A package build uses the distribution's tools and Python, never a virtualenv's or pyenv's.
SYSTEM_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
# What a clean checkout has, minus the test suite (not shipped) and local build debris.
IGNORE = shutil.ignore_patterns(
    ".git",
    "__pycache__",
    ".*_cache",
    ".tox",
    ".venv",
    ".demo",
    "build",
    "dist",
    "*.egg-info",
    "tests",
)
DEB_TOOLS = {
    "dpkg-buildpackage": "dpkg-dev",
    "dh": "debhelper",
    "dh_python3": "dh-python",
    "rst2man": "python3-docutils",
}
RPM_TOOLS = {"rpmbuild": "rpm", "rpmlint": "rpmlint"}
_built: dict[str, Path] = {}

# The units both packages enable (and their scriptlets name), and the migration script.
POLLING_UNITS = (
    "os-collect-config.timer",
    "os-collect-config.path",
    "os-collect-config-reload.path",
)
MIGRATE = "/usr/libexec/os-collect-config/migrate-from-daemon"


def _require(tools: dict[str, str], what: str) -> None:
    missing = sorted({pkg for tool, pkg in tools.items() if shutil.which(tool) is None})
    if missing:
        support.skip_or_fail(
            f"cannot build the {what}: {support.install_command(*missing)}",
            label=f"{what.upper()} TEST",
        )


def _run(command: list[str], cwd: Path, what: str) -> subprocess.CompletedProcess:
    result = subprocess.run(
        command,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        env=dict(os.environ, PATH=SYSTEM_PATH),
    )
    assert result.returncode == 0, f"{what} failed:\n{result.stdout[-3000:]}{result.stderr[-3000:]}"
    return result


def version() -> str:
    text = (REPO / "occ/__init__.py").read_text()
    match = re.search(r'^__version__ = "([^"]+)"', text, re.M)
    assert match
    return match.group(1)


def deb(tmp_path_factory) -> Path:
    """Return the os-collect-config .deb built with dpkg-buildpackage from packaging/debian."""
    if "deb" not in _built:
        _require(DEB_TOOLS, "Debian package")
        base = tmp_path_factory.mktemp("deb")
        source = base / "os-collect-config-systemd"
        shutil.copytree(REPO, source, symlinks=True, ignore=IGNORE)
        shutil.copytree(REPO / "packaging/debian", source / "debian", symlinks=True)
        _run(["dpkg-buildpackage", "-us", "-uc", "-b"], source, "dpkg-buildpackage")
        (_built["deb"],) = base.glob("os-collect-config_*_all.deb")
        (_built["changes"],) = base.glob("os-collect-config-systemd_*.changes")
        _built["deb-source"] = source
    return _built["deb"]


def changes(tmp_path_factory) -> Path:
    deb(tmp_path_factory)
    return _built["changes"]


def rpm(tmp_path_factory) -> Path:
    """Return the RPM built with rpmbuild -bb --nodeps, Fedora's macros stood in for by
    packaging/rpm/ci/macros.debian, from a tarball named as the spec's Source0."""
    if "rpm" not in _built:
        _require(RPM_TOOLS, "RPM")
        top = tmp_path_factory.mktemp("rpm")
        name = f"os_collect_config_systemd-{version()}"
        tree = top / "tree" / name
        shutil.copytree(REPO, tree, symlinks=True, ignore=IGNORE)
        (top / "SOURCES").mkdir()
        with tarfile.open(top / "SOURCES" / f"{name}.tar.gz", "w:gz") as tar:
            tar.add(tree, arcname=name)
        _run(
            [
                "rpmbuild",
                "-bb",
                "--nodeps",
                "--load",
                str(REPO / "packaging/rpm/ci/macros.debian"),
                "--define",
                f"_topdir {top}",
                str(REPO / "packaging/rpm/os-collect-config.spec"),
            ],
            REPO,
            "rpmbuild",
        )
        (_built["rpm"],) = (top / "RPMS/noarch").glob("os-collect-config-*.noarch.rpm")
    return _built["rpm"]
