"""The original's one-shot modes: print, and one pass with the hook run in this process.

``--one-time``/``--force`` and continuous mode (``occ.run.continuous``) go through
``occ.run.runner.run_pass`` and deliver the data by running the hook here and committing on
success. Exit statuses are the original's (doc/compatibility.rst, "Exit statuses"): 0, or the
hook's status when it ran and failed.
"""

from __future__ import annotations

import json
import sys

from occ.config.model import Config
from occ.core import hook
from occ.core.cache import Cache
from occ.core.state import State, state_dir
from occ.errors import HookError
from occ.run import sources
from occ.run.handoff import Handoff, retry_policy, withdraw
from occ.run.runner import run_pass

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Callable

# How long a manual or continuous pass waits for another pass to release the cache.
LOCK_TIMEOUT_SECONDS = 3600.0


def print_mode(config: Config) -> int:
    """Collect once without writing anything; print the merged document on stdout."""
    directory = state_dir(config.cachedir)
    outcomes = sources.collect(config, store=False, state_dir=directory)
    sources.report(outcomes, State(directory, "health", writable=False))
    sys.stdout.write(json.dumps(sources.merged(outcomes), indent=1) + "\n")
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
    outcome = run_pass(
        config,
        lock_timeout=LOCK_TIMEOUT_SECONDS,
        force=force,
        automatic=automatic,
        deliver=_hook_in_process(config),
        mode="force" if force else ("continuous" if automatic else "one-time"),
        hook_in_process=True,
    )
    return outcome.changed, outcome.delivered or 0


def _hook_in_process(config: Config) -> Callable[[Cache, Handoff], int]:
    def deliver(cache: Cache, handoff: Handoff) -> int:
        timeout = config.general.number("hook_timeout")
        try:
            code = hook.run(config.command, handoff.variables(), timeout=timeout)
        except HookError:  # the shell did not start: no attempt of the hook
            withdraw(config, cache, handoff)
            raise
        if code == 0:
            cache.commit(handoff.records)
            retry_policy(config, cache).succeeded()
        return code

    return deliver
