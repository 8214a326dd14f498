"""The hook environment file, in systemd ``EnvironmentFile=`` syntax.

``collect`` writes it; systemd reads it into the hook unit's environment, and ``run-hook`` reads
it itself when started by hand. Values are double-quoted; inside double quotes systemd (like a
shell) removes the backslash before ``"``, ``\\``, `````` and ``$`` and keeps every other
character literally, so any path survives the round trip.
"""

from __future__ import annotations

from collections.abc import Mapping

_SPECIAL = '"\\`$'

HEADER = "# Written by 'os-collect-config collect' for os-collect-config-hook.service.\n"


def quote(value: str) -> str:
    """Return ``value`` as a double-quoted EnvironmentFile= value."""
    return '"' + "".join("\\" + c if c in _SPECIAL else c for c in value) + '"'


def render(variables: Mapping[str, str]) -> str:
    """Return the file content assigning ``variables`` in order."""
    return HEADER + "".join(f"{name}={quote(value)}\n" for name, value in variables.items())


def parse(text: str) -> dict[str, str]:
    """Return the variables of a file written by ``render``.

    Raise ValueError if a line is not of the form ``NAME="value"``.
    """
    variables = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line or line.startswith("#"):
            continue
        name, sep, quoted = line.partition("=")
        if not sep or len(quoted) < 2 or quoted[0] != '"' or quoted[-1] != '"':
            raise ValueError(f'line {number} is not NAME="value"')
        body, value, index = quoted[1:-1], [], 0
        while index < len(body):
            char = body[index]
            if char == "\\" and index + 1 < len(body) and body[index + 1] in _SPECIAL:
                index += 1
                char = body[index]
            value.append(char)
            index += 1
        variables[name] = "".join(value)
    return variables
