"""The command line: original-compatible flags, and the one place that maps outcomes to exit
statuses.

``os-collect-config [options] [collector ...]`` behaves as the original (print, one-time,
force, continuous). ``os-collect-config collect|run-hook|commit [options]`` are the systemd
modes. Every ``OccError`` raised anywhere ends here and becomes one log line plus a status from
``occ.status``.
"""

from __future__ import annotations

import argparse
import logging
import os
from collections.abc import Sequence

from occ import __version__, collectors, config, logsetup, options
from occ.entry import SYSTEMD_MODES
from occ.errors import CacheError, ConfigError, OccError
from occ.options import BOOL, DEFAULT_GROUP, Opt
from occ.status import ExitStatus

LOG = logging.getLogger("occ")

DESCRIPTION = """\
Collect configuration metadata from the configured sources, cache it, and run a command
(usually os-refresh-config) with OS_CONFIG_FILES when anything changed.

systemd modes (first argument): 'collect' runs one pass and exits 0 when the hook must run,
100 when nothing changed, 255 on error; 'run-hook' runs the configured command for the
pending change; 'commit' marks the pending change as applied."""


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """argparse's formatter, sized without ``shutil``: argparse builds one per argument, and
    importing shutil for it costs every pass about 2 ms of start-up."""

    def __init__(self, prog: str) -> None:
        try:
            width = int(os.environ.get("COLUMNS", "")) or os.get_terminal_size().columns
        except (ValueError, OSError):
            width = 80
        super().__init__(prog, width=max(width - 2, 40))


def _add(parser: argparse._ActionsContainer, group: str, opt: Opt) -> None:
    dest = f"{group}.{opt.name}"
    stem = opt.flag_name(group)
    names = [f"--{stem}"] + [f"--{a}" for a in options.FLAG_ALIASES.get(stem, ())]
    names += [opt.short] if opt.short else []
    help_text = opt.help + (f" (default: {_show_default(opt)})" if opt.default else "")
    help_text = help_text.replace("%", "%%")  # argparse expands %-formats in help
    if opt.kind == BOOL:
        parser.add_argument(*names, dest=dest, action="store_const", const=True, help=help_text)
        # oslo.config spells the inverse --noname, or --group-noname inside a group.
        base = opt.flag or opt.name.replace("_", "-")
        negated = f"--no{base}" if group == DEFAULT_GROUP else f"--{group}-no{base}"
        parser.add_argument(
            negated, dest=dest, action="store_const", const=False, help=f"the inverse of --{stem}"
        )
    else:
        action = "append" if opt.multi else "store"
        metavar = opt.name.upper()
        parser.add_argument(
            *names,
            dest=dest,
            action=action,
            metavar=metavar,
            choices=opt.choices or None,
            help=help_text,
        )


def _show_default(opt: Opt) -> str:
    if isinstance(opt.default, tuple):
        return " ".join(opt.default)
    return str(opt.default)


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser, grouped like the original's --help."""
    parser = argparse.ArgumentParser(
        prog="os-collect-config",
        description=DESCRIPTION,
        argument_default=argparse.SUPPRESS,
        formatter_class=_HelpFormatter,
        usage="%(prog)s [collect|run-hook|commit] [options] [collector ...]",
    )
    parser.add_argument(
        "collectors",
        nargs="*",
        metavar="collector",
        help=f"collectors to run, in order (default: {' '.join(options.DEFAULT_COLLECTORS)})",
    )
    parser.add_argument(
        "--config-file",
        action="append",
        metavar="PATH",
        help="configuration file to read instead of the default search "
        "(~/os-collect-config.conf, /etc/os-collect-config.conf); repeatable",
    )
    parser.add_argument(
        "--config-dir",
        action="append",
        metavar="DIR",
        help="directory of *.conf files read after the config files; repeatable",
    )
    parser.add_argument("--version", action="version", version=__version__)
    parser.add_argument(
        "--shell_completion",
        choices=("bash", "zsh"),
        help="print a shell completion script and exit",
    )
    for opt in options.GENERAL + options.LOGGING:
        if opt.cli:
            _add(parser, DEFAULT_GROUP, opt)
    for group in sorted(options.GROUPS):
        container = parser.add_argument_group(f"{group} options")
        for opt in options.GROUPS[group]:
            _add(container, group, opt)
    return parser


def command_line(args: argparse.Namespace) -> config.CommandLine:
    """Return what the parsed arguments say, in the form ``config.load`` takes."""
    given = vars(args)
    values = {}
    for dest, value in given.items():
        group, dot, name = dest.partition(".")
        if dot:
            values[(group, name)] = value
    files, dirs = given.get("config_file"), given.get("config_dir")
    return config.CommandLine(
        values=values,
        collectors=tuple(given.get("collectors", ())),
        config_files=tuple(files) if files is not None else None,
        config_dirs=tuple(dirs) if dirs is not None else None,
    )


def completion_script(shell: str, parser: argparse.ArgumentParser) -> str:
    words = sorted(
        {s for a in parser._actions for s in a.option_strings} | set(collectors.REGISTRY)
    )
    words += list(SYSTEMD_MODES)
    script = f'complete -W "{" ".join(words)}" os-collect-config\n'
    return ("autoload -U +X bashcompinit && bashcompinit\n" + script) if shell == "zsh" else script


def main(argv: Sequence[str]) -> int:
    """Run the program with ``argv`` (without the program name); return the exit status.

    Usage errors raise SystemExit(2) from argparse; everything else returns.
    """
    mode = argv[0] if argv and argv[0] in SYSTEMD_MODES else None
    parser = build_parser()
    args = parser.parse_args(argv[1:] if mode else argv)
    cmdline = command_line(args)
    logsetup.configure_early(bool(cmdline.values.get((DEFAULT_GROUP, "debug"))))
    try:
        if getattr(args, "shell_completion", None):
            print(completion_script(args.shell_completion, parser), end="")
            return ExitStatus.OK
        return _run(mode, cmdline)
    except OccError as exc:
        LOG.error("%s", exc)
        return ExitStatus.ERROR if mode else _legacy_status(exc)


def _legacy_status(exc: OccError) -> int:
    if isinstance(exc, ConfigError):
        return ExitStatus.CONFIG
    if isinstance(exc, CacheError):
        return ExitStatus.CACHE
    return ExitStatus.ERROR


def _checked(settings: config.Config) -> config.Config:
    """Return ``settings`` once its collectors are known and usable. Raise ConfigError if not."""
    collectors.validate(settings.collectors)
    collectors.check_requirements(settings)
    return settings


def _run(mode: str | None, cmdline: config.CommandLine) -> int:
    settings = config.load(cmdline)
    logsetup.configure(settings.general)
    if settings.general.flag("print_cachedir") and not mode:
        print(settings.cachedir)
        return ExitStatus.OK
    _checked(settings)
    LOG.debug("configuration read from: %s", ", ".join(settings.files) or "defaults only")
    if mode:
        from occ import split

        return split.run_mode(mode, settings)
    from occ import modes

    general = settings.general
    if general.flag("print_only") or not settings.command:
        return modes.print_mode(settings)
    if general.flag("force") or general.flag("one_time"):
        return modes.one_pass(settings, force=bool(general.flag("force")))
    from occ import daemon

    return daemon.continuous(lambda: _checked(config.load(cmdline)), settings)
