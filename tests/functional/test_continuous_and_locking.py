"""Continuous mode (the legacy daemon) and concurrent passes on one cache."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest


def wait_for(predicate, timeout: float = 15.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def daemon(occ, instance):
    processes = []

    def start(*args):
        process = occ.popen(
            *instance.args(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        processes.append(process)
        return process

    yield start
    for process in processes:
        if process.poll() is None:
            process.kill()
        process.communicate()


def test_continuous_mode_applies_changes_and_stops_cleanly(instance, daemon):
    instance.write_config(extra="[DEFAULT]\nmin_polling_interval = 0.2\npolling_interval = 0.4\n")
    instance.set_local("a.json", {"a": 1})
    process = daemon()
    wait_for(lambda: len(instance.hook_runs()) == 1, what="first hook run")
    instance.set_local("a.json", {"a": 2})
    wait_for(lambda: len(instance.hook_runs()) == 2, what="hook run after a change")
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=10) == 0
    leftovers = [n for n in os.listdir(instance.cachedir) if n.startswith((".occ-tmp", "tmp"))]
    assert leftovers == []


def test_continuous_mode_rereads_the_configuration_every_pass(instance, daemon):
    instance.write_config(extra="[DEFAULT]\nmin_polling_interval = 0.2\npolling_interval = 0.4\n")
    instance.set_local("a.json", {"a": 1})
    process = daemon()
    wait_for(lambda: len(instance.hook_runs()) == 1, what="first hook run")
    marker = instance.root / "second-command-ran"
    instance.write_config(
        command=f"touch {marker}",
        extra=("[DEFAULT]\nmin_polling_interval = 0.2\npolling_interval = 0.4\n"),
    )
    instance.set_local("a.json", {"a": 2})
    wait_for(marker.exists, what="the new command from the edited file")
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=10) == 0


def test_continuous_mode_survives_a_broken_configuration(instance, daemon):
    instance.write_config(extra="[DEFAULT]\nmin_polling_interval = 0.2\npolling_interval = 0.4\n")
    instance.set_local("a.json", {"a": 1})
    process = daemon()
    wait_for(lambda: len(instance.hook_runs()) == 1, what="first hook run")
    text = instance.config.read_text()
    instance.config.write_text(text + "polling_interval = never\n")
    time.sleep(1)
    assert process.poll() is None
    instance.config.write_text(text)
    instance.set_local("a.json", {"a": 2})
    wait_for(lambda: len(instance.hook_runs()) == 2, what="recovery after the fix")
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=10)
    assert "keeping the previous configuration" in stderr


def test_sighup_runs_a_pass_now(instance, daemon):
    # Long interval: only SIGHUP can make the second pass happen within the test.
    instance.write_config(extra="[DEFAULT]\nmin_polling_interval = 60\npolling_interval = 60\n")
    instance.set_local("a.json", {"a": 1})
    process = daemon()
    wait_for(lambda: len(instance.hook_runs()) == 1, what="first hook run")
    instance.set_local("a.json", {"a": 2})
    process.send_signal(signal.SIGHUP)
    wait_for(lambda: len(instance.hook_runs()) == 2, timeout=10, what="pass after SIGHUP")
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=10) == 0


def test_two_concurrent_passes_are_serialised(occ, instance):
    # A slow hook holds the cache; a second manual pass waits for it, then finds no change.
    instance.set_local("a.json", {"a": 1})
    started = instance.root / "hook-started"
    instance.write_config(command=f"touch {started}; sleep 1; {instance.hook}")
    first = occ.popen(*instance.args("--one-time"))
    wait_for(started.exists, what="slow hook start")
    second = occ(*instance.args("--one-time"), check=0)
    assert first.wait(timeout=30) == 0
    assert len(instance.hook_runs()) == 1
    assert second.returncode == 0


def test_a_timer_pass_skips_while_a_manual_pass_holds_the_cache(occ, instance):
    instance.set_local("a.json", {"a": 1})
    started = instance.root / "hook-started"
    instance.write_config(command=f"touch {started}; sleep 8; {instance.hook}")
    first = occ.popen(*instance.args("--one-time"))
    try:
        wait_for(started.exists, what="slow hook start")
        began = time.monotonic()
        result = occ("collect", *instance.args())
        assert result.returncode == 100
        assert time.monotonic() - began < 7.5
        assert "another pass is using the cache" in result.stderr
    finally:
        first.kill()
        first.wait()
