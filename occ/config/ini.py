"""Reading INI files in oslo.config's dialect.

oslo.config does not use ``configparser`` and neither can we: deployed files rely on rules that
stdlib ``configparser`` cannot express through its public interface. A repeated key must
*accumulate* (``collectors = ec2`` / ``collectors = local`` is a list of two), only lines whose
*first* character is ``#`` or ``;`` are comments (an indented ``#`` line continues a value), a
value wrapped entirely in quotes loses them, and an indented line that follows a blank line or a
section header is an error. The reader below implements exactly those rules (see
doc/compatibility.rst, "INI dialect") and nothing else; meaning is given to the entries by
``occ.config.loader``.
"""

from __future__ import annotations

from occ.errors import ConfigError

TYPE_CHECKING = False  # typing costs an idle pass its start-up time again (occ.records)
if TYPE_CHECKING:
    from typing import NamedTuple
else:
    from occ.records import NamedTuple

DEFAULT_SECTION = "DEFAULT"


class Entry(NamedTuple):
    """One assignment, in file order. ``section`` is normalised (see ``section_name``)."""

    section: str
    key: str
    value: str
    source: str
    lineno: int


def section_name(header: str) -> str:
    """Return the canonical name of a section header's text.

    Only the exact spelling ``DEFAULT`` is the default section; all other names are
    case-insensitive, so ``[Heat]`` and ``[heat]`` are the same section.
    """
    return header if header == DEFAULT_SECTION else header.lower()


def _split_assignment(line: str) -> tuple[str, str] | None:
    """Split ``key = value`` or ``key: value`` at whichever delimiter comes first."""
    positions = [pos for pos in (line.find("="), line.find(":")) if pos >= 0]
    if not positions:
        return None
    cut = min(positions)
    key, value = line[:cut].strip(), line[cut + 1 :].strip()
    if len(value) >= 1 and value[0] in "\"'" and value[0] == value[-1]:
        value = value[1:-1]
    return key, value


def parse(text: str, source: str) -> list[Entry]:
    """Given the text of one file, return its assignments in order.

    Raise ConfigError listing every syntax problem of the file (with line numbers).
    """
    entries, problems = parse_all(text, source)
    if problems:
        raise ConfigError(problems)
    return entries


def parse_all(text: str, source: str) -> tuple[list[Entry], list[str]]:
    """Given the text of one file, return its well-formed assignments in order and every
    syntax problem (with line numbers). A malformed line costs only itself, so the other
    lines are still validated and every problem is reported at once."""
    entries: list[Entry] = []
    problems: list[str] = []
    section: str | None = None
    pending: tuple[str, list[str], int] | None = None  # key, value lines, line number

    def flush() -> None:
        nonlocal pending
        if pending is not None and section is not None:
            key, lines, lineno = pending
            entries.append(Entry(section, key, "\n".join(lines), source, lineno))
        pending = None

    # Lines end at newlines only (str.splitlines would also split at form feeds and U+2028).
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    for lineno, raw in enumerate(lines, 1):
        line = raw.rstrip()
        where = f"{source}:{lineno}"
        if not line:
            flush()  # a blank line ends a multi-line value
        elif line[0] in " \t":
            if pending is None:
                # The text is not quoted: an indented "password = ..." would put it here.
                problems.append(
                    f"{where}: indented line continues no value (a continuation "
                    "line must follow a key = value line directly)"
                )
            else:
                pending[1].append(line.lstrip())
        elif line[0] == "[":
            flush()
            if line[-1] != "]" or len(line) <= 2:
                problems.append(f"{where}: malformed section header: {line!r}")
            else:
                section = section_name(line[1:-1])
        elif line[0] in "#;":
            flush()
        else:
            flush()
            pending = _start_assignment(line, where, section, problems, lineno)
    flush()
    return entries, problems


def _start_assignment(
    line: str, where: str, section: str | None, problems: list[str], lineno: int
) -> tuple[str, list[str], int] | None:
    """Parse the first line of an assignment; record a problem and return None if invalid."""
    split = _split_assignment(line)
    if split is None:
        # Not quoted: a stray line may be a secret that lost its key.
        problems.append(f"{where}: expected 'key = value' or a [section] header")
        return None
    key, value = split
    if not key:
        problems.append(f"{where}: assignment without a key")
        return None
    if section is None:
        problems.append(f"{where}: '{key}' appears before any [section]")
        return None
    return key, [value], lineno


def read(path: str) -> list[Entry]:
    """Return the assignments of the file at ``path``.

    Raise ConfigError if it cannot be read, is not UTF-8, or has syntax problems.
    """
    entries, problems = read_all(path)
    if problems:
        raise ConfigError(problems)
    return entries


def read_all(path: str) -> tuple[list[Entry], list[str]]:
    """Return the well-formed assignments of the file at ``path`` and its syntax problems.

    Raise ConfigError if it cannot be read or is not UTF-8 (nothing of it can be used then).
    """
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read: {exc.strerror}"]) from exc
    # A leading byte-order mark is dropped, as the utf-8-sig codec would (whose module every
    # pass would otherwise import); byte offsets stay those of the file.
    bom = 3 if data.startswith(b"\xef\xbb\xbf") else 0
    try:
        text = data[bom:].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError([f"{path}: not UTF-8 text (byte {exc.start + bom})"]) from exc
    return parse_all(text, path)
