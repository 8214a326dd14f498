"""os-collect-config --status after real passes: what an admin and a monitor see."""

from __future__ import annotations

import json
import os
import stat

CHANGED, UNCHANGED = 0, 100


def status(occ, instance, *more):
    return occ("--status", "--config-file", str(instance.config), *more)


def test_no_pass_yet_is_unknown(occ, instance):
    result = status(occ, instance)
    assert result.returncode == 4
    assert result.stdout.startswith("health: unknown")


def test_a_healthy_instance_after_an_applied_change(occ, instance):
    instance.set_local("a.json", {"a": 1})
    instance.set_heat_local({"h": 1})
    occ("collect", *instance.args(), check=CHANGED)
    pending = json.loads(status(occ, instance, "--json").stdout)
    assert sorted(pending["pending"]) == ["a.json", "heat_local"]
    occ("commit", *instance.args(), check=0)
    result = status(occ, instance, "--json")
    assert result.returncode == 0, result.stdout
    document = json.loads(result.stdout)
    assert document["health"] == "healthy"
    assert document["pending"] == []
    assert document["sources"]["local"]["status"] == "data"
    assert document["sources"]["local"]["cached"] is True
    assert document["last_pass"]["mode"] == "collect"
    assert document["counters"]["hook_successes"] == 1
    # World-readable, so monitoring needs no root; .occ/ stays private.
    assert stat.S_IMODE(os.stat(instance.status_file).st_mode) == 0o644
    assert stat.S_IMODE(os.stat(instance.cachedir / ".occ").st_mode) == 0o700


def test_a_failing_hook_is_degraded_then_failing_with_the_command_that_retries(occ, instance):
    instance.write_config(extra="[DEFAULT]\nhook_retry_limit = 1\n")
    instance.set_local("a.json", {"a": 1})
    instance.fail_hook(2)
    assert occ(*instance.args("--one-time")).returncode == 2
    degraded = status(occ, instance)
    assert degraded.returncode == 1
    assert "hook: failed 1 time(s); next retry at" in degraded.stdout
    assert "retry now: os-collect-config retry" in degraded.stdout
    assert "pending for the hook: a.json" in degraded.stdout
    occ("collect", *instance.args(), check=UNCHANGED)  # the retry limit is reached
    failing = status(occ, instance)
    assert failing.returncode == 3
    assert "retries stopped" in failing.stdout


def test_an_unavailable_source_is_degraded_with_its_reason(occ, instance):
    instance.set_local("a.json", {"a": 1})
    instance.cfn_init_data.write_text("{not json")
    occ("collect", *instance.args(), check=CHANGED)
    result = status(occ, instance, "--json")
    assert result.returncode == 1
    heat_local = json.loads(result.stdout)["sources"]["heat_local"]
    assert heat_local["status"] == "unavailable"
    assert heat_local["consecutive_failures"] == 1
    assert "heat_local unavailable" in json.loads(result.stdout)["reasons"][0]


def test_status_answers_while_a_pass_holds_the_cache(occ, instance):
    instance.set_local("a.json", {"a": 1})
    instance.set_heat_local({"h": 1})
    occ("collect", *instance.args(), check=CHANGED)
    occ("commit", *instance.args(), check=0)
    from occ.core.lock import Lock

    with Lock(str(instance.cachedir / ".occ" / "lock"), timeout=1):
        result = status(occ, instance)
    assert result.returncode == 0


def test_a_failure_in_the_hook_unit_shows_at_once(occ, instance):
    instance.set_local("a.json", {"a": 1})
    instance.set_heat_local({"h": 1})
    occ("collect", *instance.args(), check=CHANGED)
    handed = json.loads(status(occ, instance, "--json").stdout)
    assert handed["hook"]["in_progress"] is True and handed["health"] == "healthy"
    instance.fail_hook(5)
    assert occ("run-hook", *instance.args()).returncode == 5  # as the hook unit runs it
    result = status(occ, instance, "--json")
    document = json.loads(result.stdout)
    assert result.returncode == 1
    assert document["hook"]["attempts"] == 1 and document["hook"]["last_exit"] == 5
    assert document["counters"]["hook_failures"] == 1
