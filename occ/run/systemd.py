"""The systemd modes: ``collect``, ``run-hook`` and ``commit``.

``os-collect-config.service`` runs ``collect`` as ``ExecCondition=``: it exits 0 when the hook
must run (and leaves ``hook.env`` and ``pending.json`` in the runtime directory), UNCHANGED (100)
when nothing is to be done, and ERROR (255) on any failure. The hook unit then runs
``run-hook`` with ``EnvironmentFile=hook.env``, and only if the hook succeeded does the service
run ``commit``, which marks exactly the bytes the hook saw as applied.
"""

from __future__ import annotations

import contextlib
import os

from occ.config.model import Config
from occ.core import fsutil
from occ.core.cache import Cache
from occ.errors import CacheBusy, CacheError, HookError
from occ.log import lazy
from occ.run import report
from occ.run.handoff import Handoff, retry_policy, withdraw
from occ.run.idle import handover_files
from occ.run.runner import locked, run_pass
from occ.status import ExitStatus

LOG = lazy.logger(__name__)

# A timer pass that finds the cache busy (a manual --one-time running its hook) skips quickly;
# the next tick tries again. Waiting would hold up every later timer tick.
COLLECT_LOCK_TIMEOUT_SECONDS = 5.0
# commit has no later tick: it waits longer for a manual pass to finish with the cache.
COMMIT_LOCK_TIMEOUT_SECONDS = 60.0


def _pending_path(config: Config) -> str:
    return handover_files(config)[1]


def _discard_handover(config: Config) -> None:
    """Remove the hand-over files. Raise CacheError if one exists and cannot be removed."""
    for path in handover_files(config):
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise CacheError(f"cannot remove the old hand-over {path}: {exc.strerror}") from exc


def collect(config: Config) -> int:
    """One automatic pass. Return OK if the hook must run, UNCHANGED otherwise.

    Raise CacheError if the cache or the runtime directory cannot be written.
    """
    _discard_handover(config)  # a hand-over from an earlier activation is never reused
    try:
        outcome = run_pass(
            config,
            lock_timeout=COLLECT_LOCK_TIMEOUT_SECONDS,
            force=False,
            automatic=True,
            deliver=lambda cache, handoff: _write_handover(config, cache, handoff),
        )
    except CacheBusy:
        LOG.info("another pass is using the cache; skipping this one")
        return ExitStatus.UNCHANGED
    return ExitStatus.UNCHANGED if outcome.delivered is None else ExitStatus.OK


def _write_handover(config: Config, cache: Cache, handoff: Handoff) -> int:
    """Write ``pending.json`` and ``hook.env``; on failure leave neither behind and withdraw
    the hook attempt. Raise CacheError if they cannot be written."""
    directory = os.path.dirname(config.hook_env_file) or "."
    try:
        fsutil.make_private_dir(directory, parents=True)
        try:
            fsutil.atomic_write(_pending_path(config), handoff.to_json(config.cachedir))
            fsutil.atomic_write(config.hook_env_file, handoff.env_file())
        except OSError as exc:
            raise CacheError(
                f"cannot write the hook hand-over in {directory}: {exc.strerror}"
            ) from exc
    except BaseException:
        # Half a hand-over must not reach commit, nor count as a hook that ran.
        with contextlib.suppress(CacheError):
            _discard_handover(config)
        withdraw(config, cache, handoff)
        raise
    return ExitStatus.OK


def run_hook(config: Config, environ: dict[str, str]) -> int:
    """Run the configured command with the files of the pending hand-over; return its status.

    The files come from the environment (the hook unit's ``EnvironmentFile=``) or, when run by
    hand, from the hook env file. Raise HookError if there is no pending hand-over.
    """
    names = ("OS_CONFIG_FILES", "OCC_CHANGED_FILES")
    variables: dict[str, str] = {k: environ[k] for k in names if k in environ}
    if "OS_CONFIG_FILES" not in variables:
        try:
            data = fsutil.read_bytes(config.hook_env_file, follow=False)
        except OSError as exc:
            raise HookError(f"cannot read {config.hook_env_file}: {exc.strerror}") from exc
        if data is None:
            raise HookError(
                f"nothing to apply: OS_CONFIG_FILES is not set and "
                f"{config.hook_env_file} does not exist (run 'collect' first)"
            )
        from occ.core import envfile  # run by hand only: the unit passes the environment

        try:
            variables = envfile.parse(data.decode("utf-8", "surrogateescape"))
        except ValueError as exc:
            raise HookError(f"{config.hook_env_file}: {exc}") from exc
    if not config.command:
        LOG.warning("no command is configured; nothing to run, the data counts as applied")
        return ExitStatus.OK
    from occ.core import hook

    code = hook.run(config.command, variables, timeout=config.general.number("hook_timeout"))
    report.record_hook_result(config, code)  # --status learns of a failure at once
    return code


def run_mode(mode: str, config: Config) -> int:
    """Run the systemd mode ``mode`` (collect, run-hook or commit); return its exit status."""
    if mode == "collect":
        return collect(config)
    if mode == "run-hook":
        return run_hook(config, dict(os.environ))
    return commit(config)


def commit(config: Config) -> int:
    """Mark the data of the pending hand-over as applied (``<key>.json.last``).

    Raise CacheError if the record is unreadable, belongs to another cache directory, or the
    cache cannot be written.
    """
    path = _pending_path(config)
    try:
        data = fsutil.read_bytes(path, follow=False)
    except OSError as exc:
        raise CacheError(f"cannot read {path}: {exc.strerror}") from exc
    if data is None:
        LOG.info("nothing to commit: %s does not exist", path)
        return ExitStatus.OK
    try:
        cachedir, handoff = Handoff.from_json(data)
    except (ValueError, RecursionError) as exc:
        raise CacheError(f"{path} is not a valid hand-over record: {exc}") from exc
    if cachedir != config.cachedir:
        raise CacheError(
            f"{path} was written for cachedir {cachedir}, "
            f"but the configured cachedir is {config.cachedir}"
        )
    cache = Cache(config.cachedir, config.backup_cachedir)
    with locked(cache, timeout=COMMIT_LOCK_TIMEOUT_SECONDS):
        committed = cache.commit(handoff.records)
        retry_policy(config, cache).succeeded()
    _discard_handover(config)
    LOG.info("committed: %s", ", ".join(committed) or "nothing changed")
    report.record_commit(config)
    return ExitStatus.OK
