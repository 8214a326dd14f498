"""The one mode dispatch, and the one place that maps errors to exit statuses.

``os-collect-config [options] [collector ...]`` behaves as the original (print, one-time,
force, continuous); ``os-collect-config collect|run-hook|commit [options]`` are the systemd
modes (``occ.cli.entry`` tells them apart, once). Every ``OccError`` raised anywhere ends here
and becomes one log line plus a status from ``occ.status``.
"""

from __future__ import annotations

from occ.cli import quick
from occ.config import loader
from occ.config.options import DEFAULT_GROUP
from occ.errors import CacheError, ConfigError, OccError
from occ.log import lazy
from occ.status import ExitStatus

# Imported where used, not here: an idle pass ends in occ.run.idle before it needs logging,
# typing or the collector registry, and each costs it a noticeable share of its start-up
# (doc/performance.rst).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any, Callable

    from occ.config.model import Config, Section


def main(mode: str | None, argv: Sequence[str]) -> int:
    """Run ``mode`` (a systemd mode, or None for the original's modes) with the remaining
    arguments ``argv``; return the exit status.

    Usage errors raise SystemExit(2) from argparse; everything else returns.
    """
    # The units' own argument lists skip argparse (occ.cli.quick); only a mode has them.
    cmdline = quick.command_line(argv) if mode else None
    if cmdline is not None:
        loaded = _loaded_quietly(cmdline) if mode == "collect" else None
        # A pass with warnings about its configuration has them to log: not an idle one.
        if loaded is not None and not loader.warnings_pending() and _answered_idle(loaded):
            return ExitStatus.UNCHANGED
        _configure_early(False)
        return _guarded(mode, lambda: _run(mode, cmdline, loaded))
    from occ.cli import parser

    argument_parser = parser.build_parser()
    args = argument_parser.parse_args(argv)
    full = parser.command_line(args)
    _configure_early(bool(full.values.get((DEFAULT_GROUP, "debug"))))
    return _guarded(mode, lambda: _dispatch(mode, args, full, argument_parser))


def _loaded_quietly(cmdline: loader.CommandLine) -> Config | None:
    """Return the configuration, or None if it cannot be loaded (the full pass loads it again,
    with logging set up, and reports why)."""
    try:
        return loader.load(cmdline)
    except OccError:
        return None


def _answered_idle(settings: Config) -> bool:
    """Return True if the idle check answered this ``collect`` pass (occ.run.idle)."""
    from occ.run import idle

    try:
        return idle.answer(settings)
    except (OccError, OSError):
        return False  # the full pass meets the same problem, and reports it


def _configure_early(debug: bool) -> None:
    """Log to stderr until the configuration is read: set up by the first record (occ.log.lazy),
    so that a pass that logs nothing never loads ``logging``."""

    def setup() -> None:
        from occ.log import logsetup

        logsetup.configure_early(debug)

    lazy.defer(setup, lazy.DEBUG if debug else lazy.INFO)


def _configure(general: Section) -> None:
    """Apply the ``[DEFAULT]`` logging options; by the first record (occ.log.lazy) unless they
    name a log file, syslog or a logging configuration file. Those can fail, and their failure is
    the pass's configuration error, reported now (ConfigError)."""
    from occ.log import plain

    def setup() -> None:
        from occ.log import logsetup

        logsetup.configure(general)

    if plain.can_fail(general):
        lazy.now(setup)
    else:
        lazy.defer(setup, lazy.DEBUG if general.flag("debug") else lazy.INFO)


def _guarded(mode: str | None, run: Callable[[], int]) -> int:
    """Return ``run()``, or the exit status of the OccError it raised (logged in one line)."""
    try:
        return run()
    except OccError as exc:
        lazy.log("occ", lazy.ERROR, "%s", exc)
        return ExitStatus.ERROR if mode else _legacy_status(exc)


def _dispatch(
    mode: str | None, args: Any, cmdline: loader.CommandLine, argument_parser: Any
) -> int:
    from occ.cli import parser

    if getattr(args, "shell_completion", None):
        print(parser.completion_script(args.shell_completion, argument_parser), end="")
        return ExitStatus.OK
    if getattr(args, "check_config", False) and not mode:
        from occ.cli import configcheck

        return configcheck.check(cmdline)
    if getattr(args, "status", False) and not mode:
        from occ.cli import status

        return status.show(_readable_config(cmdline), as_json=bool(getattr(args, "json", 0)))
    return _run(mode, cmdline)


def _legacy_status(exc: OccError) -> int:
    if isinstance(exc, ConfigError):
        return ExitStatus.CONFIG
    if isinstance(exc, CacheError):
        return ExitStatus.CACHE
    return ExitStatus.ERROR


def _checked(settings: Config) -> Config:
    """Return ``settings`` once its collectors are known and usable. Raise ConfigError if not."""
    from occ.collectors import registry

    for message in loader.take_warnings():  # loading does not log (occ.config.loader)
        lazy.log("occ", lazy.WARNING, "%s", message)
    registry.validate(settings.collectors)
    registry.check_requirements(settings)
    return settings


def _run(mode: str | None, cmdline: loader.CommandLine, loaded: Config | None = None) -> int:
    settings = loaded if loaded is not None else loader.load(cmdline)
    _configure(settings.general)
    if settings.notices:  # the usual pass has none, and need not load the reporting
        from occ.cli import configcheck

        # Print mode writes nothing, not even the record that the notices were shown; every
        # other mode writes the cache anyway.
        prints = not mode and (settings.general.flag("print_only") or not settings.command)
        configcheck.report_notices(settings, remember=not prints)
    if settings.general.flag("print_cachedir") and not mode:
        print(settings.cachedir)
        return ExitStatus.OK
    _checked(settings)
    files = ", ".join(settings.files) or "defaults only"
    lazy.log("occ", lazy.DEBUG, "configuration read from: %s", files)
    if mode == "retry":
        from occ.run import retry

        return retry.retry_now(settings)
    if mode:
        from occ.run import systemd

        return systemd.run_mode(mode, settings)
    from occ.run import legacy

    general = settings.general
    if general.flag("print_only") or not settings.command:
        return legacy.print_mode(settings)
    if general.flag("force") or general.flag("one_time"):
        return legacy.one_pass(settings, force=bool(general.flag("force")))
    from occ.run import continuous

    return continuous.continuous(lambda: _checked(loader.load(cmdline)), settings)


def _readable_config(cmdline: loader.CommandLine) -> Config:
    """Return the configuration for --status; the defaults if it cannot be read (a monitor
    running as another user cannot read a root-only file with passwords in it)."""
    found = loader.inspect(cmdline)
    if found.config is not None:
        return found.config
    return loader.load(cmdline._replace(config_files=(), config_dirs=()))
