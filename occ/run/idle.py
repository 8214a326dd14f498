"""The idle check: an unchanged ``collect`` pass over local files, answered by stat(2) alone.

Most passes of an instance's life find nothing new, and for sources that only read files
(``local``, ``heat_local``, a cached ``ec2.json``: ``Collector.settled_by_files``) whether
anything is new is a question about files. So a full ``collect`` pass that changed nothing
leaves a record (``<cachedir>/.occ/idle/record.json``) of every file and directory its answer
depended on: the configuration files, what the collectors read, the cached documents and the
cache directories, each with what stat says of it. While all of them still say the same, the
collectors would read the same bytes and find no change, so ``answer`` records the pass for
``--status``, logs the same "no change" line and exits 100 without loading the collectors, the
cache, ``logging`` or ``json`` (doc/performance.rst, "The idle check").

A record is written only when the check is sound (``remember``): by a ``collect`` pass that
changed nothing, handed nothing to the hook (so nothing is pending or backing off), got data
from every source, logged nothing but its "no change" line, and whose inputs last changed at
least ``SETTLE_SECONDS`` before it began (a file rewritten within the file system's timestamp
granularity after being read could otherwise look unchanged). Every full pass removes the record
before it starts; anything that writes into the cache directories changes their stat.
"""

from __future__ import annotations

import os
import time

from occ import __version__, jsonio
from occ.config import loader
from occ.core import fsutil
from occ.core.state import state_dir

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from occ.config.model import Config, Section
    from occ.run.sources import PassResult

FORMAT = 1
PENDING = "pending.json"
SETTLE_SECONDS = 2.0
UNCHANGED_MESSAGE = "no change (%d key(s) checked)"


def handover_files(config: Config) -> tuple[str, str]:
    """Return the hand-over files ``collect`` writes for the hook unit: ``hook.env`` and
    ``pending.json`` beside it (here, not in occ.run.systemd, so the idle check can look for
    them without loading the modes)."""
    directory = os.path.dirname(config.hook_env_file) or "."
    return config.hook_env_file, os.path.join(directory, PENDING)


def record_path(cachedir: str) -> str:
    return os.path.join(state_dir(cachedir), "idle", "record.json")


def identity(path: str) -> list[int] | None:
    """Return what stat says of ``path`` that any change to it changes (None: absent).
    Raise OSError if it cannot be examined."""
    try:
        st = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    return [st.st_dev, st.st_ino, st.st_mode, st.st_size, st.st_mtime_ns, st.st_ctime_ns]


def reset(cachedir: str) -> None:
    """Remove the record, a full pass being under way, and make sure its directory exists
    (created now, it does not change the state directory's stat under a later record).
    Raise OSError or CacheError if that fails."""
    path = record_path(cachedir)
    fsutil.make_private_dir(os.path.dirname(path), parents=False, follow=False)
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _watched(config: Config, result: PassResult, inputs: frozenset[str]) -> list[str]:
    """Return every path the pass's answer depended on."""
    cachedir = config.cachedir
    keys = dict.fromkeys(item.key for item in result.stored)
    suffixes = (".json", ".json.last")
    cached = [os.path.join(cachedir, key + suffix) for key in keys for suffix in suffixes]
    return [*config.files, *sorted(inputs), cachedir, state_dir(cachedir), *cached]


def remember(config: Config, result: PassResult, started: float) -> bool:
    """Write the record after the unchanged full pass ``result`` that began at ``started``
    (``time.time()``); return False if the pass does not qualify (see the module's text).
    The caller holds the cache lock. Raise OSError if the record cannot be written."""
    inputs = result.inputs
    # Options set from the environment are not in the record: such an instance runs in full.
    if inputs is None or result.changed or loader.set_from_environment(os.environ):
        return False
    paths = _watched(config, result, inputs)
    settled = (started - SETTLE_SECONDS) * 1e9
    identities = [identity(path) for path in paths]
    if any(found is not None and found[5] > settled for found in identities):
        return False  # changed too recently to be told apart by stat
    record = {
        "format": FORMAT,
        "version": __version__,
        "files": [[path, found] for path, found in zip(paths, identities)],
        "outcomes": [[o.name, [key for key, _ in o.outputs]] for o in result.outcomes],
        "checked": len(result.stored),
    }
    fsutil.atomic_write(
        record_path(config.cachedir), jsonio.dumps(record).encode(), mode=0o600, durable=False
    )
    return True


def _valid(config: Config) -> dict[str, Any] | None:
    """Return the record if every path it names is as it was; None otherwise."""
    data = fsutil.read_bytes(record_path(config.cachedir), follow=False, limit=1 << 20)
    if data is None:
        return None
    record = jsonio.loads(data)
    if record.get("format") != FORMAT or record.get("version") != __version__:
        return None
    files = record["files"]
    if [path for path, _ in files[: len(config.files)]] != list(config.files):
        return None  # another set of configuration files
    for path, found in files:
        if identity(path) != found:
            return None
    return record


def answer(config: Config) -> bool:
    """Record an idle ``collect`` pass and return True if the record shows nothing can have
    changed; return False if the pass must run in full. Raise nothing for a missing, stale or
    damaged record (the full pass rewrites it); raise OccError or OSError only when the cache
    or the status record cannot be used, as the full pass would."""
    from occ.log import plain

    started = time.time()
    general = config.general
    if config.notices or not plain.is_default(general) or loader.set_from_environment(os.environ):
        return False
    if any(os.path.lexists(path) for path in handover_files(config)):
        return False  # a hand-over is under way: the full pass discards it
    try:
        record = _valid(config)
    except (OSError, ValueError, RecursionError, TypeError, KeyError, AttributeError):
        return False
    if record is None:
        return False
    from occ.core.lock import Lock
    from occ.errors import CacheBusy
    from occ.run import report

    try:
        with Lock(os.path.join(state_dir(config.cachedir), "lock"), timeout=0):
            summary = {
                "result": "unchanged",
                "outcomes": [(name, "data", "", keys) for name, keys in record["outcomes"]],
                "pending": [],
                "handed_over": False,
                "hook_exit": None,
            }
            say_unchanged(general, record["checked"])
            report.record_pass(config, mode="collect", started=started, summary=summary)
    except CacheBusy:
        return False  # the full pass waits for the lock, and says so
    return True


def say_unchanged(general: Section, checked: int) -> None:
    """Write the "no change" line of a pass that checked ``checked`` keys, without
    ``logging`` (occ.log.plain): for the default logging options only."""
    from occ.log import plain

    plain.info(UNCHANGED_MESSAGE % checked, general.text("log_date_format") or "")
