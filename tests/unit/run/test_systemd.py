"""The systemd modes in process (occ.run.systemd): collect's statuses and hand-over files, the
hand-over write failure, run-hook's inputs, and commit's checks."""

from __future__ import annotations

import errno
import json
import logging

import pytest

from occ.core import envfile, fsutil
from occ.core.lock import Lock
from occ.errors import CacheError, HookError
from occ.run import systemd
from occ.status import ExitStatus


def hook_env(site) -> dict[str, str]:
    return envfile.parse(site.hook_env.read_text())


def fail_writes_under(monkeypatch, directory, *, after: int = 0) -> None:
    """Make atomic_write raise ENOSPC for files in ``directory`` once ``after`` have succeeded."""
    real = fsutil.atomic_write
    done = []

    def atomic_write(path, data, **kwargs):
        if str(path).startswith(str(directory) + "/"):
            if len(done) >= after:
                raise OSError(errno.ENOSPC, "No space left on device", path)
            done.append(path)
        return real(path, data, **kwargs)

    monkeypatch.setattr(fsutil, "atomic_write", atomic_write)


def temporaries(*directories) -> list[str]:
    return [
        str(path)
        for directory in directories
        if directory.exists()
        for path in directory.rglob(fsutil.TEMP_PREFIX + "*")
    ]


# collect


def test_collect_on_a_change_returns_ok_and_writes_the_hand_over(site):
    site.set_local("a.json", {"a": 1})
    assert systemd.collect(site.config()) == ExitStatus.OK
    path = str(site.cached("a.json.json"))
    assert hook_env(site) == {"OS_CONFIG_FILES": path, "OCC_CHANGED_FILES": path}
    record = json.loads(site.pending.read_text())
    assert record["cachedir"] == str(site.cachedir)
    assert record["files"] == [path]
    assert not site.cached("a.json.json.last").exists()  # not applied until commit


def test_collect_without_a_change_returns_unchanged_and_leaves_no_hand_over(site):
    site.set_local("a.json", {"a": 1})
    config = site.config()
    systemd.collect(config)
    systemd.commit(config)
    assert systemd.collect(config) == ExitStatus.UNCHANGED
    assert not site.hook_env.exists()
    assert not site.pending.exists()


def test_collect_discards_a_stale_hand_over_when_nothing_is_to_be_done(site):
    site.set_local("a.json", {"a": 1})
    config = site.config()
    systemd.collect(config)  # the hook unit fails: nothing committed, hand-over left behind
    assert site.hook_env.exists()
    assert systemd.collect(config) == ExitStatus.UNCHANGED  # backing off
    assert not site.hook_env.exists()
    assert not site.pending.exists()


def test_collect_skips_as_unchanged_when_another_pass_holds_the_cache(site, monkeypatch):
    site.set_local("a.json", {"a": 1})
    config = site.config()
    systemd.collect(config)
    systemd.commit(config)
    site.set_local("a.json", {"a": 2})
    monkeypatch.setattr(systemd, "COLLECT_LOCK_TIMEOUT_SECONDS", 0.05)
    with Lock(str(site.cachedir / ".occ" / "lock"), timeout=1):
        assert systemd.collect(config) == ExitStatus.UNCHANGED
    assert json.loads(site.cached("a.json.json").read_text()) == {"a": 1}
    assert not site.hook_env.exists()


def test_a_failed_hand_over_write_is_one_clear_cache_error_and_the_cache_stays_whole(
    site, monkeypatch
):
    site.set_local("a.json", {"a": 1})
    config = site.config()
    fail_writes_under(monkeypatch, site.runtime)
    with pytest.raises(CacheError) as raised:
        systemd.collect(config)
    message = str(raised.value)
    assert "\n" not in message
    assert message == f"cannot write the hook hand-over in {site.runtime}: No space left on device"
    # The cache holds the whole new document, unapplied; no temporary file is left anywhere.
    assert json.loads(site.cached("a.json.json").read_text()) == {"a": 1}
    assert not site.cached("a.json.json.last").exists()
    assert json.loads(site.cached("os_config_files.json").read_text()) == [
        str(site.cached("a.json.json"))
    ]
    assert temporaries(site.cachedir, site.runtime) == []
    assert not site.hook_env.exists()


def test_a_failed_hand_over_leaves_nothing_for_commit_to_mark_applied(site, monkeypatch):
    site.set_local("a.json", {"a": 1})
    config = site.config()
    fail_writes_under(monkeypatch, site.runtime, after=1)  # pending.json written, hook.env not
    with pytest.raises(CacheError):
        systemd.collect(config)
    monkeypatch.undo()
    systemd.commit(config)
    assert not site.cached("a.json.json.last").exists()


