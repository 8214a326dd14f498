"""The original's modes through the real entry point: print, --one-time, --force, hook failures."""

from __future__ import annotations

import json
import os

import pytest


@pytest.fixture
def primed(instance):
    instance.set_heat_local({"os-collect-config": {"polling_interval": 30}})
    instance.set_local("b-config", {"b": 1})
    instance.set_local("a.json", {"a": "caf\u00e9"})
    return instance


def test_no_command_prints_the_collected_json_and_writes_nothing(occ, primed):
    primed.write_config(command="")
    result = occ(*primed.args(), check=0)
    assert json.loads(result.stdout) == {
        "heat_local": {"os-collect-config": {"polling_interval": 30}},
        "a.json": {"a": "caf\u00e9"},
        "b-config": {"b": 1},
    }
    # The original's format: indent 1, ASCII escapes, one trailing newline.
    assert result.stdout.endswith("}\n") and "caf\\u00e9" in result.stdout
    assert list(json.loads(result.stdout)) == ["heat_local", "a.json", "b-config"]
    assert not primed.cachedir.exists()


def test_print_with_a_command_never_runs_it_and_writes_nothing(occ, primed):
    result = occ(*primed.args("--print", "--one-time"), check=0)
    assert "heat_local" in json.loads(result.stdout)
    assert primed.hook_runs() == []
    assert not primed.cachedir.exists()


def test_print_with_nothing_collected_prints_an_empty_object(occ, instance):
    instance.write_config(command="")
    assert occ(*instance.args(), check=0).stdout == "{}\n"


def test_print_cachedir_ignores_invalid_collectors(occ, primed):
    result = occ(*primed.args("--print-cachedir", "nosuchcollector"), check=0)
    assert result.stdout == f"{primed.cachedir}\n"


def test_one_time_runs_the_hook_once_per_change(occ, primed):
    occ(*primed.args("--one-time"), check=0)
    runs = primed.hook_runs()
    assert len(runs) == 1
    files = runs[0]["files"].split(":")
    assert files == [
        str(primed.cachedir / n) for n in ("heat_local.json", "a.json.json", "b-config.json")
    ]
    assert runs[0]["changed"] == runs[0]["files"]
    # Unchanged: no hook.
    occ(*primed.args("--one-time"), check=0)
    assert len(primed.hook_runs()) == 1
    # A change: the hook sees every file, and the changed one in OCC_CHANGED_FILES.
    primed.set_local("b-config", {"b": 2})
    occ(*primed.args("--one-time"), check=0)
    runs = primed.hook_runs()
    assert len(runs) == 2
    assert runs[1]["files"] == runs[0]["files"]
    assert runs[1]["changed"] == str(primed.cachedir / "b-config.json")
    assert json.loads(runs[1]["contents"][str(primed.cachedir / "b-config.json")]) == {"b": 2}


def test_cache_files_follow_the_original_layout(occ, primed):
    occ(*primed.args("--one-time"), check=0)
    assert primed.cached("a.json.json") == b'{\n "a": "caf\\u00e9"\n}'
    assert primed.cached("a.json.json.orig") == primed.cached("a.json.json")
    assert primed.cached("a.json.json.last") == primed.cached("a.json.json")
    listing = json.loads(primed.cached("os_config_files.json"))
    assert listing == [
        str(primed.cachedir / n) for n in ("heat_local.json", "a.json.json", "b-config.json")
    ]
    assert primed.cached("os_config_files.json") == json.dumps(listing).encode()
    assert primed.mode(primed.cachedir) == 0o700
    for name in os.listdir(primed.cachedir):
        if name != ".occ":
            assert primed.mode(primed.cachedir / name) == 0o600, name
    # The backup is a copy of the cache (without occ's own state directory).
    assert sorted(os.listdir(primed.backup)) == sorted(
        n for n in os.listdir(primed.cachedir) if n != ".occ" and not n.endswith(".last")
    )
    assert (primed.backup / "os_config_files.json").read_bytes() == primed.cached(
        "os_config_files.json"
    )


