"""The program ends without the interpreter's finalization (occ.cli.entry.run), and loses nothing
by it: statuses, output, log files and the status record are all there."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.conftest import REPO

PROBE = """
import atexit, sys
atexit.register(lambda: print("finalized", flush=True))
{before}
sys.argv = ["os-collect-config", *{args!r}]
from occ.cli.entry import run
run()
"""


def program(instance, *args, before=""):
    # No COVERAGE_* variables: coverage is not loaded, so the fast exit is taken.
    env = {"PYTHONPATH": str(REPO), "HOME": str(instance.root), "PATH": os.environ["PATH"]}
    code = PROBE.format(args=list(args), before=before)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)


def test_a_pass_ends_without_finalization_and_keeps_its_status_and_output(instance):
    instance.set_local("a.json", {"a": 1})
    instance.set_heat_local({"h": 1})
    changed = program(instance, "collect", *instance.args())
    assert changed.returncode == 0, changed.stderr
    assert "finalized" not in changed.stdout  # atexit work was skipped ...
    assert "NOTICE changed: heat_local, a.json" in changed.stderr  # ... and nothing was lost
    assert json.loads(instance.status_file.read_text())["last_pass"]["result"] == "changed"
    printed = program(instance, "--print", *instance.args())
    assert printed.returncode == 0
    assert json.loads(printed.stdout)["a.json"] == {"a": 1}


def test_log_files_get_every_line(instance):
    log = instance.root / "occ.log"
    instance.write_config(f"[DEFAULT]\nlog_file = {log}\n")
    instance.set_local("a.json", {"a": 1})
    assert program(instance, "collect", *instance.args()).returncode == 0
    assert "NOTICE changed: a.json" in log.read_text()


def test_measuring_tools_get_the_normal_exit(instance):
    instance.set_local("a.json", {"a": 1})
    result = program(instance, "collect", *instance.args(), before="import cProfile")
    assert result.returncode == 0
    assert "finalized" in result.stdout


def test_a_closed_stdout_is_not_an_error(instance):
    instance.set_local("a.json", {"a": list(range(20000))})
    reader = subprocess.Popen(
        ["head", "-c", "10"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL
    )
    env = {"PYTHONPATH": str(REPO), "HOME": str(instance.root), "PATH": os.environ["PATH"]}
    writer = subprocess.run(
        [sys.executable, "-m", "occ", "--print", *instance.args()],
        stdout=reader.stdin,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    reader.stdin.close()  # type: ignore[union-attr]
    reader.wait()
    assert writer.returncode == 0, writer.stderr
    assert "Traceback" not in writer.stderr
