"""Loading the configuration: files, directories, environment and command line, validated
completely and then frozen.

Precedence and file discovery follow oslo.config exactly as os-collect-config used it
(doc/compatibility.rst, "Precedence"): scalars take the command line, then
``OS_<GROUP>__<KEY>``, then the last file that sets them, then the default; multi-valued options
accumulate across files and the command line appends to them; positional collectors replace
the configured list. Every problem is collected and reported at once as ``ConfigError``.
"""

from __future__ import annotations

import os
from types import MappingProxyType

from occ import redact
from occ.config import ini, options, values
from occ.config.model import Config, Section
from occ.config.options import DEFAULT_GROUP, Opt, Value
from occ.errors import ConfigError

TYPE_CHECKING = False  # typing costs an idle pass its start-up time again (occ.records)
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import NamedTuple
else:
    from occ.records import NamedTuple

NAME = "os-collect-config"


class CommandLine(NamedTuple):
    """What the command line said, before any file is read."""

    values: Mapping[tuple[str, str], object] = {}  # (group, name) -> str, bool or list of str
    collectors: tuple[str, ...] = ()
    config_files: tuple[str, ...] | None = None
    config_dirs: tuple[str, ...] | None = None


class Raw(NamedTuple):
    """One value as given, with where it came from (for problem messages)."""

    value: object
    where: str
    text: bool = True  # False: already typed (CLI booleans)


def _home(environ: Mapping[str, str]) -> str:
    home = environ.get("HOME")
    if home:
        return home
    import pwd  # only when HOME is unset, as under some init systems

    return pwd.getpwuid(os.getuid()).pw_dir


def environment_name(group: str, opt: Opt) -> str:
    """Return the environment variable that sets ``opt`` of ``group`` (oslo's naming)."""
    return f"OS_{group.upper()}__{opt.name.upper()}"


def set_from_environment(environ: Mapping[str, str]) -> bool:
    """Return True if ``environ`` sets any option."""
    return any(
        environment_name(group, opt) in environ
        for group, opts in options.SECTIONS.items()
        for opt in opts
    )


def discover(cmdline: CommandLine, environ: Mapping[str, str]) -> tuple[list[str], list[str]]:
    """Return (problems, files) in parse order: config files first, then config-dir files."""
    home = _home(environ)
    file_problems, files = _chosen(
        cmdline.config_files, [os.path.join(home, f"{NAME}.conf"), f"/etc/{NAME}.conf"], "file"
    )
    dir_problems, dirs = _chosen(
        cmdline.config_dirs,
        [os.path.join(home, f"{NAME}.conf.d"), f"/etc/{NAME}.conf.d"],
        "directory",
    )
    problems = file_problems + dir_problems
    for directory in dirs:
        names = sorted(n for n in os.listdir(directory) if n.endswith(".conf"))
        files += [os.path.join(directory, n) for n in names]
    return problems, files


def _chosen(
    given: Sequence[str] | None, candidates: Sequence[str], kind: str
) -> tuple[list[str], list[str]]:
    """Return (problems, paths): every given path that exists (one problem per missing one),
    or else the first candidate that exists (oslo's search: none of them is an error)."""
    exists = os.path.isfile if kind == "file" else os.path.isdir
    if given is None:
        return [], [path for path in candidates if exists(path)][:1]
    return [f"{p}: config {kind} not found" for p in given if not exists(p)], [
        p for p in given if exists(p)
    ]


def _file_values(
    files: Sequence[str], problems: list[str], notices: list[str]
) -> dict[tuple[str, str], list[Raw]]:
    """Read every file; return the raw values of known options. Syntax problems go to
    ``problems`` (the well-formed lines are still used, so every problem shows at once),
    unknown names to ``notices``."""
    found: dict[tuple[str, str], list[Raw]] = {}
    seen: set[tuple[str, str]] = set()
    for path in files:
        try:
            entries, syntax = ini.read_all(path)
        except ConfigError as exc:
            problems.extend(exc.problems)
            continue
        problems.extend(syntax)
        for entry in entries:
            opt = options.find(entry.section, entry.key)
            if opt is not None:
                where = f"{path}: [{entry.section}] {entry.key}"
                found.setdefault((entry.section, opt.name), []).append(Raw(entry.value, where))
                continue
            from occ.config import unknown  # most configurations name nothing unknown

            text = unknown.notice(entry, seen)
            if text is not None:
                notices.append(text)
    return found


