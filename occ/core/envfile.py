"""The hook environment file, in systemd ``EnvironmentFile=`` syntax.

``collect`` writes it; systemd reads it into the hook unit's environment, and ``run-hook`` reads
it itself when started by hand. Values are double-quoted; inside double quotes systemd (like a
shell) removes the backslash before ``"``, ``\\``, `````` and ``$`` and keeps every other
character literally, so any path survives the round trip.
"""

from __future__ import annotations

from collections.abc import Mapping

TYPE_CHECKING = False
if TYPE_CHECKING:
    import re

_SPECIAL = '"\\`$'

HEADER = "# Written by 'os-collect-config collect' for os-collect-config-hook.service.\n"


def quote(value: str) -> str:
    """Return ``value`` as a double-quoted EnvironmentFile= value."""
    return '"' + "".join("\\" + c if c in _SPECIAL else c for c in value) + '"'


def render(variables: Mapping[str, str]) -> str:
    """Return the file content assigning ``variables`` in order."""
    return HEADER + "".join(f"{name}={quote(value)}\n" for name, value in variables.items())


# Compiled on first use (re caches them): a pass that writes the file never reads one.
_ASSIGNMENT = r'(?ms)^([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"[ \t]*$'
_ESCAPE = r"(?s)\\(.)"


def parse(text: str) -> dict[str, str]:
    """Return the variables of a file written by ``render`` (values may span lines).

    Raise ValueError if anything but comments and ``NAME="value"`` assignments is found.
    """
    import re

    variables = {}
    position = 0
    for match in re.finditer(_ASSIGNMENT, text):
        _check_gap(text[position : match.start()])
        name, quoted = match.groups()
        variables[name] = re.sub(_ESCAPE, _unescape, quoted)
        position = match.end()
    _check_gap(text[position:])
    return variables


def _unescape(match: re.Match[str]) -> str:
    escaped: str = match.group(1)
    return escaped if escaped in _SPECIAL else match.group(0)


def _check_gap(text: str) -> None:
    for line in text.split("\n"):
        if line.strip() and not line.lstrip().startswith("#"):
            raise ValueError(f'not a NAME="value" line: {line[:40]!r}')
