"""The one pass runner (occ.run.runner.run_pass), in process: when the hook gets the data, the
hook back-off, the cache lock, and the directory fsyncs that make a pass durable."""

from __future__ import annotations

import logging
import os
import stat

import pytest

from occ.core import fsutil
from occ.core.cache import Cache
from occ.core.lock import Lock
from occ.errors import CacheBusy
from occ.run.handoff import Handoff
from occ.run.runner import PassOutcome, run_pass

LIMIT_TWO = "[DEFAULT]\nhook_retry_limit = 2\n"


class Deliveries:
    """A ``deliver`` callback that records each hand-over and optionally commits it."""

    def __init__(self, *, commit: bool = False, status: int = 0) -> None:
        self.commit = commit
        self.status = status
        self.handoffs: list[Handoff] = []

    def __call__(self, cache: Cache, handoff: Handoff) -> int:
        self.handoffs.append(handoff)
        if self.commit:
            cache.commit(handoff.records)
        return self.status


def run(config, deliver, *, force=False, automatic=False, lock_timeout=1.0) -> PassOutcome:
    return run_pass(
        config, lock_timeout=lock_timeout, force=force, automatic=automatic, deliver=deliver
    )


# When the hook gets the data


def test_a_change_is_delivered_and_the_status_of_deliver_is_returned(site):
    site.set_local("a.json", {"a": 1})
    deliver = Deliveries(status=7)
    assert run(site.config(), deliver) == PassOutcome(changed=True, delivered=7)
    (handoff,) = deliver.handoffs
    assert handoff.files == (str(site.cached("a.json.json")),)
    assert handoff.changed_files == (str(site.cached("a.json.json")),)


def test_an_unchanged_pass_does_not_deliver(site):
    site.set_local("a.json", {"a": 1})
    config = site.config()
    run(config, Deliveries(commit=True))
    deliver = Deliveries()
    assert run(config, deliver) == PassOutcome(changed=False, delivered=None)
    assert deliver.handoffs == []


def test_force_delivers_without_a_change(site):
    site.set_local("a.json", {"a": 1})
    config = site.config()
    run(config, Deliveries(commit=True))
    deliver = Deliveries(status=3)
    assert run(config, deliver, force=True) == PassOutcome(changed=False, delivered=3)
    (handoff,) = deliver.handoffs
    assert handoff.files == (str(site.cached("a.json.json")),)
    assert handoff.changed_files == ()


def test_data_the_hook_never_applied_is_delivered_again(site):
    site.set_local("a.json", {"a": 1})
    config = site.config()
    run(config, Deliveries())  # the hook failed: nothing committed
    deliver = Deliveries()
    assert run(config, deliver).delivered == 0
    assert len(deliver.handoffs) == 1


# The back-off of a failing hook, driven through <cachedir>/.occ/hook.state


def test_an_automatic_pass_waits_for_the_back_off_of_a_failing_hook(site):
    site.set_local("a.json", {"a": 1})
    config = site.config()
    run(config, Deliveries(), automatic=True)  # first attempt, the hook fails
    assert site.retry_record()["attempts"] == 1
    site.set_next_attempt(3600)
    deliver = Deliveries()
    assert run(config, deliver, automatic=True) == PassOutcome(changed=True, delivered=None)
    assert deliver.handoffs == []
    assert site.retry_record()["attempts"] == 1  # a refused pass is not an attempt


def test_an_automatic_pass_retries_once_the_back_off_has_passed(site):
    site.set_local("a.json", {"a": 1})
    config = site.config()
    run(config, Deliveries(), automatic=True)
    site.set_next_attempt(-1)
    deliver = Deliveries()
    assert run(config, deliver, automatic=True).delivered == 0
    assert len(deliver.handoffs) == 1
    assert site.retry_record()["attempts"] == 2


def test_automatic_passes_give_up_after_the_retry_limit(site, caplog):
    site.set_local("a.json", {"a": 1})
    config = site.config(LIMIT_TWO)
    run(config, Deliveries(), automatic=True)
    site.set_next_attempt(-1)
    run(config, Deliveries(), automatic=True)
    site.set_next_attempt(-1)
    deliver = Deliveries()
    with caplog.at_level(logging.ERROR, logger="occ"):
        assert run(config, deliver, automatic=True).delivered is None
    assert deliver.handoffs == []
    assert any("not retrying" in r.getMessage() for r in caplog.records)


def test_new_data_starts_the_back_off_over(site):
    site.set_local("a.json", {"a": 1})
    config = site.config()
    run(config, Deliveries(), automatic=True)
    site.set_next_attempt(3600)
    site.set_local("a.json", {"a": 2})
    deliver = Deliveries()
    assert run(config, deliver, automatic=True).delivered == 0
    assert site.retry_record()["attempts"] == 1


def test_a_manual_pass_ignores_the_back_off(site):
    site.set_local("a.json", {"a": 1})
    config = site.config(LIMIT_TWO)
    run(config, Deliveries(), automatic=True)
    site.set_next_attempt(3600)
    deliver = Deliveries()
    assert run(config, deliver, automatic=False).delivered == 0
    assert len(deliver.handoffs) == 1
    # ...and also the retry limit, now reached.
    assert site.retry_record()["attempts"] == 2
    deliver = Deliveries()
    assert run(config, deliver, automatic=False).delivered == 0
    assert len(deliver.handoffs) == 1