class _Resolver:
    """Computes each option's final typed value once, following references between options."""

    def __init__(self, files: Mapping, environ: Mapping[str, str], cmdline: CommandLine):
        self.files = files
        self.environ = environ
        self.cmdline = cmdline
        self.problems: list[str] = []
        self.done: dict[tuple[str, str], Value] = {}
        self.active: list[tuple[str, str]] = []

    def raw(self, group: str, opt: Opt) -> list[Raw]:
        """Return the raw values that decide the option, lowest precedence first."""
        key = (group, opt.name)
        env_name = environment_name(group, opt)
        from_files: list[Raw] = list(self.files.get(key, ()))
        from_env = (
            [Raw(self.environ[env_name], f"environment: {env_name}")]
            if env_name in self.environ
            else []
        )
        given = self.cmdline.values.get(key)
        flag = f"command line: --{opt.flag_name(group)}"
        if opt.multi:
            if key == (DEFAULT_GROUP, "collectors") and self.cmdline.collectors:
                return [Raw(c, "command line: collectors") for c in self.cmdline.collectors]
            base = from_env or from_files  # an environment value replaces the file values
            given_items: Sequence[object] = given if isinstance(given, (list, tuple)) else ()
            return base + [Raw(v, flag) for v in given_items]
        if given is not None:
            return [Raw(given, flag, text=isinstance(given, str))]
        return (from_env or from_files)[-1:]

    def value(self, group: str, opt: Opt) -> Value:
        key = (group, opt.name)
        if key in self.done:
            return self.done[key]
        if key in self.active:
            chain = " -> ".join(f"${n}" for _, n in self.active[self.active.index(key) :])
            raise values.InvalidValueError(f"circular reference {chain} -> ${opt.name}")
        self.active.append(key)
        try:
            result = self._compute(group, opt)
        finally:
            self.active.pop()
        self.done[key] = result
        return result

    def _compute(self, group: str, opt: Opt) -> Value:
        raws = self.raw(group, opt)
        typed = [self._typed(group, opt, raw) for raw in raws]
        if opt.multi:
            kept = tuple(v for v in typed if v is not None)
            return kept if raws else opt.default  # type: ignore[return-value]
        return typed[-1] if raws else opt.default

    def _typed(self, group: str, opt: Opt, raw: Raw) -> Value:
        if not raw.text:
            return _clamped(opt, raw, raw.value)  # type: ignore[arg-type]
        try:
            text = values.interpolate(opt, str(raw.value), lambda ref: self._lookup(group, ref))
            result = values.convert(opt, text, written=str(raw.value))
        except values.InvalidValueError as exc:
            self.problems.append(f"{raw.where}: {exc}")
            return None if opt.multi else opt.default
        if opt.secret:
            redact.register(result)
        return _clamped(opt, raw, result)

    def _lookup(self, group: str, reference: str) -> str | None:
        ref_group, name = values.split_reference(reference, group)
        for candidate in dict.fromkeys((ref_group, DEFAULT_GROUP)):
            opt = options.find(candidate, name)
            if opt is not None:
                return values.as_text(self.value(candidate, opt))
        return None


class Inspection(NamedTuple):
    """Everything loading found: the configuration (None if invalid), its problems, and the
    names it did not know."""

    config: Config | None
    problems: tuple[str, ...]
    notices: tuple[str, ...]


_clamp_warnings: set[str] = set()
# Warnings not yet logged: the caller logs them (take_warnings) once logging is set up, and
# loading itself stays free of the logging machinery (an idle pass may never need it).
_unlogged: list[str] = []


def warnings_pending() -> bool:
    """Return True if loading found something that ``take_warnings`` has not returned yet."""
    return bool(_unlogged)


def take_warnings() -> list[str]:
    """Return the warnings about the configuration that have not been logged yet, once."""
    taken = list(_unlogged)
    _unlogged.clear()
    return taken


def _clamped(opt: Opt, raw: Raw, value: Value) -> Value:
    """Return ``value``, or the option's documented maximum if it is larger, with a WARNING
    once per process (continuous mode reads the configuration before every pass)."""
    too_large = isinstance(value, (int, float)) and not isinstance(value, bool)
    if opt.maximum is None or not too_large or value <= opt.maximum:  # type: ignore[operator]
        return value
    limit = int(opt.maximum) if opt.kind == options.INT else opt.maximum
    message = f"{raw.where}: {str(raw.value)[:40]} is above the limit of {limit:g}; using {limit:g}"
    if message not in _clamp_warnings:
        _clamp_warnings.add(message)
        _unlogged.append(message)
    return limit


def load(cmdline: CommandLine, environ: Mapping[str, str] | None = None) -> Config:
    """Return the validated, frozen configuration; unknown names are in ``Config.notices``.

    Raise ConfigError listing every problem: missing or unreadable files, syntax errors,
    invalid values and unknown ``$name`` references, each naming where the value came from.
    """
    found = inspect(cmdline, environ)
    if found.config is None:
        raise ConfigError(found.problems)
    return found.config


def inspect(cmdline: CommandLine, environ: Mapping[str, str] | None = None) -> Inspection:
    """Load the configuration and return what was found, without raising for problems."""
    environ = os.environ if environ is None else environ
    problems, files = discover(cmdline, environ)
    notices: list[str] = []
    file_values = _file_values(files, problems, notices)
    resolver = _Resolver(file_values, environ, cmdline)
    sections: dict[str, Section] = {}
    for group, opts in options.SECTIONS.items():
        settings: dict[str, Value] = {}
        for opt in opts:
            try:
                settings[opt.name] = resolver.value(group, opt)
            except values.InvalidValueError as exc:
                problems.append(f"[{group}] {opt.name}: {exc}")
                settings[opt.name] = opt.default
        sections[group] = Section(group, settings)
    problems += resolver.problems
    unique = tuple(dict.fromkeys(problems))
    config = None if unique else Config(tuple(files), MappingProxyType(sections), tuple(notices))
    return Inspection(config, unique, tuple(notices))
