"""The status record each pass leaves (occ.run.report), how --status judges it
(occ.cli.status), and the Prometheus metrics rendered from it (occ.run.metrics)."""

from __future__ import annotations

import json
import logging
import os
import pathlib
import stat

import pytest

from occ.cli import status
from occ.config import loader
from occ.run import metrics, report

NOW = 1_800_000_000.0


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "os-collect-config.conf"
    path.write_text(
        f"[DEFAULT]\ncachedir = {tmp_path}/cache\nstatus_file = {tmp_path}/run/status.json\n"
        f"metrics_file = {tmp_path}/metrics/occ.prom\npolling_interval = 30\n"
    )
    (tmp_path / "cache" / ".occ").mkdir(parents=True)
    cmdline = loader.CommandLine(config_files=(str(path),), config_dirs=())
    return loader.load(cmdline, environ={"HOME": str(tmp_path)})


def summary(result="unchanged", outcomes=(("local", "data", "", ["a.json"]),), pending=(), **more):
    return {"result": result, "outcomes": list(outcomes), "pending": list(pending), **more}


def test_a_source_that_keeps_failing_counts_its_failures_and_keeps_its_last_success(config):
    first = report.build({}, config, now=NOW, mode="collect", started=NOW - 1, summary=summary())
    assert first["sources"]["local"]["last_success"] == NOW
    down = summary(outcomes=[("local", "unavailable", "cannot read /x", [])])
    second = report.build(first, config, now=NOW + 30, mode="collect", started=NOW, summary=down)
    third = report.build(second, config, now=NOW + 60, mode="collect", started=NOW, summary=down)
    local = third["sources"]["local"]
    assert local["status"] == "unavailable"
    assert local["consecutive_failures"] == 2
    assert local["last_success"] == NOW
    assert local["last_error"] == "cannot read /x"
    back = report.build(third, config, now=NOW + 90, mode="collect", started=NOW, summary=summary())
    assert back["sources"]["local"]["consecutive_failures"] == 0
    assert back["counters"]["passes"] == 4


def test_a_secret_in_a_reason_never_reaches_the_world_readable_record(config, monkeypatch):
    from occ import redact

    monkeypatch.setattr(redact, "_registered", set())
    redact.register("s3cr3t-token-value")
    down = summary(outcomes=[("heat", "unavailable", "401 for token s3cr3t-token-value", [])])
    report.record_pass(config, mode="collect", started=NOW, summary=down)
    text = pathlib.Path(config.status_file).read_text()
    assert "s3cr3t-token-value" not in text
    assert json.loads(text)["sources"]["heat"]["last_error"] == "401 for token ***"
    assert stat.S_IMODE(os.stat(config.status_file).st_mode) == 0o644


def test_hook_retries_and_a_held_token_are_shown_but_never_the_token(config):
    state = os.path.join(config.cachedir, ".occ")
    with open(os.path.join(state, "hook.state"), "w") as handle:
        json.dump(
            {"digest": "d", "attempts": 2, "next_attempt": NOW + 40, "exhausted": False}, handle
        )
    with open(os.path.join(state, "keystone-abc.state"), "w") as handle:
        json.dump({"token": "gAAAA-token", "expires_at": NOW + 3600, "stored_at": NOW}, handle)
    document = report.build({}, config, now=NOW, mode="collect", started=NOW, summary=summary())
    assert document["hook"] == {
        "attempts": 2,
        "next_retry": NOW + 40,
        "exhausted": False,
        "in_progress": False,
    }
    assert document["keystone"] == {"token_held": True, "expires_at": NOW + 3600}
    assert "gAAAA-token" not in json.dumps(document)