def test_force_starts_the_attempt_count_over(site):
    site.set_local("a.json", {"a": 1})
    config = site.config(LIMIT_TWO)
    run(config, Deliveries(), automatic=True)
    site.set_next_attempt(-1)
    run(config, Deliveries(), automatic=True)
    site.set_next_attempt(-1)
    assert run(config, Deliveries(), automatic=True).delivered is None  # limit reached
    deliver = Deliveries()
    assert run(config, deliver, force=True, automatic=True).delivered == 0
    assert len(deliver.handoffs) == 1
    assert site.retry_record()["attempts"] == 1
    # So automatic retries resume after the forced run.
    site.set_next_attempt(-1)
    assert run(config, Deliveries(), automatic=True).delivered == 0


# The cache lock


def test_a_held_cache_lock_raises_cache_busy_and_stores_nothing(site):
    site.set_local("a.json", {"a": 1})
    config = site.config()
    Cache(config.cachedir).create_dirs()
    deliver = Deliveries()
    lock = Lock(str(site.cachedir / ".occ" / "lock"), timeout=1)
    with lock, pytest.raises(CacheBusy, match="held"):
        run(config, deliver, lock_timeout=0.05)
    assert deliver.handoffs == []
    assert not site.cached("a.json.json").exists()


def test_the_lock_is_released_after_a_pass(site):
    site.set_local("a.json", {"a": 1})
    config = site.config()
    run(config, Deliveries())
    with Lock(str(site.cachedir / ".occ" / "lock"), timeout=0.05):
        pass


# Durability: the cache directory is fsynced after its last rename


class FsyncRecorder:
    """Records, in order, every rename and every fsync of a directory."""

    def __init__(self, monkeypatch) -> None:
        self.events: list[tuple[str, str]] = []
        real_fsync, real_replace = os.fsync, os.replace

        def fsync(fd):
            if stat.S_ISDIR(os.fstat(fd).st_mode):
                self.events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
            return real_fsync(fd)

        def replace(source, target, **kwargs):
            self.events.append(("rename", os.path.realpath(target)))
            return real_replace(source, target, **kwargs)

        monkeypatch.setattr(os, "fsync", fsync)
        monkeypatch.setattr(os, "replace", replace)

    def renames_in(self, directory) -> list[int]:
        return [
            i
            for i, (kind, path) in enumerate(self.events)
            if kind == "rename" and os.path.dirname(path) == str(directory)
        ]

    def syncs_of(self, directory) -> list[int]:
        return [
            i
            for i, (kind, path) in enumerate(self.events)
            if kind == "fsync" and path == str(directory)
        ]


def test_a_changed_pass_ends_with_the_cache_directory_synced_after_its_last_rename(
    site, monkeypatch
):
    site.set_local("a.json", {"a": 1})
    config = site.config()
    recorder = FsyncRecorder(monkeypatch)
    run(config, Deliveries())
    cachedir = site.cachedir.resolve()
    renamed = [recorder.events[i][1] for i in recorder.renames_in(cachedir)]
    # store (.json, .orig) and the file list, all made durable by the one sync after them.
    assert set(renamed) == {
        str(cachedir / "a.json.json"),
        str(cachedir / "a.json.json.orig"),
        str(cachedir / "os_config_files.json"),
    }
    assert recorder.syncs_of(cachedir)
    assert max(recorder.syncs_of(cachedir)) > max(recorder.renames_in(cachedir))


def test_a_commit_ends_with_the_cache_directory_synced_after_writing_last(site, monkeypatch):
    site.set_local("a.json", {"a": 1})
    config = site.config()
    recorder = FsyncRecorder(monkeypatch)
    run(config, Deliveries(commit=True))
    cachedir = site.cachedir.resolve()
    last_rename = max(recorder.renames_in(cachedir))
    assert recorder.events[last_rename] == ("rename", str(cachedir / "a.json.json.last"))
    assert max(recorder.syncs_of(cachedir)) > last_rename


def test_a_pass_that_rewrites_only_the_file_list_still_syncs_the_directory(site, monkeypatch):
    site.set_local("a.json", {"a": 1})
    config = site.config()
    run(config, Deliveries())  # the hook failed: a.json.json is stored but not applied
    recorder = FsyncRecorder(monkeypatch)
    assert run(config, Deliveries()).changed is True  # still pending, same bytes
    cachedir = site.cachedir.resolve()
    renames = recorder.renames_in(cachedir)
    assert [recorder.events[i][1] for i in renames] == [str(cachedir / "os_config_files.json")]
    assert recorder.syncs_of(cachedir)
    assert max(recorder.syncs_of(cachedir)) > max(renames)


def test_an_unchanged_pass_fsyncs_nothing(site, monkeypatch):
    site.set_local("a.json", {"a": 1})
    site.set_heat_local({"h": 1})
    config = site.config()
    run(config, Deliveries(commit=True))
    recorder = FsyncRecorder(monkeypatch)
    synced = []
    monkeypatch.setattr(fsutil, "fsync_dir", synced.append)
    assert run(config, Deliveries()) == PassOutcome(changed=False, delivered=None)
    # Its one write is the status record on tmpfs, renamed into place without any fsync:
    # nothing in the cache, its backup or the state directory.
    assert recorder.events == [("rename", str(site.root / "status" / "status.json"))]
    assert synced == []
