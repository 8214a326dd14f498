"""The one pass runner: lock -> collectors -> cache -> hand-over, for every store mode.

``run_pass`` is the whole sequence: take the cache lock, run the collectors (``occ.run.sources``),
store their outputs in order, decide what changed, and decide whether the hook gets the data
(``occ.run.handoff``). What "giving the hook the data" means is the only thing the modes differ
in, so they pass it in as ``deliver``: ``--one-time`` and continuous mode run the hook in this
process and commit on success (``occ.run.legacy``); ``collect`` writes the hand-over files for
the hook unit (``occ.run.systemd``). ``deliver`` runs under the lock.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator

from occ.config.model import Config
from occ.core.cache import Cache, Stored, unsafe_reason
from occ.core.lock import Lock
from occ.core.state import State
from occ.errors import CacheBusy, CacheError, OccError
from occ.log import lazy, logfields, plain
from occ.run import idle, report, sources, watchdog
from occ.run.handoff import Handoff, prepare

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, NamedTuple
else:
    from occ.records import NamedTuple

LOG = lazy.logger(__name__)


class PassOutcome(NamedTuple):
    """What ``run_pass`` did: whether the data changed, and ``deliver``'s status if it ran."""

    changed: bool
    delivered: int | None


def run_pass(
    config: Config,
    *,
    lock_timeout: float,
    force: bool,
    automatic: bool,
    deliver: Callable[[Cache, Handoff], int],
    mode: str = "collect",
    hook_in_process: bool = False,
) -> PassOutcome:
    """Run one store-mode pass and, when the hook must get the data, call ``deliver``; then
    record the pass for --status (``mode`` names it there; ``hook_in_process``: ``deliver``
    runs the hook and returns its status, and a 0 means the data was committed).

    ``automatic`` passes respect the back-off of a failing hook; ``force`` hands the data over
    even when nothing changed. Raise CacheError (CacheBusy included) if the cache cannot be
    used, and whatever ``deliver`` raises.
    """
    started = time.time()
    cache = Cache(config.cachedir, config.backup_cachedir)
    try:
        with locked(cache, timeout=lock_timeout):
            with contextlib.suppress(OSError, CacheError):  # it vouches for unchanged stat only
                idle.reset(config.cachedir)
            lines = lazy.lines_logged()
            result = store_pass(config, cache)
            handoff = prepare(config, cache, result, force=force, automatic=automatic)
            delivered = None if handoff is None else deliver(cache, handoff)
            if mode == "collect" and handoff is None:
                _remember_idle(config, result, started, lines)
    except CacheBusy:
        report.record_pass(config, mode=mode, started=started, summary={"result": "busy"})
        raise
    except OccError as exc:
        summary = {"result": "error", "error": str(exc).splitlines()[0]}
        report.record_pass(config, mode=mode, started=started, summary=summary)
        raise
    summary = _summary(result, delivered, hook_in_process=hook_in_process)
    report.record_pass(config, mode=mode, started=started, summary=summary)
    return PassOutcome(result.changed, delivered)


def _remember_idle(
    config: Config, result: sources.PassResult, started: float, lines: int | None
) -> None:
    """Leave the idle check's record after a ``collect`` pass that logged nothing but its
    "no change" line since ``lines`` had been logged (None: logging is not ours to count);
    whether the pass qualifies otherwise is ``idle.remember``'s to say. The record only saves
    work: failing to write it is not an error."""
    if lines is None or lazy.lines_logged() != lines + 1:
        return
    try:
        idle.remember(config, result, started)
    except OSError as exc:
        LOG.debug("cannot write the idle record: %s", exc.strerror)


def _summary(
    result: sources.PassResult, delivered: int | None, *, hook_in_process: bool
) -> dict[str, Any]:
    """Return what ``report.record_pass`` needs to know about a finished pass."""
    committed = hook_in_process and delivered == 0
    return {
        "result": "changed" if result.changed else "unchanged",
        "outcomes": [
            (outcome.name, outcome.status, outcome.reason, [key for key, _ in outcome.outputs])
            for outcome in result.outcomes
        ],
        "pending": [] if committed else result.changed_keys,
        "handed_over": delivered is not None,
        "hook_exit": delivered if hook_in_process else None,
    }


@contextlib.contextmanager
def locked(cache: Cache, *, timeout: float) -> Iterator[None]:
    """Create the cache directories and hold the cache lock; clean up after crashed writers.

    Raise CacheError if the directories cannot be created or the lock is not free in time.
    """
    cache.create_dirs()
    with Lock(cache.state_dir + "/lock", timeout=timeout):
        cache.clean()
        yield


def store_pass(config: Config, cache: Cache) -> sources.PassResult:
    """Collect, report source health, store, and log the pass summary. Caller holds the lock."""
    # Armed for the collectors only: disarmed before anything is stored and before the hook.
    with watchdog.armed(config.general.number("pass_timeout") + watchdog.MARGIN):
        outcomes, inputs = sources.collect_settled(config, store=True, state_dir=cache.state_dir)
    sources.report(outcomes, State(cache.state_dir, "health"))
    result = store(cache, outcomes)._replace(inputs=inputs)
    # A change is reported by handoff.prepare, which can tell new data from data the hook
    # already failed on (that one is not news on every pass of a back-off).
    if not result.changed:
        _log_unchanged(config, len(result.stored))
    return result


def _log_unchanged(config: Config, checked: int) -> None:
    """Log the "no change" line. While nothing else was logged and the logging options are the
    defaults, it is written as the idle check writes it (occ.log.plain): loading ``logging``
    for this one line would cost the usual pass about a tenth of its time (occ.log.lazy)."""
    general = config.general
    if lazy.waiting() and plain.is_default(general):
        lazy.plain_line(lambda: idle.say_unchanged(general, checked))
        return
    LOG.info(
        idle.UNCHANGED_MESSAGE,
        checked,
        extra=logfields.fields(changed=False, message_id=logfields.MESSAGE_UNCHANGED),
    )


def store(cache: Cache, outcomes: tuple[sources.Outcome, ...]) -> sources.PassResult:
    """Store every output in order; on a change write the file list and refresh the backup.

    Unsafe keys are skipped with a warning and the rest of the source is kept. The caller holds
    the cache lock. Raise CacheError if the cache cannot be written.
    """
    stored: list[Stored] = []
    for outcome in outcomes:
        for key, value in outcome.outputs:
            reason = unsafe_reason(key)
            if reason is not None:
                LOG.warning(
                    "%s: output %r skipped: %s, so it cannot be a cache file name",
                    outcome.name,
                    key,
                    reason,
                    extra=logfields.fields(collector=outcome.name),
                )
                continue
            stored.append(cache.store(key, value))
    _warn_collisions(stored)
    result = sources.PassResult(outcomes, tuple(stored))
    if result.changed:
        cache.write_file_list(result.files)
    cache.sync()
    if result.changed:
        cache.refresh_backup()
    return result


def _warn_collisions(stored: list[Stored]) -> None:
    seen: set[str] = set()
    for item in stored:
        if item.key in seen:
            LOG.warning(
                "key %r was produced more than once in this pass; %s holds the last "
                "value, and the hook sees the file once per occurrence",
                item.key,
                item.path,
            )
        seen.add(item.key)