def test_after_a_failed_hand_over_write_the_next_collect_hands_the_data_over(site, monkeypatch):
    site.set_local("a.json", {"a": 1})
    config = site.config()
    fail_writes_under(monkeypatch, site.runtime)
    with pytest.raises(CacheError):
        systemd.collect(config)
    monkeypatch.undo()
    assert systemd.collect(config) == ExitStatus.OK


# run-hook


def test_run_hook_by_hand_reads_the_hook_env_file(site):
    site.set_local("a.json", {"a": 1})
    config = site.config()
    systemd.collect(config)
    assert systemd.run_hook(config, {}) == 0
    assert site.hook_runs() == [str(site.cached("a.json.json"))]


def test_run_hook_prefers_the_environment_and_returns_the_hook_status(site):
    site.fail_hook(9)
    assert systemd.run_hook(site.config(), {"OS_CONFIG_FILES": "/from/the/unit"}) == 9
    assert site.hook_runs() == ["/from/the/unit"]


def test_run_hook_with_a_corrupt_hook_env_raises_hook_error_naming_the_file(site):
    site.runtime.mkdir()
    site.hook_env.write_text('OS_CONFIG_FILES="/var/lib/os-collect-config/a.json\n')  # cut off
    with pytest.raises(HookError) as raised:
        systemd.run_hook(site.config(), {})
    assert str(raised.value).startswith(f"{site.hook_env}: ")
    assert "\n" not in str(raised.value)
    assert site.hook_runs() == []


def test_run_hook_without_a_pending_hand_over_raises_hook_error(site):
    with pytest.raises(HookError, match="nothing to apply"):
        systemd.run_hook(site.config(), {})
    assert site.hook_runs() == []


def test_run_hook_with_no_command_configured_returns_ok_and_warns(site, caplog):
    site.set_local("a.json", {"a": 1})
    config = site.config(command="")
    systemd.collect(config)
    with caplog.at_level(logging.INFO, logger="occ"):
        assert systemd.run_hook(config, {}) == ExitStatus.OK
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("no command is configured" in message for message in warned)
    assert not any("running hook" in r.getMessage() for r in caplog.records)  # no empty shell


# commit


def test_commit_marks_the_handed_over_data_applied_and_clears_the_hand_over(site):
    site.set_local("a.json", {"a": 1})
    config = site.config()
    systemd.collect(config)
    assert systemd.commit(config) == ExitStatus.OK
    assert site.cached("a.json.json.last").read_bytes() == site.cached("a.json.json").read_bytes()
    assert not site.hook_env.exists()
    assert not site.pending.exists()
    assert not site.hook_state.exists()  # the retry count starts over


def test_commit_marks_only_the_bytes_the_hook_saw(site):
    site.set_local("a.json", {"a": 1})
    site.set_local("b.json", {"b": 1})
    config = site.config()
    systemd.collect(config)
    # A manual pass rewrites a.json.json between the hook's start and commit.
    site.cached("a.json.json").write_text(json.dumps({"a": 2}, indent=1))
    assert systemd.commit(config) == ExitStatus.OK
    assert not site.cached("a.json.json.last").exists()
    assert site.cached("b.json.json.last").read_bytes() == site.cached("b.json.json").read_bytes()


def test_commit_with_no_pending_record_is_ok_and_commits_nothing(site):
    site.set_local("a.json", {"a": 1})
    config = site.config()
    systemd.collect(config)
    site.pending.unlink()
    assert systemd.commit(config) == ExitStatus.OK
    assert not site.cached("a.json.json.last").exists()


def test_commit_of_a_record_written_for_another_cachedir_names_both(site):
    site.set_local("a.json", {"a": 1})
    config = site.config()
    systemd.collect(config)
    record = json.loads(site.pending.read_text())
    record["cachedir"] = "/srv/other-cache"
    site.pending.write_text(json.dumps(record))
    with pytest.raises(CacheError) as raised:
        systemd.commit(config)
    message = str(raised.value)
    assert "/srv/other-cache" in message and str(site.cachedir) in message
    assert not site.cached("a.json.json.last").exists()


def test_commit_of_a_corrupt_record_raises_cache_error_naming_it(site):
    site.runtime.mkdir()
    site.pending.write_text('{"cachedir": "x"}')
    with pytest.raises(CacheError, match="not a valid hand-over record") as raised:
        systemd.commit(site.config())
    assert str(site.pending) in str(raised.value)


def test_run_mode_dispatches_each_systemd_mode(site):
    site.set_local("a.json", {"a": 1})
    config = site.config()
    assert systemd.run_mode("collect", config) == ExitStatus.OK
    assert systemd.run_mode("run-hook", config) == 0
    assert len(site.hook_runs()) == 1
    assert systemd.run_mode("commit", config) == ExitStatus.OK
    assert site.cached("a.json.json.last").exists()
