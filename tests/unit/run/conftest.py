"""Shared fixtures for the run modes, in process: a throw-away instance with local sources.

``site.config()`` loads a real configuration file whose cache, backup, hand-over files and
sources all live under tmp_path; ``site.set_local(name, doc)`` changes the metadata; the hook
(``site.hook_command``) is a real shell command that appends one line per run to ``site.marker``
and exits with the status in ``site.fail_file`` when that file exists.
"""

from __future__ import annotations

import json
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from occ.config import loader
from occ.config.model import Config


class Site:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.cachedir = root / "cache"
        self.backup = root / "backup"
        self.local_data = root / "local-data"
        self.heat_local = root / "cfn-init-data"
        self.runtime = root / "run"
        self.hook_env = self.runtime / "hook.env"
        self.pending = self.runtime / "pending.json"
        self.marker = root / "hook-ran"
        self.fail_file = root / "hook-fail"
        self.config_file = root / "os-collect-config.conf"
        self.local_data.mkdir(mode=0o700)
        self.hook_command = (
            f'echo "$OS_CONFIG_FILES" >> {self.marker}; '
            f'[ -e {self.fail_file} ] && exit "$(cat {self.fail_file})"; exit 0'
        )

    def config(
        self, extra: str = "", *, command: str | None = None, cachedir: Path | None = None
    ) -> Config:
        """Write the configuration file and load it as the program does."""
        command = self.hook_command if command is None else command
        cachedir = self.cachedir if cachedir is None else cachedir
        self.config_file.write_text(
            textwrap.dedent(f"""\
            [DEFAULT]
            command = {command.replace("$", "$$")}
            cachedir = {cachedir}
            backup_cachedir = {self.backup}
            hook_env_file = {self.hook_env}
            status_file = {self.root}/status/status.json
            collectors = heat_local
            collectors = local

            [heat_local]
            path = {self.heat_local}

            [local]
            path = {self.local_data}
            """)
            + textwrap.dedent(extra)
        )
        cmdline = loader.CommandLine(config_files=(str(self.config_file),), config_dirs=())
        return loader.load(cmdline, environ={"HOME": str(self.root)})

    def set_local(self, name: str, document: Any) -> None:
        (self.local_data / name).write_text(json.dumps(document))

    def set_heat_local(self, document: Any) -> None:
        self.heat_local.write_text(json.dumps(document))

    def hook_runs(self) -> list[str]:
        """OS_CONFIG_FILES of every hook run so far."""
        return self.marker.read_text().splitlines() if self.marker.exists() else []

    def fail_hook(self, status: int | None) -> None:
        if status is None:
            self.fail_file.unlink(missing_ok=True)
        else:
            self.fail_file.write_text(str(status))

    def cached(self, name: str) -> Path:
        return self.cachedir / name

    # The hook back-off record, driven through its state instead of by sleeping.

    @property
    def hook_state(self) -> Path:
        return self.cachedir / ".occ" / "hook.state"

    def retry_record(self) -> dict:
        return json.loads(self.hook_state.read_text()) if self.hook_state.exists() else {}

    def set_next_attempt(self, seconds_from_now: float) -> None:
        record = self.retry_record()
        assert record, "no hook.state record to rewrite"
        record["next_attempt"] = time.time() + seconds_from_now
        self.hook_state.write_text(json.dumps(record))


@pytest.fixture
def site(tmp_path: Path) -> Site:
    return Site(tmp_path)