def test_failed_hook_commits_nothing_and_is_retried_by_the_next_run(occ, primed):
    primed.fail_hook(3)
    assert occ(*primed.args("--one-time")).returncode == 3
    assert not (primed.cachedir / "a.json.json.last").exists()
    assert occ(*primed.args("--one-time")).returncode == 3
    assert len(primed.hook_runs()) == 2
    primed.fail_hook(None)
    occ(*primed.args("--one-time"), check=0)
    assert (primed.cachedir / "a.json.json.last").exists()
    occ(*primed.args("--one-time"), check=0)
    assert len(primed.hook_runs()) == 3


def test_hook_killed_by_a_signal_exits_like_the_original(occ, primed):
    primed.write_config(command="kill -TERM $$$$")
    assert occ(*primed.args("--one-time")).returncode == 256 - 15


def test_force_runs_the_hook_without_changes_and_with_nothing_collected(occ, instance):
    instance.set_local("x.json", {"x": 1})
    occ(*instance.args("--one-time"), check=0)
    occ(*instance.args("--force"), check=0)
    assert len(instance.hook_runs()) == 2
    assert instance.hook_runs()[1]["changed"] == ""
    (instance.local_data / "x.json").unlink()
    occ(*instance.args("--force"), check=0)
    assert instance.hook_runs()[2]["files"] == ""


def test_unavailable_source_keeps_its_cache_and_is_not_a_change(occ, primed):
    occ(*primed.args("--one-time"), check=0)
    primed.cfn_init_data.write_text("not json")
    result = occ(*primed.args("--one-time"), check=0)
    assert len(primed.hook_runs()) == 1
    assert (primed.cachedir / "heat_local.json").exists()
    assert "heat_local" in result.stderr and "unavailable" in result.stderr
    # When something else changes, the hook sees the reduced list.
    primed.set_local("b-config", {"b": 3})
    occ(*primed.args("--one-time"), check=0)
    assert "heat_local.json" not in primed.hook_runs()[1]["files"]


def test_unsafe_local_file_names_are_skipped_and_the_rest_is_kept(occ, primed):
    primed.set_local("a:b.json", {"colon": True})
    primed.set_local("x" * 250, {"long": True})
    result = occ(*primed.args("--one-time"), check=0)
    files = primed.hook_runs()[0]["files"].split(":")
    assert [os.path.basename(f) for f in files] == [
        "heat_local.json",
        "a.json.json",
        "b-config.json",
    ]
    assert "a:b.json" in result.stderr and "skipped" in result.stderr
    assert not any(":" in n or n.startswith("xxx") for n in os.listdir(primed.cachedir))


def test_type_change_is_a_change(occ, instance):
    instance.set_local("v.json", {"v": 1})
    occ(*instance.args("--one-time"), check=0)
    instance.set_local("v.json", {"v": True})
    occ(*instance.args("--one-time"), check=0)
    instance.set_local("v.json", {"v": 1.0})
    occ(*instance.args("--one-time"), check=0)
    assert len(instance.hook_runs()) == 3


def test_a_cache_written_by_the_original_is_adopted_without_a_change(occ, instance):
    instance.set_local("v.json", {"b": [1, 2], "a": "x"})
    instance.cachedir.mkdir(mode=0o755)
    original = json.dumps({"a": "x", "b": [1, 2]}, indent=1).encode()
    for suffix in ("", ".orig", ".last"):
        (instance.cachedir / f"v.json.json{suffix}").write_bytes(original)
    occ(*instance.args("--one-time"), check=0)
    assert instance.hook_runs() == []
    assert instance.mode(instance.cachedir) == 0o755  # an existing mode is never changed


def test_missing_cachedir_parent_is_a_clean_error(occ, instance):
    instance.set_local("v.json", {"v": 1})
    result = occ(*instance.args("--one-time", "--cachedir", "/nonexistent/occ/cache"))
    assert result.returncode == 74
    assert "parent directory does not exist" in result.stderr
    assert "Traceback" not in result.stderr
    assert not os.path.exists("/nonexistent")


def test_print_mode_does_not_claim_to_keep_cached_data(occ, instance):
    instance.write_config(command="")
    result = occ("--print", *instance.args(), check=0)
    line = next(line for line in result.stderr.splitlines() if "source unavailable" in line)
    assert line.endswith("no usable metadata in " + str(instance.cfn_init_data))
    assert "keeping its previously cached data" not in result.stderr
