"""A store-mode pass under the cache lock, and what it hands to the hook.

Shared by every store mode: ``--one-time``/``--force`` and continuous mode run the hook in
process; ``collect`` hands the same data to a separate hook unit and ``commit`` finishes it. In
both cases ``Handoff`` records exactly which bytes the hook was given, so that only those are
committed.
"""

from __future__ import annotations

import contextlib

from occ import jsonio
from occ.config.model import Config
from occ.core import fsutil
from occ.core.cache import Cache
from occ.core.digest import sha256_hex
from occ.core.state import State
from occ.errors import CacheError, OccError
from occ.log import lazy, logfields
from occ.run import sources

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, NamedTuple

    from occ.core import hook
else:
    from occ.records import NamedTuple

LOG = lazy.logger(__name__)


class Handoff(NamedTuple):
    """The data handed to the hook: every file, the changed ones, and their digests."""

    files: tuple[str, ...]
    changed_files: tuple[str, ...]
    records: tuple[tuple[str, str], ...]  # (key, SHA-256 of <key>.json) for changed keys
    digest: str  # identifies the whole hand-over, for the retry policy

    @classmethod
    def of(cls, cache: Cache, result: sources.PassResult) -> Handoff:
        keys = list(dict.fromkeys(item.key for item in result.stored))
        digests = {key: cache.digest(key) or "" for key in keys}
        changed = result.changed_keys
        summary = jsonio.dumps([result.files, [(k, digests[k]) for k in keys]])
        return cls(
            files=tuple(result.files),
            changed_files=tuple(dict.fromkeys(cache.path(k) for k in changed)),
            records=tuple((k, digests[k]) for k in changed),
            digest=sha256_hex(summary.encode()),
        )

    def variables(self) -> dict[str, str]:
        from occ.core import hook  # only a pass that hands over, or its hook, needs it

        return hook.environment(self.files, self.changed_files)

    def env_file(self) -> bytes:
        """Return the hook env file (``EnvironmentFile=`` syntax) handing this over.

        Raise CacheError if a path cannot be written in it.
        """
        from occ.core import envfile  # only a pass that hands over writes one

        try:
            # surrogateescape: a configured path with non-UTF-8 bytes keeps its bytes.
            return envfile.render(self.variables()).encode("utf-8", "surrogateescape")
        except UnicodeEncodeError as exc:
            raise CacheError(f"cannot hand over {exc.object!r}: it is not valid UTF-8") from exc

    def to_json(self, cachedir: str) -> bytes:
        record: dict[str, Any] = dict(self._asdict(), cachedir=cachedir)
        return jsonio.dumps(record, indent=1).encode()

    @classmethod
    def from_json(cls, data: bytes) -> tuple[str, Handoff]:
        """Return (cachedir, handoff) from ``to_json`` output. Raise ValueError if malformed."""
        record = jsonio.loads(data)
        try:
            handoff = cls(
                tuple(record["files"]),
                tuple(record["changed_files"]),
                tuple((str(k), str(d)) for k, d in record["records"]),
                str(record["digest"]),
            )
            return str(record["cachedir"]), handoff
        except (KeyError, TypeError) as exc:
            raise ValueError(f"missing or malformed field: {exc}") from exc


def prepare(
    config: Config, cache: Cache, result: sources.PassResult, *, force: bool, automatic: bool
) -> Handoff | None:
    """Return what the hook gets after ``result``, or None if the hook must not run now.

    The hook runs when something changed, or always with ``force``. ``automatic`` passes
    (timer, continuous mode) respect the back-off for a hook that keeps failing on the same
    data; a manual pass does not, and ``force`` also starts the attempt count over. A returned
    hand-over has been rendered and then recorded as an attempt (before the hook starts, so a
    hook that never reports back still counts); a mode that then fails to start the hook calls
    ``withdraw``. Caller holds the lock. Raise CacheError if the hand-over cannot be rendered
    or the hook state cannot be read or written.
    """
    if not (result.changed or force):
        return None
    handoff = Handoff.of(cache, result)
    handoff.env_file()  # a name that cannot be handed over must fail before it is recorded
    policy = retry_policy(config, cache)
    fingerprint = config_fingerprint(config)
    failed_before = policy.failed_attempts(handoff.digest, fingerprint)
    if result.changed:
        _report_change(result, failed_before)
    if automatic and not force and not policy.allows(handoff.digest, fingerprint):
        return None
    if force:
        policy.succeeded()  # doc/compatibility.rst, "Hook retry back-off": --force starts over
    attempt = policy.handed_over(handoff.digest, fingerprint)
    if failed_before and attempt > 1:
        LOG.log(
            lazy.NOTICE,
            "hook failed %d time(s) on this data; retrying it now (attempt %d)",
            failed_before,
            attempt,
            extra=logfields.fields(attempt=attempt),
        )
    return handoff


def _report_change(result: sources.PassResult, failed_before: int) -> None:
    """Log a change once, when it is new; data the hook already failed on is not news again
    on every pass of its back-off (the retry and the giving up have lines of their own)."""
    keys = result.changed_keys
    if failed_before:
        LOG.debug("still not applied (the hook failed on it): %s", ", ".join(keys))
        return
    LOG.log(
        lazy.NOTICE,
        "changed: %s",
        ", ".join(keys),
        extra=logfields.fields(changed=True, keys=keys, message_id=logfields.MESSAGE_CHANGED),
    )


def withdraw(config: Config, cache: Cache, handoff: Handoff) -> None:
    """Take back the attempt ``prepare`` recorded for ``handoff``: the hook never got it.

    Never raises: the failure that stopped the hand-over is the one to report.
    """
    with contextlib.suppress(OccError):
        retry_policy(config, cache).withdrawn(handoff.digest)


def retry_policy(config: Config, cache: Cache) -> hook.RetryPolicy:
    from occ.core import hook  # not on an unchanged pass, which never asks

    general = config.general
    return hook.RetryPolicy(
        State(cache.state_dir, "hook", required=True),
        base_delay=general.number("polling_interval"),
        max_delay=general.number("hook_retry_max_delay"),
        limit=general.integer("hook_retry_limit"),
    )


def config_fingerprint(config: Config) -> str:
    """Identify the configuration's content, so that editing it resets the hook back-off."""
    return sha256_hex(
        *(
            path.encode("utf-8", "surrogateescape") + b"\0" + _content(path) + b"\0"
            for path in config.files
        )
    )


def _content(path: str) -> bytes:
    try:
        return fsutil.read_bytes(path) or b""
    except OSError:  # read a moment ago by the loader; gone or replaced since: the path will do
        return b""
