"""Documentation that must stay true: the configuration reference and the exit-status table."""

from __future__ import annotations

import subprocess
import sys

from occ.status import ExitStatus
from tests.conftest import REPO


def test_readme_embeds_the_current_configuration_reference():
    generated = subprocess.run(
        [sys.executable, str(REPO / "tools" / "config-reference")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert generated in (REPO / "README.rst").read_text(), (
        "README.rst is out of date: paste the output of tools/config-reference into it"
    )


def test_readme_renders_without_warnings():
    docutils_core = __import__("docutils.core", fromlist=["publish_string"])
    docutils_core.publish_string(
        (REPO / "README.rst").read_text(),
        writer_name="null",
        settings_overrides={"report_level": 2, "halt_level": 2},
    )


def test_exit_statuses_are_documented():
    readme = (REPO / "README.rst").read_text()
    for status in (
        ExitStatus.USAGE,
        ExitStatus.CACHE,
        ExitStatus.CONFIG,
        ExitStatus.UNCHANGED,
        ExitStatus.ERROR,
    ):
        assert str(int(status)) in readme, status
