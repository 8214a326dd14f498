"""One pass: run the configured collectors, and in store mode cache what they returned.

Every mode goes through here: print mode collects without writing; store mode (``--one-time``,
continuous, ``collect``) also stores each output in order, decides what changed, and on a change
writes ``os_config_files.json`` and refreshes the backup copy. Running the hook and committing
belong to the callers (``occ.run.legacy``), because when and where that happens is what differs
between modes.
"""

from __future__ import annotations

import time

from occ.collectors import registry
from occ.collectors.base import Context
from occ.config.model import Config
from occ.core.cache import Stored, is_utf8
from occ.core.state import State
from occ.errors import OccError, SourceNotConfigured, SourceUnavailable
from occ.log import lazy, logfields
from occ.redact import redact

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, NamedTuple

    from occ.collectors.base import Output
else:
    from occ.records import NamedTuple

LOG = lazy.logger(__name__)

DATA, NOT_CONFIGURED, UNAVAILABLE = "data", "not configured", "unavailable"


class Outcome(NamedTuple):
    """What one collector delivered in this pass."""

    name: str
    status: str  # DATA, NOT_CONFIGURED or UNAVAILABLE
    reason: str
    outputs: tuple[Output, ...]
    http_status: int | None = None


class PassResult(NamedTuple):
    """A finished store-mode pass."""

    outcomes: tuple[Outcome, ...]
    stored: tuple[Stored, ...]  # pass order; a key appears once per occurrence
    # What the outcomes depended on, if only files (sources.collect_settled); else None.
    inputs: frozenset[str] | None = None

    @property
    def changed(self) -> bool:
        return any(item.changed for item in self.stored)

    @property
    def files(self) -> list[str]:
        """OS_CONFIG_FILES entries: every stored output of this pass, in order."""
        return [item.path for item in self.stored]

    @property
    def changed_keys(self) -> list[str]:
        return list(dict.fromkeys(item.key for item in self.stored if item.changed))


def collect(config: Config, *, store: bool, state_dir: str) -> tuple[Outcome, ...]:
    """Run every configured collector in order and return their outcomes.

    ``store`` False is print mode: collectors avoid destructive reads and state is read-only.
    Source failures become outcomes; nothing here raises for a bad source.
    """
    return collect_settled(config, store=store, state_dir=state_dir)[0]


def collect_settled(
    config: Config, *, store: bool, state_dir: str
) -> tuple[tuple[Outcome, ...], frozenset[str] | None]:
    """``collect``, and the files and directories the outcomes depended on: None unless
    every source delivered data and depended on nothing but files it declared
    (``Collector.settled_by_files``)."""
    context = Context(config, state=State(state_dir, "pass", writable=store), store=store)
    outcomes = []
    try:
        for name in config.collectors:
            context.state = State(state_dir, name, writable=store)
            outcome = _run_collector(name, config, context)
            if outcome.status != DATA:
                context.unsettled()
            outcomes.append(outcome)
    finally:
        context.close()
    inputs = None if context.inputs is None else frozenset(context.inputs)
    return tuple(outcomes), inputs


def _run_collector(name: str, config: Config, context: Context) -> Outcome:
    started = time.monotonic()
    try:
        kind = registry.load(name)
        if not kind.settled_by_files:
            context.unsettled()
        collector = kind(config.section(name), context)
        outputs = tuple(collector.collect())
    except SourceNotConfigured as exc:
        LOG.debug("%s: not configured (%s); skipped", name, exc)
        return Outcome(name, NOT_CONFIGURED, str(exc), ())
    except SourceUnavailable as exc:
        return Outcome(name, UNAVAILABLE, str(exc), (), exc.http_status)
    except Exception as exc:  # one broken source must not stop the others
        LOG.error(
            "%s: internal error, treated as unavailable; please report this bug",
            name,
            exc_info=True,
            extra=logfields.fields(collector=name),
        )
        return Outcome(name, UNAVAILABLE, f"internal error: {type(exc).__name__}", ())
    LOG.debug("%s: %d output(s) in %.2fs", name, len(outputs), time.monotonic() - started)
    return Outcome(name, DATA, "", outputs)


def report(outcomes: tuple[Outcome, ...], health: State) -> None:
    """Log each unavailable source: a WARNING when its situation changes, INFO while it stays.

    Repeating the same warning every 30 s for days buries everything else in the journal.
    """
    previous = health.load()
    # Reasons quote server answers and URLs: the stored copy must not keep a signature.
    current = {o.name: redact(o.reason) for o in outcomes if o.status == UNAVAILABLE}
    for outcome in outcomes:
        unavailable = outcome.status == UNAVAILABLE
        fields = logfields.fields(
            collector=outcome.name,
            http_status=outcome.http_status,
            message_id=logfields.MESSAGE_SOURCE_UNAVAILABLE if unavailable else None,
        )
        if unavailable:
            repeated = previous.get(outcome.name) == current[outcome.name]
            LOG.log(
                lazy.INFO if repeated else lazy.WARNING,
                "%s: source unavailable%s: %s%s",
                outcome.name,
                " (still)" if repeated else "",
                outcome.reason,
                # Print mode caches nothing, so it has no cached data to keep.
                "; keeping its previously cached data" if health.writable else "",
                extra=fields,
            )
        elif outcome.name in previous:
            LOG.log(lazy.NOTICE, "%s: source available again", outcome.name, extra=fields)
    if current != previous:
        try:
            health.save(current)  # a no-op in print mode, whose state is read-only
        except (OSError, OccError) as exc:  # advisory: at worst a warning is repeated
            LOG.warning("cannot save source health in %s: %s", health.path, _why(exc))


def _why(exc: Exception) -> str:
    return exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)


def merged(outcomes: tuple[Outcome, ...]) -> dict[str, Any]:
    """Return print mode's document: every output by key, the last value of a repeated key
    kept at the key's first position."""
    document: dict[str, Any] = {}
    for outcome in outcomes:
        for key, value in outcome.outputs:
            if isinstance(key, str) and not is_utf8(key):
                LOG.warning("%s: output %r skipped: it is not valid UTF-8", outcome.name, key)
                continue
            document[key] = value
    return document
