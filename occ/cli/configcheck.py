"""Telling the operator about the configuration: ``--check-config``, and the notices about
unknown names that a pass logs once per change of the files.

Passes keep the original's rule (unknown sections and keys are ignored) but no longer in
silence: each notice is a WARNING on the first pass after the files change and DEBUG after
that, so the journal is not repeating it every 30 seconds. ``--check-config`` treats the same
names as errors, because a typo there is what the operator is looking for.
"""

from __future__ import annotations

import contextlib
import os

from occ.collectors import registry
from occ.config import loader
from occ.config.model import Config
from occ.core.state import State, state_dir
from occ.errors import ConfigError
from occ.log import lazy
from occ.run.handoff import config_fingerprint
from occ.status import ExitStatus

LOG = lazy.logger("occ")


def report_notices(config: Config, *, remember: bool) -> None:
    """Log ``config.notices``: WARNING unless these files were reported already. With
    ``remember``, record that they were (in the state directory, if it exists yet)."""
    if not config.notices:
        return
    directory = state_dir(config.cachedir)
    state = State(directory, "config", writable=remember)
    fingerprint = config_fingerprint(config)
    reported = state.load().get("reported") == fingerprint
    for notice in config.notices:
        LOG.log(lazy.DEBUG if reported else lazy.WARNING, "%s", notice)
    # The state directory is created under the cache lock by the pass; until then the notices
    # are simply repeated. Advisory state: failing to record it never fails a pass.
    if not reported and remember and os.path.isdir(directory):
        with contextlib.suppress(OSError):
            state.save({"reported": fingerprint})


def check(cmdline: loader.CommandLine) -> int:
    """Validate the configuration ``cmdline`` names and print every problem and unknown name.

    Return OK if there are none, CONFIG otherwise.
    """
    found = loader.inspect(cmdline)
    problems = list(found.problems)
    if found.config is not None:
        problems += _collector_problems(found.config)
    for line in [*problems, *found.notices]:
        print(line)
    files = ", ".join(found.config.files) if found.config else "the configuration"
    if problems or found.notices:
        print(f"{len(problems)} error(s), {len(found.notices)} unknown name(s)")
        return ExitStatus.CONFIG
    print(f"configuration OK: {files or 'defaults only'}")
    return ExitStatus.OK


def _collector_problems(config: Config) -> list[str]:
    problems: list[str] = []
    try:
        registry.validate(config.collectors)
    except ConfigError as exc:
        problems += exc.problems
    try:
        registry.check_requirements(config)
    except ConfigError as exc:
        problems += exc.problems
    return problems
