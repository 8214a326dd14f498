"""The man page os-collect-config(8): it renders, and it stays true to the command line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from occ.cli import parser
from tests.systemd import support

PAGE = support.REPO / "doc" / "os-collect-config.8.rst"
# Tokens in the page that look like options but belong to other programs.
FOREIGN = {"--now", "--no"}


def render(source: Path) -> str:
    try:
        from docutils.core import publish_string
    except ImportError:
        support.skip_or_fail("docutils is not installed (pip install docutils)")
    output = publish_string(
        source.read_text(),
        source_path=str(source),
        writer_name="manpage",
        # any docutils warning (broken markup) fails the test
        settings_overrides={"halt_level": 2, "report_level": 2},
    )
    return output.decode() if isinstance(output, bytes) else output


def test_renders_with_name_synopsis_and_description():
    page = render(PAGE)
    # docutils 0.19 writes ".TH OS-COLLECT-CONFIG 8 ..." and ".SH NAME"; 0.23 quotes the
    # title and keeps its case.
    assert re.search(r'^\.TH "?OS-COLLECT-CONFIG"? "?8"?', page, re.M | re.I)
    assert re.search(r"^\.SH NAME$", page, re.M | re.I)
    assert "os-collect-config \\- collect instance configuration metadata" in page
    for section in ("SYNOPSIS", "DESCRIPTION", "OPTIONS", "SYSTEMD", "EXIT STATUS", "FILES"):
        assert f".SH {section}" in page


def test_broken_markup_fails_rendering(tmp_path):
    broken = tmp_path / "broken.rst"
    broken.write_text("title\n=====\n\n``unclosed literal\n")
    with pytest.raises(Exception):  # noqa: B017 - docutils raises its SystemMessage
        render(broken)


def parser_flags() -> set[str]:
    return {
        s for a in parser.build_parser()._actions for s in a.option_strings if s.startswith("--")
    }


def test_every_option_of_the_program_is_documented():
    text = PAGE.read_text()
    aliases = {"--logfile", "--logdir", "--log-config", "--log_config", "--help", "--version"}
    missing = sorted(f for f in parser_flags() - aliases if f not in re.findall(r"--[\w-]+", text))
    assert missing == []


def test_the_page_documents_no_option_the_program_lacks():
    documented = set(re.findall(r"(?<![\w-])--[a-z][\w-]*", PAGE.read_text()))
    assert sorted(documented - parser_flags() - FOREIGN) == []


def test_the_page_names_the_systemd_units_that_ship():
    text = PAGE.read_text()
    units = [
        unit.name
        for unit in (support.REPO / "systemd").glob("os-collect-config*")
        if unit.suffix in (".timer", ".path") or unit.name == "os-collect-config.service"
    ]
    assert "os-collect-config.service" in units and "os-collect-config.timer" in units
    for name in units:
        assert name in text, name
