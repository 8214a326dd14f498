"""Exit statuses at the entry point (occ.cli.entry.main): what a failure, an interrupt, a closed
pipe or a usage error becomes, in the original's modes and in the systemd modes, where every
failure must read as 255 to ExecCondition= and never as "unchanged" or "changed".

Most tests run main() in process with ``occ.cli.dispatch.main`` replaced by one that raises or
returns what the test needs; two run the real program to check a real Ctrl-C and a real closed
pipe.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from occ.cli import dispatch, entry

SYSTEMD_MODES = ["collect", "run-hook", "commit"]


def run_main(monkeypatch, argv: list[str], outcome=None) -> int:
    """Run entry.main() with ``argv``; ``outcome`` (exception or status) replaces dispatch."""
    if outcome is not None:

        def main(mode, arguments):
            if isinstance(outcome, BaseException):
                raise outcome
            return outcome

        monkeypatch.setattr(dispatch, "main", main)
    monkeypatch.setattr(sys, "argv", ["os-collect-config", *argv])
    return entry.main()


def test_the_mode_and_its_arguments_reach_the_dispatch(monkeypatch):
    calls = []
    monkeypatch.setattr(dispatch, "main", lambda mode, argv: calls.append((mode, argv)) or 0)
    run_main(monkeypatch, ["commit", "--debug"])
    run_main(monkeypatch, ["--one-time", "local"])
    assert calls == [("commit", ["--debug"]), (None, ["--one-time", "local"])]


# Ctrl-C


def test_ctrl_c_in_a_legacy_mode_exits_130(monkeypatch):
    assert run_main(monkeypatch, ["--one-time"], KeyboardInterrupt()) == 130


@pytest.mark.parametrize("mode", SYSTEMD_MODES)
def test_ctrl_c_in_a_systemd_mode_is_an_error(monkeypatch, mode):
    assert run_main(monkeypatch, [mode], KeyboardInterrupt()) == 255


# A closed pipe


def test_a_closed_stdout_in_print_mode_exits_0(monkeypatch):
    monkeypatch.setattr(entry, "_silence_stdout", lambda: None)  # keep pytest's stdout
    assert run_main(monkeypatch, ["--print"], BrokenPipeError()) == 0


def test_a_broken_pipe_in_collect_is_an_error_not_changed(monkeypatch):
    monkeypatch.setattr(entry, "_silence_stdout", lambda: None)
    assert run_main(monkeypatch, ["collect"], BrokenPipeError()) == 255


# Usage errors (argparse, through the real dispatch)


@pytest.mark.parametrize("mode", SYSTEMD_MODES)
def test_a_usage_error_in_a_systemd_mode_exits_255(monkeypatch, capsys, mode):
    assert run_main(monkeypatch, [mode, "--no-such-flag"]) == 255
    assert "--no-such-flag" in capsys.readouterr().err


def test_a_usage_error_in_a_legacy_mode_exits_2(monkeypatch, capsys):
    assert run_main(monkeypatch, ["--no-such-flag"]) == 2
    assert "--no-such-flag" in capsys.readouterr().err


def test_help_exits_0(monkeypatch, capsys):
    assert run_main(monkeypatch, ["--help"]) == 0
    assert "usage:" in capsys.readouterr().out


def test_a_systemexit_with_a_message_prints_it_and_fails(monkeypatch, capsys):
    assert run_main(monkeypatch, ["--one-time"], SystemExit("cannot go on")) == 1
    assert capsys.readouterr().err == "cannot go on\n"
    assert run_main(monkeypatch, ["commit"], SystemExit("cannot go on")) == 255


# Crashes


@pytest.mark.parametrize("argv", [["--one-time"], *([mode] for mode in SYSTEMD_MODES)])
def test_an_unexpected_exception_exits_255_with_internal_error_on_stderr(monkeypatch, capsys, argv):
    assert run_main(monkeypatch, argv, ZeroDivisionError("boom")) == 255
    err = capsys.readouterr().err
    assert err.startswith("<3>os-collect-config: internal error, please report this bug\n")
    assert "ZeroDivisionError: boom" in err


# Statuses the modes return


@pytest.mark.parametrize("status", [1, 2, 7, 99, 101, 254])
def test_collect_never_exits_with_a_status_systemd_reads_as_skip(monkeypatch, status):
    assert run_main(monkeypatch, ["collect"], status) == 255


@pytest.mark.parametrize("status", [0, 100, 255])
def test_collect_statuses_pass_through(monkeypatch, status):
    assert run_main(monkeypatch, ["collect"], status) == status


def test_run_hook_and_legacy_modes_pass_the_hook_status_through(monkeypatch):
    assert run_main(monkeypatch, ["run-hook"], 7) == 7
    assert run_main(monkeypatch, ["--one-time"], 241) == 241
    assert run_main(monkeypatch, ["--one-time"], 74) == 74


# The real program


def write_instance(tmp_path, *, command: str, document: object) -> str:
    local = tmp_path / "local-data"
    local.mkdir(mode=0o700)
    (local / "a.json").write_text(json.dumps(document))
    config = tmp_path / "os-collect-config.conf"
    config.write_text(
        f"[DEFAULT]\ncommand = {command}\ncachedir = {tmp_path / 'cache'}\n"
        f"backup_cachedir = {tmp_path / 'backup'}\ncollectors = local\n"
        f"[local]\npath = {local}\n"
    )
    return str(config)


def test_ctrl_c_while_the_hook_runs_exits_130(occ, tmp_path):
    started = tmp_path / "hook.pid"
    config = write_instance(
        tmp_path, command=f"echo $$$$ > {started}; exec sleep 30", document={"a": 1}
    )
    process = occ.popen(
        "--config-file", config, "--one-time", stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    hook_pid = None
    try:
        deadline = time.monotonic() + 10
        while not (started.exists() and started.read_text().strip()):
            assert time.monotonic() < deadline, "the hook did not start"
            assert process.poll() is None, process.communicate()
            time.sleep(0.02)
        hook_pid = int(started.read_text())
        process.send_signal(signal.SIGINT)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if hook_pid is not None:  # it outlives the interrupted program and holds stderr open
            with contextlib.suppress(ProcessLookupError):
                os.kill(hook_pid, signal.SIGKILL)
    err = process.stderr.read()
    process.stdout.close()
    process.stderr.close()
    assert process.returncode == 130, err
    assert b"Traceback" not in err
    assert not (tmp_path / "cache" / "a.json.json.last").exists()  # nothing committed


def test_print_into_a_pipe_closed_early_exits_0_quietly(occ, tmp_path):
    # Larger than a pipe buffer, so that the write really hits the closed pipe.
    config = write_instance(tmp_path, command="", document={"a": "x" * 300_000})
    process = occ.popen(
        "--config-file", config, "--print", stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        assert process.stdout.read(1) == b"{"  # as `| head -c1`
        process.stdout.close()
        err = process.stderr.read()
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err
    assert err == b""


def test_print_into_a_pipe_closed_before_the_first_byte_exits_0_quietly(occ, tmp_path):
    # As `| true`: the document stays buffered, and Python's exit-time flush must not fail.
    config = write_instance(tmp_path, command="", document={"a": 1})
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        process = occ.popen(
            "--config-file", config, "--print", stdout=write_end, stderr=subprocess.PIPE
        )
    finally:
        os.close(write_end)
    _, err = process.communicate(timeout=10)
    assert process.returncode == 0, err
    assert err == b""
