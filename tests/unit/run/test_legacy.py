"""The original's one-shot modes in process (occ.run.legacy): --print writes nothing and prints
the merged document; --one-time runs a real hook and commits only what it applied."""

from __future__ import annotations

import json

from occ.run import legacy


def test_print_mode_prints_the_merged_document_and_creates_no_cache(site, capsys):
    site.set_heat_local({"h": 1})
    site.set_local("a.json", {"a": 1})
    assert legacy.print_mode(site.config()) == 0
    assert json.loads(capsys.readouterr().out) == {"heat_local": {"h": 1}, "a.json": {"a": 1}}
    assert not site.cachedir.exists()
    assert site.hook_runs() == []


def test_print_mode_records_no_source_health_even_for_an_unavailable_source(site, capsys):
    site.set_local("a.json", {"a": 1})  # heat_local has no file: unavailable
    assert legacy.print_mode(site.config()) == 0
    assert json.loads(capsys.readouterr().out) == {"a.json": {"a": 1}}
    assert not site.cachedir.exists()


def test_print_mode_leaves_an_existing_cache_untouched(site, capsys):
    site.set_local("a.json", {"a": 1})
    config = site.config()
    legacy.one_pass(config)
    before = {p.name: p.read_bytes() for p in site.cachedir.rglob("*") if p.is_file()}
    site.set_local("a.json", {"a": 2})
    legacy.print_mode(config)
    assert json.loads(capsys.readouterr().out) == {"a.json": {"a": 2}}
    assert {p.name: p.read_bytes() for p in site.cachedir.rglob("*") if p.is_file()} == before


def test_one_pass_runs_the_hook_with_the_files_and_commits_on_success(site):
    site.set_local("a.json", {"a": 1})
    assert legacy.one_pass(site.config()) == 0
    assert site.hook_runs() == [str(site.cached("a.json.json"))]
    assert site.cached("a.json.json.last").read_bytes() == site.cached("a.json.json").read_bytes()


def test_one_pass_does_not_run_the_hook_again_once_the_data_is_applied(site):
    site.set_local("a.json", {"a": 1})
    config = site.config()
    legacy.one_pass(config)
    assert legacy.one_pass(config) == 0
    assert len(site.hook_runs()) == 1


def test_one_pass_returns_the_failing_hook_status_and_commits_nothing(site):
    site.set_local("a.json", {"a": 1})
    site.fail_hook(7)
    config = site.config()
    assert legacy.one_pass(config) == 7
    assert site.hook_runs() == [str(site.cached("a.json.json"))]
    assert not site.cached("a.json.json.last").exists()
    # Still pending: the next manual pass hands it over again, and commits once it succeeds.
    site.fail_hook(None)
    assert legacy.one_pass(config) == 0
    assert len(site.hook_runs()) == 2
    assert site.cached("a.json.json.last").exists()


def test_one_pass_with_force_runs_the_hook_without_a_change(site):
    site.set_local("a.json", {"a": 1})
    config = site.config()
    legacy.one_pass(config)
    site.fail_hook(3)
    assert legacy.one_pass(config, force=True) == 3
    assert len(site.hook_runs()) == 2


def test_a_successful_hook_clears_the_retry_record(site):
    site.set_local("a.json", {"a": 1})
    site.fail_hook(1)
    config = site.config()
    legacy.one_pass(config)
    assert site.retry_record()["attempts"] == 1
    site.fail_hook(None)
    legacy.one_pass(config)
    assert not site.hook_state.exists()
