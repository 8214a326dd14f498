"""Hostile names, broken state, odd files and loose modes, through the real entry point.

Each case once crashed a pass with a traceback (issue 9, items 3, 4, 7 and 9). What must hold:
one line naming the file and the reason, the documented status (74 in the legacy modes, 255 in
``collect``), the other sources still processed, and no hook attempt counted for a hook that
did not run. doc/guarantees.rst lists them.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import pytest

from occ.core import envfile
from tests.fakes.server import FakeServer, Reply

CACHE, ERROR = 74, 255


def clean(result: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in result.stderr
    assert "internal error" not in result.stderr


def lines_about(result: subprocess.CompletedProcess, text: str) -> list[str]:
    return [line for line in result.stderr.splitlines() if text in line]


def hook_record(instance) -> dict:
    return json.loads((instance.cachedir / ".occ" / "hook.state").read_text())


def arguments(instance, mode: tuple[str, ...]) -> list[str]:
    return [*mode, *instance.args()] if mode[0] == "collect" else instance.args(*mode)


# Keys that are not valid UTF-8 (item 3)


def test_a_deployment_named_with_a_lone_surrogate_is_skipped_and_the_rest_delivered(occ, instance):
    body = (
        b'{"deployments": [{"name": "bad\\ud800", "config": {"x": 1}},'
        b' {"name": "good", "config": {"g": 1}}]}'
    )
    with FakeServer() as server:
        server.route("/doc", Reply(200, body, {"Content-Type": "application/json"}))
        instance.write_config(
            f"""
            [DEFAULT]
            collectors = request
            [request]
            metadata_url = {server.url}/doc
            """
        )
        result = occ(*instance.args("--one-time"), check=0)
    clean(result)
    assert len(lines_about(result, "not valid UTF-8")) == 1
    files = instance.hook_runs()[0]["files"].split(":")
    assert [os.path.basename(f) for f in files] == ["request.json", "good.json"]
    assert json.loads(instance.cached("os_config_files.json")) == files


def test_a_non_utf8_local_file_name_is_skipped_by_collect_and_no_attempt_is_miscounted(
    occ, instance
):
    instance.set_local("a.json", {"a": 1})
    (instance.local_data / os.fsdecode(b"bad\xff.json")).write_text("{}")
    result = occ("collect", *instance.args(), check=0)
    clean(result)
    assert len(lines_about(result, "not valid UTF-8")) == 1
    variables = envfile.parse((instance.runtime / "hook.env").read_text())
    assert variables["OS_CONFIG_FILES"] == str(instance.cachedir / "a.json.json")
    assert hook_record(instance)["attempts"] == 1  # one hand-over, counted once
    printed = occ(*instance.args("--print"), check=0)
    clean(printed)
    assert list(json.loads(printed.stdout)) == ["a.json"]


# State and cache faults (item 4)


def make_directory(instance, name: str) -> None:
    path = instance.cachedir / name
    if path.exists():
        path.unlink()
    path.mkdir(parents=True)


@pytest.mark.parametrize(
    ("mode", "status"), [(("--one-time",), CACHE), (("collect",), ERROR)], ids=["legacy", "collect"]
)
@pytest.mark.parametrize("name", [".occ/lock", ".occ/hook.state", "a.json.json.last"])
def test_a_directory_in_place_of_the_lock_hook_state_or_cache_file_is_one_line(
    occ, instance, mode, status, name
):
    instance.set_local("a.json", {"a": 1})
    occ(*instance.args("--one-time"), check=0)  # creates the cache; commits a.json.json.last
    instance.set_local("a.json", {"a": 2})
    make_directory(instance, name)
    result = occ(*arguments(instance, mode), check=status)
    clean(result)
    assert len(lines_about(result, name.split("/")[-1])) == 1


def test_a_directory_in_place_of_the_health_state_never_fails_a_pass(occ, instance):
    instance.set_local("a.json", {"a": 1})
    make_directory(instance, ".occ/health.state")
    # heat_local has no file: it is unavailable, so source health is read and written.
    result = occ(*instance.args("--one-time"), check=0)
    clean(result)
    assert lines_about(result, "health.state")
    assert len(instance.hook_runs()) == 1


def test_a_malformed_hook_record_is_reset_with_a_warning(occ, instance):
    instance.set_local("a.json", {"a": 1})
    occ("collect", *instance.args(), check=0)
    record = dict(hook_record(instance), attempts="x")
    (instance.cachedir / ".occ" / "hook.state").write_text(json.dumps(record))
    instance.set_local("a.json", {"a": 2})
    result = occ("collect", *instance.args(), check=0)
    clean(result)
    assert len(lines_about(result, "hook.state")) == 1
    assert hook_record(instance)["attempts"] == 1


def run_continuously(occ, instance, seconds: float, failure: str) -> tuple[int, str]:
    """Run continuous mode for ``seconds``, check it is still running, stop it with SIGTERM;
    return its exit status and stderr."""
    process = occ.popen(*instance.args(), stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(seconds)
        assert process.poll() is None, f"continuous mode {failure}"
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    return process.returncode, stderr


def test_continuous_mode_logs_a_broken_lock_and_keeps_polling(occ, instance):
    instance.set_local("a.json", {"a": 1})
    make_directory(instance, ".occ/lock")
    # min_polling_interval 1, polling_interval 1: several passes
    returncode, stderr = run_continuously(occ, instance, 3.5, "stopped on a state fault")
    assert returncode == 0
    assert "Traceback" not in stderr
    assert len([line for line in stderr.splitlines() if "lock" in line]) >= 2


# Symlinks and loose modes (item 9)


def test_a_symlinked_state_directory_is_refused_and_never_written_through(occ, instance, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    instance.cachedir.mkdir(mode=0o700)
    (instance.cachedir / ".occ").symlink_to(elsewhere)
    instance.set_local("a.json", {"a": 1})
    result = occ(*instance.args("--one-time"), check=CACHE)
    clean(result)
    assert len(lines_about(result, ".occ")) == 1
    assert list(elsewhere.iterdir()) == []
    assert instance.hook_runs() == []


def test_a_lock_symlink_never_creates_its_target(occ, instance, tmp_path):
    target = tmp_path / "created-by-root"
    (instance.cachedir / ".occ").mkdir(mode=0o700, parents=True)
    instance.cachedir.chmod(0o700)
    (instance.cachedir / ".occ" / "lock").symlink_to(target)
    instance.set_local("a.json", {"a": 1})
    result = occ("collect", *instance.args(), check=ERROR)
    clean(result)
    assert lines_about(result, "symbolic link")
    assert not target.exists()


@pytest.mark.parametrize(
    ("mode", "status"), [(("--one-time",), CACHE), (("collect",), ERROR)], ids=["legacy", "collect"]
)
def test_a_cache_directory_writable_by_others_is_refused_and_left_alone(
    occ, instance, mode, status
):
    instance.cachedir.mkdir()
    instance.cachedir.chmod(0o1777)
    instance.set_local("a.json", {"a": 1})
    result = occ(*arguments(instance, mode), check=status)
    clean(result)
    assert lines_about(result, f"chmod go-w {instance.cachedir}")
    assert instance.mode(instance.cachedir) == 0o1777
    assert sorted(p.name for p in instance.cachedir.iterdir()) == []


# Files that are not regular files (item 7)


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_heat_local_pointed_at_a_fifo_or_a_device_is_unavailable_at_once(
    occ, instance, tmp_path, kind
):
    if kind == "fifo":
        os.mkfifo(tmp_path / "fifo")
        path = str(tmp_path / "fifo")
    else:
        path = "/dev/zero"
    instance.write_config(f"[heat_local]\npath = {path}\n")
    instance.set_local("a.json", {"a": 1})
    started = time.monotonic()
    result = occ(*instance.args("--one-time"), check=0, timeout=30)
    assert time.monotonic() - started < 20
    clean(result)
    assert lines_about(result, "not a regular file")
    assert [os.path.basename(f) for f in instance.hook_runs()[0]["files"].split(":")] == [
        "a.json.json"
    ]


# Huge intervals (item 6)


@pytest.mark.parametrize(
    "extra",
    ["min_polling_interval = 1e10\npolling_interval = 1e10\n", "splay = 1e10\n"],
    ids=["intervals", "splay"],
)
def test_continuous_mode_sleeps_through_huge_intervals_and_stops_cleanly(occ, instance, extra):
    instance.write_config("[DEFAULT]\n" + extra)
    instance.set_local("a.json", {"a": 1})
    returncode, stderr = run_continuously(occ, instance, 3, "died on a huge interval")
    assert returncode == 0
    assert "Traceback" not in stderr
    assert "is above the limit of 604800; using 604800" in stderr