@pytest.mark.parametrize(
    ("change", "health", "exit_status"),
    [
        ({}, "healthy", 0),
        ({"sources": {"ec2": {"status": "unavailable", "last_error": "timed out"}}}, "degraded", 1),
        ({"hook": {"attempts": 1, "exhausted": False}}, "degraded", 1),
        ({"hook": {"attempts": 20, "exhausted": True}}, "failing", 3),
        ({"last_pass": {"result": "error", "error": "disk full", "finished": NOW}}, "failing", 3),
        ({"last_pass": {"result": "unchanged", "finished": NOW - 3600}}, "failing", 3),
    ],
)
def test_health_and_its_exit_status(change, health, exit_status):
    document = {
        "schema": report.SCHEMA,
        "last_pass": {"result": "unchanged", "finished": NOW - 10},
        "sources": {"local": {"status": "data"}},
        "hook": {"attempts": 0, "exhausted": False},
        "polling_interval": 30,
        **change,
    }
    found, reasons = status.assess(document, NOW)
    assert found == health
    assert status.EXIT_STATUS[found] == exit_status
    assert bool(reasons) == (health != "healthy")


def test_no_record_is_unknown_and_no_monitoring_status_is_the_usage_error_status():
    assert status.assess({}, NOW)[0] == "unknown"
    assert 2 not in status.EXIT_STATUS.values()


def test_metrics_are_written_atomically_in_the_textfile_format(config):
    down = summary(
        outcomes=[("local", "data", "", ["a.json"]), ("ec2", "unavailable", "timed out", [])]
    )
    report.record_pass(config, mode="collect", started=NOW, summary=down)
    text = pathlib.Path(config.metrics_file).read_text()
    assert 'os_collect_config_source_up{source="local"} 1.0' in text
    assert 'os_collect_config_source_up{source="ec2"} 0.0' in text
    assert "# TYPE os_collect_config_passes_total counter" in text
    assert "os_collect_config_passes_total 1.0" in text
    assert "os_collect_config_last_pass_success 1.0" in text
    assert os.listdir(os.path.dirname(config.metrics_file)) == ["occ.prom"]


def test_a_label_value_is_escaped():
    text = metrics.render({"sources": {'we"ird\n': {"status": "data"}}})
    assert 'os_collect_config_source_up{source="we\\"ird\\n"} 1.0' in text


def test_an_unwritable_status_file_never_fails_the_pass(config, tmp_path, caplog):
    (tmp_path / "run").write_text("a file where the directory should be")
    with caplog.at_level(logging.INFO, logger="occ"):
        report.record_pass(config, mode="collect", started=NOW, summary=summary())
    assert any("cannot record the pass" in r.getMessage() for r in caplog.records)


def test_the_schema_of_version_1_is_pinned(config):
    # doc/status.rst documents these keys; a change here is a new schema version.
    down = summary(outcomes=[("local", "data", "", ["a.json"]), ("ec2", "unavailable", "x", [])])
    document = report.build({}, config, now=NOW, mode="collect", started=NOW - 1, summary=down)
    assert document["schema"] == 1
    assert sorted(document) == [
        "counters",
        "hook",
        "keystone",
        "last_pass",
        "pending",
        "polling_interval",
        "retry_command",
        "schema",
        "sources",
    ]
    assert sorted(document["last_pass"]) == [
        "duration", "error", "finished", "mode", "result", "started"
    ]  # fmt: skip
    assert sorted(document["sources"]["ec2"]) == [
        "cached", "consecutive_failures", "keys", "last_error", "last_error_at",
        "last_success", "status",
    ]  # fmt: skip
    assert sorted(document["hook"]) == ["attempts", "exhausted", "in_progress", "next_retry"]
    assert sorted(document["keystone"]) == ["expires_at", "token_held"]
    assert sorted(document["counters"]) == [
        "changes_detected", "hook_failures", "hook_handovers", "hook_successes", "passes"
    ]  # fmt: skip


def test_a_fifo_in_place_of_a_record_neither_stalls_the_report_nor_is_read(config):
    os.makedirs(os.path.dirname(config.status_file))
    os.mkfifo(config.status_file)
    os.mkfifo(os.path.join(config.cachedir, ".occ", "hook.state"))
    assert report.read(config.status_file) == {}
    assert report.hook_state(config)["attempts"] == 0
