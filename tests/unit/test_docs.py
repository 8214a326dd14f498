"""Documentation that must stay true: the configuration reference and the exit-status table."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

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


# doc/compatibility.rst is the compatibility reference the code cites, and doc/architecture.rst
# maps the tree; the tests below keep the citations and the map from going stale.

COMPATIBILITY = REPO / "doc" / "compatibility.rst"
ARCHITECTURE = REPO / "doc" / "architecture.rst"

# A citation: the file name, a comma, then one or more quoted section titles, which may wrap onto
# the next line (of a comment, too). Each title must be a section of doc/compatibility.rst.
_CITATION = re.compile(r'doc/compatibility\.rst,((?:\s*(?:#\s*)?"[^"\n]+",?)+)')
_UNDERLINE = re.compile(r"^([=\-~^])\1+$")


def _section_titles(path: Path) -> set[str]:
    lines = path.read_text().splitlines()
    return {
        title.strip()
        for title, underline in zip(lines, lines[1:])
        if title.strip() and _UNDERLINE.match(underline) and len(underline) >= len(title.strip())
    }


def _tree_block(text: str) -> list[str]:
    """Return the lines of the first literal block whose lines start with ``occ/``."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("    occ/"))
    block = []
    for line in lines[start:]:
        if not line.startswith("    "):
            break
        block.append(line.strip())
    return block


def test_no_module_cites_the_design_contract():
    # contract.md lives outside the repository; modules cite doc/compatibility.rst instead.
    citing = [
        str(path.relative_to(REPO))
        for path in sorted((REPO / "occ").rglob("*.py"))
        if "contract.md" in path.read_text()
    ]
    assert not citing, f"cite doc/compatibility.rst instead of contract.md in: {citing}"


def test_every_citation_names_a_section_of_the_compatibility_document():
    titles = _section_titles(COMPATIBILITY)
    broken = []
    for folder in ("occ", "tests", "tools", "systemd", "packaging"):
        for path in sorted((REPO / folder).rglob("*")):
            if not path.is_file() or path.suffix in (".pyc", ".json", ".xml"):
                continue
            try:
                text = path.read_text()
            except UnicodeDecodeError:
                continue
            for match in _CITATION.finditer(text):
                for title in re.findall(r'"([^"\n]+)"', match.group(1)):
                    if title not in titles:
                        broken.append(f"{path.relative_to(REPO)}: {title!r}")
    assert not broken, f"citations of sections doc/compatibility.rst does not have: {broken}"


def test_architecture_tree_lists_every_folder_of_occ():
    tree = _tree_block(ARCHITECTURE.read_text())
    listed = {line.split()[0] for line in tree}
    folders = sorted(
        f"occ/{path.name}/"
        for path in (REPO / "occ").iterdir()
        if path.is_dir() and (path / "__init__.py").exists()
    )
    missing = [folder for folder in folders if folder not in listed]
    assert not missing, f"doc/architecture.rst's tree lacks: {missing}"


def test_readme_shows_the_architecture_tree():
    assert _tree_block(ARCHITECTURE.read_text()) == _tree_block(
        (REPO / "README.rst").read_text()
    ), "README.rst's Architecture section and doc/architecture.rst show different trees"


@pytest.mark.parametrize("path", [COMPATIBILITY, ARCHITECTURE], ids=lambda p: p.name)
def test_documents_render_without_warnings(path):
    docutils_core = __import__("docutils.core", fromlist=["publish_string"])
    docutils_core.publish_string(
        path.read_text(),
        writer_name="null",
        settings_overrides={"report_level": 2, "halt_level": 2},
    )
