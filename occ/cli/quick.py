"""The argument lists the shipped units pass, read without argparse.

Every 30 seconds the timer runs ``os-collect-config collect``, and ``commit`` and ``run-hook``
follow a change; none of them has options beyond ``--config-file``/``--config-dir``. Importing
argparse and building the parser for the ~100 options of the table costs each of those
processes several milliseconds, so those argument lists are read here, and anything else
(any other option, a collector name, an abbreviation argparse would accept, a value that
looks like an option) goes to the full parser in ``occ.cli.parser``. A parity test checks
that both read every list accepted here the same way.
"""

from __future__ import annotations

from occ.config.loader import CommandLine

TYPE_CHECKING = False  # collections costs an idle pass a sixth of its start-up
if TYPE_CHECKING:
    from collections.abc import Sequence

_PATH_OPTIONS = {"--config-file": "files", "--config-dir": "dirs"}


def command_line(argv: Sequence[str]) -> CommandLine | None:
    """Return the ``CommandLine`` for ``argv`` if it holds only ``--config-file PATH`` and
    ``--config-dir DIR`` (also as ``--option=PATH``); None for anything else."""
    found: dict[str, list[str]] = {"files": [], "dirs": []}
    index = 0
    while index < len(argv):
        option, equals, value = argv[index].partition("=")
        if option not in _PATH_OPTIONS:
            return None
        if not equals:
            if index + 1 >= len(argv):
                return None
            index += 1
            value = argv[index]
            if value.startswith("-"):
                return None  # argparse would read it as an option: let it say what it thinks
        found[_PATH_OPTIONS[option]].append(value)
        index += 1
    return CommandLine(
        values={},
        collectors=(),
        config_files=tuple(found["files"]) or None,
        config_dirs=tuple(found["dirs"]) or None,
    )
