"""The argument parser: the original's flags, generated from the option table.

Every option of ``occ.config.options`` with a command-line form gets its flag here, grouped by
section like the original's ``--help``; ``command_line`` turns the parsed arguments into the
``CommandLine`` that ``occ.config.loader`` takes.
"""

from __future__ import annotations

import argparse
import os

from occ import __version__
from occ.collectors import registry
from occ.config import loader, options
from occ.config.options import BOOL, DEFAULT_GROUP, Opt
from occ.status import SYSTEMD_MODES

DESCRIPTION = """\
Collect configuration metadata from the configured sources, cache it, and run a command
(usually os-refresh-config) with OS_CONFIG_FILES when anything changed.

systemd modes (first argument): 'collect' runs one pass and exits 0 when the hook must run,
100 when nothing changed, 255 on error; 'run-hook' runs the configured command for the
pending change; 'commit' marks the pending change as applied. 'retry' (for operators):
forget a failing hook's back-off and run a pass with the hook now."""


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
        usage="%(prog)s [collect|run-hook|commit|retry] [options] [collector ...]",
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
        "--status",
        action="store_true",
        help="show what the last passes found (sources, pending data, hook retries) and exit: "
        "0 healthy, 1 degraded, 3 failing, 4 unknown; never waits for a running pass",
    )
    parser.add_argument(
        "--json", action="store_true", help="with --status: print the status record as JSON"
    )
    parser.add_argument(
        "--check-config",
        action="store_true",
        help="validate the configuration files (unknown sections and keys count as errors "
        "here, though passes only warn about them), print every problem and exit: 0 if "
        "valid, 78 if not",
    )
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


def command_line(args: argparse.Namespace) -> loader.CommandLine:
    """Return what the parsed arguments say, in the form ``config.load`` takes."""
    given = vars(args)
    values = {}
    for dest, value in given.items():
        group, dot, name = dest.partition(".")
        if dot:
            values[(group, name)] = value
    files, dirs = given.get("config_file"), given.get("config_dir")
    return loader.CommandLine(
        values=values,
        collectors=tuple(given.get("collectors", ())),
        config_files=tuple(files) if files is not None else None,
        config_dirs=tuple(dirs) if dirs is not None else None,
    )


def completion_script(shell: str, parser: argparse.ArgumentParser) -> str:
    words = sorted({s for a in parser._actions for s in a.option_strings} | set(registry.REGISTRY))
    words += list(SYSTEMD_MODES)
    script = f'complete -W "{" ".join(words)}" os-collect-config\n'
    return ("autoload -U +X bashcompinit && bashcompinit\n" + script) if shell == "zsh" else script
