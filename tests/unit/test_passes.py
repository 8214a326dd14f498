"""One pass (occ.run.sources): running collectors, storing their outputs, print mode's merge, and
the once-per-situation warnings about unavailable sources."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from occ.collectors import registry
from occ.collectors.base import Collector
from occ.config.model import Config, Section
from occ.core.cache import Cache
from occ.core.state import State
from occ.errors import SourceNotConfigured, SourceUnavailable
from occ.log import lazy, logfields
from occ.run import runner, sources
from occ.run.sources import DATA, NOT_CONFIGURED, UNAVAILABLE, Outcome


def data(name: str, *outputs: tuple) -> Outcome:
    return Outcome(name, DATA, "", tuple(outputs))


def unavailable(name: str, reason: str = "connection refused") -> Outcome:
    return Outcome(name, UNAVAILABLE, reason, ())


@pytest.fixture
def cache(tmp_path: Path) -> Cache:
    made = Cache(str(tmp_path / "cache"), str(tmp_path / "backup"))
    made.create_dirs()
    return made


def commit_all(cache: Cache, result: sources.PassResult) -> None:
    cache.commit([(key, cache.digest(key)) for key in result.changed_keys])


def warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


# Storing outputs


def test_outputs_are_stored_in_collector_then_output_order(cache):
    result = runner.store(
        cache,
        (
            data("heat_local", ("heat_local", {"a": 1})),
            unavailable("ec2"),
            data("request", ("request", {"deployments": []}), ("dep1", "cfg")),
            data("local", ("00.json", 1), ("b-config", 2)),
        ),
    )
    keys = ["heat_local", "request", "dep1", "00.json", "b-config"]
    assert result.files == [cache.path(k) for k in keys]
    assert result.changed_keys == keys
    assert result.changed is True
    assert json.loads((Path(cache.cachedir) / "os_config_files.json").read_bytes()) == [
        cache.path(k) for k in keys
    ]


def test_unsafe_keys_are_skipped_with_a_warning_and_the_rest_of_the_source_is_kept(
    cache, tmp_path, caplog
):
    outcome = data(
        "request",
        ("request", {"doc": 1}),
        ("../escaped", "x"),
        ("good", "y"),
        ("sub/dep", "z"),
        ("", "e"),
        ("last", "w"),
    )
    with caplog.at_level(logging.WARNING, logger="occ"):
        result = runner.store(cache, (outcome,))
    assert [s.key for s in result.stored] == ["request", "good", "last"]
    assert not (tmp_path / "escaped.json").exists()
    assert not (tmp_path / "cache" / "sub").exists()
    found = warnings(caplog)
    assert len(found) == 3
    assert all("request" in w for w in found)
    assert any("../escaped" in w for w in found)


def test_a_source_with_only_unsafe_keys_changes_nothing(cache):
    result = runner.store(cache, (data("local", (".hidden", 1), ("a:b", 2)),))
    assert result.stored == ()
    assert result.changed is False
    assert not (Path(cache.cachedir) / "os_config_files.json").exists()


def test_collisions_keep_the_last_writers_bytes_and_list_every_occurrence(cache, caplog):
    # The example of doc/compatibility.rst, "Key collisions": deployments dup (n=1), dup (n=2)
    # and request.
    document = {"deployments": ["..."]}
    outcome = data(
        "request",
        ("request", document),
        ("dup", {"n": 1}),
        ("dup", {"n": 2}),
        ("request", {"config": "of the deployment"}),
    )
    with caplog.at_level(logging.WARNING, logger="occ"):
        result = runner.store(cache, (outcome,))
    cachedir = Path(cache.cachedir)
    assert result.files == [cache.path(k) for k in ("request", "dup", "dup", "request")]
    assert json.loads((cachedir / "request.json").read_bytes()) == {"config": "of the deployment"}
    assert json.loads((cachedir / "dup.json").read_bytes()) == {"n": 2}
    assert json.loads((cachedir / "request.json.orig").read_bytes()) == document
    assert json.loads((cachedir / "dup.json.orig").read_bytes()) == {"n": 1}
    assert len(warnings(caplog)) == 2


def test_a_collision_between_different_values_is_a_change_on_every_pass(cache):
    outcome = data("request", ("dup", {"n": 1}), ("dup", {"n": 2}))
    commit_all(cache, runner.store(cache, (outcome,)))
    assert runner.store(cache, (outcome,)).changed is True


def test_an_unchanged_pass_writes_no_file_list_and_no_backup(cache, tmp_path):
    outcome = data("local", ("a", 1))
    commit_all(cache, runner.store(cache, (outcome,)))
    listing = Path(cache.cachedir) / "os_config_files.json"
    listing.write_bytes(b'["marker"]')
    (tmp_path / "backup" / "a.json").unlink()
    result = runner.store(cache, (outcome,))
    assert result.changed is False
    assert listing.read_bytes() == b'["marker"]'
    assert not (tmp_path / "backup" / "a.json").exists()


def test_a_changed_pass_refreshes_the_backup(cache, tmp_path):
    runner.store(cache, (data("local", ("a", 1)),))
    assert (tmp_path / "backup" / "a.json").read_bytes() == b"1"
    assert (tmp_path / "backup" / "os_config_files.json").exists()


def test_a_source_that_disappears_is_no_change_and_drops_out_with_the_next_change(cache):
    # doc/compatibility.rst, "Disappearing sources"
    listing = Path(cache.cachedir) / "os_config_files.json"
    commit_all(cache, runner.store(cache, (data("a", ("a", 1)), data("b", ("b", 1)))))
    result = runner.store(cache, (data("a", ("a", 1)), unavailable("b")))
    assert result.changed is False
    assert json.loads(listing.read_bytes()) == [cache.path("a"), cache.path("b")]
    assert (Path(cache.cachedir) / "b.json").exists()
    result = runner.store(cache, (data("a", ("a", 2)), unavailable("b")))
    assert result.changed_keys == ["a"]
    assert json.loads(listing.read_bytes()) == [cache.path("a")]


def test_a_key_that_comes_back_is_compared_with_its_old_last(cache):
    commit_all(cache, runner.store(cache, (data("b", ("b", 1)),)))
    runner.store(cache, (unavailable("b"),))
    assert runner.store(cache, (data("b", ("b", 1)),)).changed is False
    assert runner.store(cache, (data("b", ("b", 2)),)).changed is True


# Print mode


def test_merged_keeps_the_first_position_and_the_last_value_of_a_repeated_key():
    outcomes = (
        data("heat_local", ("x", 1), ("y", 2)),
        unavailable("ec2"),
        Outcome("cfn", NOT_CONFIGURED, "no metadata_url", ()),
        data("request", ("x", 3), ("z", [4])),
    )
    document = sources.merged(outcomes)
    assert document == {"x": 3, "y": 2, "z": [4]}
    assert list(document) == ["x", "y", "z"]


def test_merged_of_nothing_is_an_empty_object():
    assert sources.merged((unavailable("ec2"),)) == {}


# Reporting unavailable sources


def test_an_unavailable_source_warns_once_then_logs_info_while_it_stays(tmp_path, caplog):
    health = State(str(tmp_path / ".occ"), "health")
    caplog.set_level(logging.DEBUG, logger="occ")
    levels = []
    for _ in range(3):
        caplog.clear()
        sources.report((unavailable("ec2", "timed out"), data("local")), health)
        (record,) = [r for r in caplog.records if "ec2" in r.getMessage()]
        levels.append(record.levelno)
    assert levels == [logging.WARNING, logging.INFO, logging.INFO]


def test_the_warning_carries_the_source_and_message_id(tmp_path, caplog):
    health = State(str(tmp_path / ".occ"), "health")
    outcome = Outcome("request", UNAVAILABLE, "HTTP 503", (), 503)
    with caplog.at_level(logging.WARNING, logger="occ"):
        sources.report((outcome,), health)
    (record,) = caplog.records
    fields = logfields.of(record)
    assert fields["MESSAGE_ID"] == logfields.MESSAGE_SOURCE_UNAVAILABLE
    assert fields["OCC_COLLECTOR"] == "request"
    assert fields["OCC_HTTP_STATUS"] == "503"
    assert "HTTP 503" in record.getMessage()


def test_a_new_reason_or_a_recovery_and_relapse_warns_again(tmp_path, caplog):
    health = State(str(tmp_path / ".occ"), "health")
    caplog.set_level(logging.DEBUG, logger="occ")
    sequence = [
        (unavailable("ec2", "timed out"), logging.WARNING),
        (unavailable("ec2", "HTTP 500"), logging.WARNING),
        (unavailable("ec2", "HTTP 500"), logging.INFO),
        (data("ec2", ("ec2", {})), lazy.NOTICE),
        (unavailable("ec2", "HTTP 500"), logging.WARNING),
    ]
    for outcome, level in sequence:
        caplog.clear()
        sources.report((outcome,), health)
        assert [r.levelno for r in caplog.records] == [level], outcome


def test_each_source_is_tracked_separately(tmp_path, caplog):
    health = State(str(tmp_path / ".occ"), "health")
    caplog.set_level(logging.DEBUG, logger="occ")
    sources.report((unavailable("ec2"),), health)
    caplog.clear()
    sources.report((unavailable("ec2"), unavailable("request")), health)
    levels = {r.getMessage().split(":")[0]: r.levelno for r in caplog.records}
    assert levels == {"ec2": logging.INFO, "request": logging.WARNING}


# Running collectors


class Good(Collector):
    name = "good"

    def collect(self):
        self.context.state.save({"seen": True})
        return [("good", {"ok": True}), ("good-extra", 1)]


class Boom(Collector):
    name = "boom"

    def collect(self):
        return {}["missing"]


class Shy(Collector):
    name = "shy"

    def collect(self):
        raise SourceNotConfigured("no metadata_url")


class Down(Collector):
    name = "down"

    def collect(self):
        raise SourceUnavailable("HTTP 503 from http://h/", http_status=503)


class BrokenInit(Collector):
    name = "broken_init"

    def __init__(self, settings, context):
        raise RuntimeError("cannot even start")


TEST_COLLECTORS = {c.name: c for c in (Good, Boom, Shy, Down, BrokenInit)}


def make_config(tmp_path: Path, names: tuple[str, ...]) -> Config:
    general = Section("DEFAULT", {"collectors": names, "cachedir": str(tmp_path / "cache")})
    sections = {"DEFAULT": general, **{n: Section(n, {}) for n in names}}
    return Config((), sections)


@pytest.fixture
def fake_registry(monkeypatch):
    monkeypatch.setattr(registry, "load", lambda name: TEST_COLLECTORS[name])


def test_a_crashing_collector_becomes_unavailable_and_the_others_still_run(
    tmp_path, fake_registry, caplog
):
    names = ("boom", "shy", "good", "broken_init", "down")
    state_dir = tmp_path / "cache" / ".occ"
    state_dir.parent.mkdir()
    with caplog.at_level(logging.DEBUG, logger="occ"):
        outcomes = sources.collect(
            make_config(tmp_path, names), store=True, state_dir=str(state_dir)
        )
    assert [(o.name, o.status) for o in outcomes] == [
        ("boom", UNAVAILABLE),
        ("shy", NOT_CONFIGURED),
        ("good", DATA),
        ("broken_init", UNAVAILABLE),
        ("down", UNAVAILABLE),
    ]
    by_name = {o.name: o for o in outcomes}
    assert by_name["good"].outputs == (("good", {"ok": True}), ("good-extra", 1))
    assert "KeyError" in by_name["boom"].reason
    assert by_name["down"].http_status == 503
    # A crash is an ERROR with its traceback; not configured is quiet.
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert {r.getMessage().split(":")[0] for r in errors} == {"boom", "broken_init"}
    assert all(r.exc_info for r in errors)
    shy = [r for r in caplog.records if r.getMessage().startswith("shy")]
    assert shy and all(r.levelno == logging.DEBUG for r in shy)


def test_each_collector_gets_its_own_state_which_print_mode_never_writes(tmp_path, fake_registry):
    state_dir = tmp_path / "cache" / ".occ"
    state_dir.parent.mkdir()
    config = make_config(tmp_path, ("good",))
    sources.collect(config, store=False, state_dir=str(state_dir))
    assert not state_dir.exists()
    sources.collect(config, store=True, state_dir=str(state_dir))
    assert json.loads((state_dir / "good.state").read_bytes()) == {"seen": True}


# Hostile names and advisory state (issue 9, items 3, 4 and 9)


@pytest.mark.parametrize("key", ["bad\ud800", "bad\udcff.json"], ids=["lone", "escaped-byte"])
def test_a_key_that_is_not_utf8_is_skipped_with_a_warning_and_the_pass_completes(
    cache, caplog, key
):
    result = runner.store(cache, (data("request", ("request", {"d": []}), (key, "x"), ("ok", 1)),))
    assert [item.key for item in result.stored] == ["request", "ok"]
    assert json.loads((Path(cache.cachedir) / "os_config_files.json").read_bytes()) == [
        cache.path("request"),
        cache.path("ok"),
    ]
    assert [m for m in warnings(caplog) if "not valid UTF-8" in m]


def test_print_mode_leaves_out_a_key_that_is_not_utf8(caplog):
    document = sources.merged((data("local", ("bad\udcff", 1), ("good", 2)),))
    assert document == {"good": 2}
    assert [m for m in warnings(caplog) if "not valid UTF-8" in m]


def test_a_full_disk_while_saving_source_health_never_fails_the_pass(tmp_path, caplog, monkeypatch):
    def no_space(*args, **kwargs):
        raise OSError(28, "No space left on device")

    health = State(str(tmp_path / ".occ"), "health")
    monkeypatch.setattr("os.write", no_space)
    sources.report((unavailable("ec2", "timed out"),), health)
    assert [m for m in warnings(caplog) if "No space left on device" in m and "health" in m]


def test_source_health_never_stores_a_signature_a_server_echoed(tmp_path):
    health = State(str(tmp_path / ".occ"), "health")
    reason = "HTTP 403 for http://h/v1/?Signature=s3cr3tSIG&AWSAccessKeyId=AKIDSECRET"
    sources.report((unavailable("cfn", reason),), health)
    stored = (tmp_path / ".occ" / "health.state").read_text()
    assert "cfn" in stored
    assert "s3cr3tSIG" not in stored and "AKIDSECRET" not in stored
