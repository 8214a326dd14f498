"""Names in a configuration file that occ does not know: what to tell the operator.

The original ignores unknown sections and keys silently, and so do passes here (a file Heat
rendered for a newer version must keep working); but a misspelt ``colectors`` then runs every
default collector without a word. So each unknown name becomes a notice, with a "did you mean"
for near misses; ``occ.cli.configcheck`` logs the notices once per change of the files and
``--check-config`` treats them as errors.
"""

from __future__ import annotations

from occ.config import options
from occ.config.ini import Entry
from occ.config.options import DEFAULT_GROUP

TYPE_CHECKING = False  # collections costs an idle pass a sixth of its start-up
if TYPE_CHECKING:
    from collections.abc import Iterable


def notice(entry: Entry, seen: set[tuple[str, str]]) -> str | None:
    """Return the notice for ``entry`` if its section or key is unknown and not yet reported
    (``seen`` records what was), else None."""
    where = f"{entry.source}:{entry.lineno}"
    if entry.section == "default":
        return _once(
            seen,
            (entry.section, ""),
            f"{where}: section [default] is not [DEFAULT]; its keys are ignored",
        )
    if entry.section not in options.SECTIONS:
        hint = _near(entry.section, options.SECTIONS, "[{}]")
        return _once(
            seen, (entry.section, ""), f"{where}: unknown section [{entry.section}] ignored{hint}"
        )
    if entry.section == DEFAULT_GROUP and entry.key in options.IGNORED_DEFAULT_KEYS:
        return None  # oslo.log's options: the original accepted and ignored them
    underscored = entry.key.replace("-", "_")
    if options.find(entry.section, underscored) is not None:
        text = (
            f"{where}: [{entry.section}] {entry.key} is ignored; the key is spelled {underscored}"
        )
    else:
        names = [opt.name for opt in options.SECTIONS[entry.section]]
        hint = _near(entry.key, names, "'{}'")
        text = f"{where}: unknown key [{entry.section}] {entry.key} ignored{hint}"
    return _once(seen, (entry.section, entry.key), text)


def _once(seen: set[tuple[str, str]], name: tuple[str, str], text: str) -> str | None:
    if name in seen:
        return None
    seen.add(name)
    return text


def _near(word: str, candidates: Iterable[str], form: str) -> str:
    import difflib  # only a file with an unknown name pays for it

    by_lower = {candidate.lower(): candidate for candidate in candidates}
    matches = difflib.get_close_matches(word.lower(), by_lower, n=1, cutoff=0.7)
    return f" (did you mean {form.format(by_lower[matches[0]])}?)" if matches else ""
