"""The original's one-shot modes: print, and one pass with the hook in process.

Both share the pass of ``occ.passes``/``occ.handoff``; continuous mode (``occ.daemon``) repeats
``pass_and_hook``. Exit statuses are the original's (contract.md section 1.5): 0, or the hook's
status when it ran and failed.
"""

from __future__ import annotations

import json
import sys

from occ import passes
from occ.cache import Cache
from occ.handoff import locked, prepare, retry_policy, store_pass
from occ.settings import Config
from occ.state import State, state_dir

# How long a manual or continuous pass waits for another pass to release the cache.
LOCK_TIMEOUT_SECONDS = 3600.0


def print_mode(config: Config) -> int:
    """Collect once without writing anything; print the merged document on stdout."""
    directory = state_dir(config.cachedir)
    outcomes = passes.collect(config, store=False, state_dir=directory)
    passes.report(outcomes, State(directory, "health", writable=False))
    sys.stdout.write(json.dumps(passes.merged(outcomes), indent=1) + "\n")
    sys.stdout.flush()
    return 0


def one_pass(config: Config, *, force: bool = False) -> int:
    """Run one store-mode pass and, on a change (or ``force``), the hook; commit on success.

    Return the hook's status (0 when it did not run). Raise CacheError if the cache cannot be
    used.
    """
    return pass_and_hook(config, force=force, automatic=False)[1]


def pass_and_hook(config: Config, *, force: bool, automatic: bool) -> tuple[bool, int]:
    """Return (changed, hook status). ``automatic`` passes (continuous mode) respect the
    back-off for a failing hook; a manual pass always runs it when something changed."""
    cache = Cache(config.cachedir, config.backup_cachedir)
    with locked(cache, timeout=LOCK_TIMEOUT_SECONDS):
        result = store_pass(config, cache)
        handoff = prepare(config, cache, result, force=force, automatic=automatic)
        if handoff is None:
            return result.changed, 0
        from occ import hook

        code = hook.run(
            config.command, handoff.variables(), timeout=config.general.number("hook_timeout")
        )
        if code == 0:
            cache.commit(handoff.records)
            retry_policy(config, cache).succeeded()
        return result.changed, code
