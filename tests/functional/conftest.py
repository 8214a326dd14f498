"""A throw-away instance for functional tests: local metadata, a cache, a recording hook."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

# The hook records what it received, one JSON line per run, and fails while FAIL_FILE exists.
HOOK = """\
#!/bin/sh
python3 - "$@" <<'EOF' >> "{log}"
import json, os
files = os.environ.get("OS_CONFIG_FILES", "")
print(json.dumps({{
    "files": files,
    "changed": os.environ.get("OCC_CHANGED_FILES"),
    "contents": {{f: open(f).read() for f in files.split(":") if f}},
}}))
EOF
[ -e "{fail}" ] && exit "$(cat "{fail}")"
exit 0
"""


class Instance:
    """Paths of one instance under a temporary directory, and helpers to change its metadata."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.cachedir = root / "cache"
        self.backup = root / "backup"
        self.local_data = root / "local-data"
        self.cfn_init_data = root / "cfn-init-data"
        self.runtime = root / "run"
        self.hook_log = root / "hook.log"
        self.fail_file = root / "hook-fail"
        self.hook = root / "hook.sh"
        self.config = root / "os-collect-config.conf"
        self.status_file = root / "status" / "status.json"
        root.mkdir(parents=True, exist_ok=True)
        self.local_data.mkdir(mode=0o700)
        self.hook.write_text(HOOK.format(log=self.hook_log, fail=self.fail_file))
        self.hook.chmod(0o755)
        self.write_config()

    def write_config(self, extra: str = "", command: str | None = None) -> None:
        command = str(self.hook) if command is None else command
        self.config.write_text(
            textwrap.dedent(f"""\
            [DEFAULT]
            command = {command}
            cachedir = {self.cachedir}
            backup_cachedir = {self.backup}
            hook_env_file = {self.runtime}/hook.env
            status_file = {self.status_file}
            polling_interval = 1
            collectors = heat_local
            collectors = local

            [heat_local]
            path = {self.cfn_init_data}

            [local]
            path = {self.local_data}
            """)
            + textwrap.dedent(extra)
        )

    def args(self, *more: str) -> list[str]:
        return ["--config-file", str(self.config), *more]

    def set_local(self, name: str, document: object) -> Path:
        path = self.local_data / name
        path.write_text(json.dumps(document))
        return path

    def set_heat_local(self, document: object) -> None:
        self.cfn_init_data.write_text(json.dumps(document))

    def hook_runs(self) -> list[dict]:
        if not self.hook_log.exists():
            return []
        return [json.loads(line) for line in self.hook_log.read_text().splitlines()]

    def fail_hook(self, status: int | None) -> None:
        if status is None:
            self.fail_file.unlink(missing_ok=True)
        else:
            self.fail_file.write_text(str(status))

    def commit(self) -> None:
        """Run ``os-collect-config commit``, as the service does after a successful hook."""
        from tests.conftest import REPO

        subprocess.run(
            [sys.executable, "-m", "occ", "commit", *self.args()],
            check=True,
            env={"PYTHONPATH": str(REPO), "HOME": str(self.root)},
            capture_output=True,
        )

    def cached(self, name: str) -> bytes:
        return (self.cachedir / name).read_bytes()

    def mode(self, path: Path) -> int:
        return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def instance(tmp_path: Path) -> Instance:
    return Instance(tmp_path / "instance")
