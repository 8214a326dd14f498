"""A store-mode pass under the cache lock, and what it hands to the hook.

Shared by every store mode: ``--one-time``/``--force`` and continuous mode run the hook in
process; ``collect`` hands the same data to a separate hook unit and ``commit`` finishes it. In
both cases ``Handoff`` records exactly which bytes the hook was given, so that only those are
committed.
"""

from __future__ import annotations

import json
import logging
from typing import Any, NamedTuple

from occ.config.model import Config
from occ.core import fsutil, hook
from occ.core.cache import Cache
from occ.core.digest import sha256_hex
from occ.core.state import State
from occ.run import sources

LOG = logging.getLogger(__name__)


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
        summary = json.dumps([result.files, [(k, digests[k]) for k in keys]])
        return cls(
            files=tuple(result.files),
            changed_files=tuple(dict.fromkeys(cache.path(k) for k in changed)),
            records=tuple((k, digests[k]) for k in changed),
            digest=sha256_hex(summary.encode()),
        )

    def variables(self) -> dict[str, str]:
        return hook.environment(self.files, self.changed_files)

    def to_json(self, cachedir: str) -> bytes:
        record: dict[str, Any] = dict(self._asdict(), cachedir=cachedir)
        return json.dumps(record, indent=1).encode()

    @classmethod
    def from_json(cls, data: bytes) -> tuple[str, Handoff]:
        """Return (cachedir, handoff) from ``to_json`` output. Raise ValueError if malformed."""
        record = json.loads(data)
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
    hand-over has been recorded as an attempt. Caller holds the lock.
    """
    if not (result.changed or force):
        return None
    handoff = Handoff.of(cache, result)
    policy = retry_policy(config, cache)
    fingerprint = config_fingerprint(config)
    if automatic and not force and not policy.allows(handoff.digest, fingerprint):
        return None
    if force:
        policy.succeeded()  # --force starts over (doc/compatibility.rst, "Hook retry back-off")
    policy.handed_over(handoff.digest, fingerprint)
    return handoff


def retry_policy(config: Config, cache: Cache) -> hook.RetryPolicy:
    general = config.general
    return hook.RetryPolicy(
        State(cache.state_dir, "hook"),
        base_delay=general.number("polling_interval"),
        max_delay=general.number("hook_retry_max_delay"),
        limit=general.integer("hook_retry_limit"),
    )


def config_fingerprint(config: Config) -> str:
    """Identify the configuration's content, so that editing it resets the hook back-off."""
    return sha256_hex(
        *(path.encode() + b"\0" + (fsutil.read_bytes(path) or b"") + b"\0" for path in config.files)
    )
