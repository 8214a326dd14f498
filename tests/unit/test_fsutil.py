"""Atomic, durable writes and the pass lock (occ.core.fsutil)."""

from __future__ import annotations

import errno
import os
import re
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import hypothesis
import hypothesis.strategies as st
import pytest

from occ.core import fsutil
from occ.core.lock import Lock
from occ.errors import CacheBusy, CacheError


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def leftovers(directory: Path) -> list[str]:
    return [p.name for p in directory.iterdir() if p.name.startswith(fsutil.TEMP_PREFIX)]


@pytest.fixture
def umask():
    """Set a umask for one test: ``umask(0o077)``."""
    old = os.umask(0o022)

    def set_umask(value: int) -> None:
        os.umask(value)

    yield set_umask
    os.umask(old)


# atomic_write


def test_atomic_write_creates_a_0600_file_with_the_data(tmp_path, umask):
    umask(0)
    target = tmp_path / "f.json"
    fsutil.atomic_write(str(target), b"data")
    assert target.read_bytes() == b"data"
    assert mode(target) == 0o600
    assert leftovers(tmp_path) == []


def test_atomic_write_gives_the_requested_mode_whatever_the_umask(tmp_path, umask):
    umask(0o077)
    target = tmp_path / "f"
    fsutil.atomic_write(str(target), b"x", mode=0o644)
    assert mode(target) == 0o644


def test_atomic_write_replaces_the_file_instead_of_rewriting_it(tmp_path):
    target = tmp_path / "f"
    target.write_bytes(b"old content")
    with open(target, "rb") as reader:  # a reader that opened the old version
        fsutil.atomic_write(str(target), b"new")
        assert reader.read() == b"old content"
    assert target.read_bytes() == b"new"


def test_atomic_write_keeps_a_narrower_existing_mode(tmp_path):
    target = tmp_path / "f"
    target.write_bytes(b"old")
    target.chmod(0o400)
    fsutil.atomic_write(str(target), b"new")
    assert mode(target) == 0o400
    assert target.read_bytes() == b"new"


def test_atomic_write_never_widens_but_narrows_to_the_requested_mode(tmp_path):
    target = tmp_path / "f"
    target.write_bytes(b"old")
    target.chmod(0o644)
    fsutil.atomic_write(str(target), b"new")
    assert mode(target) == 0o600


def test_atomic_write_replaces_a_symlink_instead_of_following_it(tmp_path):
    outside = tmp_path / "outside"
    outside.write_bytes(b"precious")
    (tmp_path / "d").mkdir()
    link = tmp_path / "d" / "f"
    link.symlink_to(outside)
    fsutil.atomic_write(str(link), b"new")
    assert outside.read_bytes() == b"precious"
    assert not link.is_symlink()
    assert link.read_bytes() == b"new"


def test_atomic_write_can_set_the_modification_time(tmp_path):
    target = tmp_path / "f"
    fsutil.atomic_write(str(target), b"x", mtime_ns=1_234_567_890_123_456_789)
    assert target.stat().st_mtime_ns == 1_234_567_890_123_456_789


def test_a_failed_rename_leaves_no_temporary_file(tmp_path):
    target = tmp_path / "a-directory"
    target.mkdir()
    (target / "inside").write_text("x")
    with pytest.raises(OSError):
        fsutil.atomic_write(str(target), b"data")
    assert leftovers(tmp_path) == []


def test_a_failed_fsync_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "f"
    target.write_bytes(b"old")

    def failing_fsync(fd):
        raise OSError(errno.EIO, "I/O error")

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(OSError):
        fsutil.atomic_write(str(target), b"new")
    monkeypatch.undo()
    assert target.read_bytes() == b"old"
    assert leftovers(tmp_path) == []


def test_an_interrupted_write_leaves_no_temporary(tmp_path, monkeypatch):
    def interrupted(fd, data):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "write", interrupted)
    with pytest.raises(KeyboardInterrupt):
        fsutil.atomic_write(str(tmp_path / "f"), b"new")
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []


def test_a_write_into_a_missing_directory_raises_oserror(tmp_path):
    with pytest.raises(OSError):
        fsutil.atomic_write(str(tmp_path / "missing" / "f"), b"x")


def test_read_bytes_of_a_missing_file_is_none(tmp_path):
    assert fsutil.read_bytes(str(tmp_path / "nope")) is None
    (tmp_path / "yes").write_bytes(b"\x00\xff")
    assert fsutil.read_bytes(str(tmp_path / "yes")) == b"\x00\xff"


# make_private_dir


def test_make_private_dir_creates_0700_and_leaves_an_existing_mode(tmp_path, umask):
    umask(0)
    fsutil.make_private_dir(str(tmp_path / "new"))
    assert mode(tmp_path / "new") == 0o700
    (tmp_path / "old").mkdir()
    (tmp_path / "old").chmod(0o755)
    fsutil.make_private_dir(str(tmp_path / "old"))
    assert mode(tmp_path / "old") == 0o755


def test_make_private_dir_needs_the_parent_unless_asked_for_parents(tmp_path):
    with pytest.raises(CacheError) as info:
        fsutil.make_private_dir(str(tmp_path / "a" / "b"))
    assert "parent" in str(info.value)
    assert not (tmp_path / "a").exists()
    fsutil.make_private_dir(str(tmp_path / "a" / "b"), parents=True)
    assert (tmp_path / "a" / "b").is_dir()


def test_make_private_dir_refuses_a_file_in_the_way(tmp_path):
    (tmp_path / "f").write_text("")
    with pytest.raises(CacheError):
        fsutil.make_private_dir(str(tmp_path / "f"))


# remove_stale_temporaries


def test_stale_temporaries_of_occ_and_of_the_original_are_removed(tmp_path):
    stale = [".occ-tmp-a1b2c3", "tmpk2j4_9zq", "tmp_meta_list.abcd_123"]
    kept = ["tmp", "tmpk2j4_9zq.json", "tmpTOOSHORT", "tmp_meta_list.json", "tmpk2j4_9zqx", "x"]
    for name in stale + kept:
        (tmp_path / name).write_text("")
    (tmp_path / "tmpabcdefgh").mkdir()  # a directory is never removed
    assert fsutil.remove_stale_temporaries(str(tmp_path)) == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*kept, "tmpabcdefgh"])


# The names the cache has always removed, as the regular expression it used to match them.
_STALE_NAMES = r"^(?:\.occ-tmp-.*|tmp[a-z0-9_]{8}|tmp_meta_list\.[a-z0-9_]{8})$"


@hypothesis.settings(max_examples=1000, deadline=None)
@hypothesis.given(
    st.sampled_from(["", ".occ-tmp-", "tmp", "tmp_meta_list.", "TMP", ".occ-tmp"]).flatmap(
        lambda prefix: st.text(alphabet="az09_.A\n-", max_size=10).map(prefix.__add__)
    )
)
def test_stale_temporary_names_are_those_the_pattern_matches(name):
    assert fsutil.is_stale_temporary(name) == bool(re.match(_STALE_NAMES, name))


def test_removing_temporaries_from_a_missing_directory_is_nothing(tmp_path):
    assert fsutil.remove_stale_temporaries(str(tmp_path / "missing")) == 0


# Lock


def test_a_second_locker_times_out_with_cache_busy(tmp_path):
    path = str(tmp_path / "lock")
    with Lock(path, timeout=5):
        started = time.monotonic()
        with pytest.raises(CacheBusy) as info, Lock(path, timeout=0.3):
            pass
        waited = time.monotonic() - started
    assert 0.3 <= waited < 3
    assert path in str(info.value)


def test_the_lock_is_free_again_after_release(tmp_path):
    path = str(tmp_path / "lock")
    with Lock(path, timeout=1):
        pass
    with Lock(path, timeout=0):
        pass
    assert mode(tmp_path / "lock") == 0o600


def test_a_waiting_locker_gets_the_lock_when_it_is_released(tmp_path):
    path = str(tmp_path / "lock")
    order = []
    holder = Lock(path, timeout=1).__enter__()

    def release_later():
        time.sleep(0.2)
        order.append("released")
        holder.__exit__(None, None, None)

    thread = threading.Thread(target=release_later)
    thread.start()
    with Lock(path, timeout=5):
        order.append("acquired")
    thread.join()
    assert order == ["released", "acquired"]


def test_a_lock_held_by_another_process_excludes_us_until_that_process_dies(tmp_path):
    path = str(tmp_path / "lock")
    script = (
        "import fcntl, os, sys, time\n"
        "fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)\n"
        "fcntl.flock(fd, fcntl.LOCK_EX)\n"
        "print('locked', flush=True)\n"
        "time.sleep(60)\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", script, path], stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout.readline() == "locked\n"
        with pytest.raises(CacheBusy), Lock(path, timeout=0.2):
            pass
    finally:
        child.kill()
        child.wait()
        child.stdout.close()
    with Lock(path, timeout=2):
        pass


# Reading: never blocking, regular files only, capped (issue 9, item 7)


def test_read_bytes_refuses_a_fifo_without_waiting_for_a_writer(tmp_path):
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(fsutil.NotRegularFile, match=r"not a regular file \(a FIFO\)"):
        fsutil.read_bytes(str(tmp_path / "fifo"))


def test_read_bytes_refuses_a_device_and_a_directory(tmp_path):
    with pytest.raises(fsutil.NotRegularFile, match="a character device"):
        fsutil.read_bytes("/dev/zero")
    with pytest.raises(fsutil.NotRegularFile, match="a directory"):
        fsutil.read_bytes(str(tmp_path))


def test_read_bytes_stops_at_the_size_cap(tmp_path):
    (tmp_path / "f").write_bytes(b"x" * 101)
    assert fsutil.read_bytes(str(tmp_path / "f"), limit=101) == b"x" * 101
    with pytest.raises(fsutil.FileTooLarge, match="larger than 100 bytes"):
        fsutil.read_bytes(str(tmp_path / "f"), limit=100)


def test_read_bytes_without_follow_refuses_a_symlink(tmp_path):
    (tmp_path / "real").write_bytes(b"data")
    (tmp_path / "link").symlink_to(tmp_path / "real")
    assert fsutil.read_bytes(str(tmp_path / "link")) == b"data"
    with pytest.raises(fsutil.NotRegularFile, match="a symbolic link"):
        fsutil.read_bytes(str(tmp_path / "link"), follow=False)


# Symlinks and loose modes (issue 9, item 9)


def test_the_lock_never_follows_a_symlink_nor_creates_its_target(tmp_path):
    target = tmp_path / "elsewhere"
    (tmp_path / "lock").symlink_to(target)
    with pytest.raises(CacheError, match="it is a symbolic link"):
        Lock(str(tmp_path / "lock"), timeout=1).__enter__()
    assert not target.exists()


def test_a_lock_that_is_a_directory_or_a_fifo_is_a_cache_error(tmp_path):
    (tmp_path / "dir").mkdir()
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(CacheError, match="lock file"):
        Lock(str(tmp_path / "dir"), timeout=1).__enter__()
    with pytest.raises(CacheError, match="it is a FIFO"):
        Lock(str(tmp_path / "fifo"), timeout=1).__enter__()


def test_make_private_dir_without_follow_refuses_a_symlink(tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    fsutil.make_private_dir(str(tmp_path / "link"))  # a configured directory may be a link
    with pytest.raises(CacheError, match="is a symbolic link, not a directory"):
        fsutil.make_private_dir(str(tmp_path / "link"), follow=False)


@pytest.mark.parametrize("loose", [0o777, 0o1777, 0o702])
def test_check_private_refuses_a_world_writable_directory_and_leaves_its_mode(tmp_path, loose):
    directory = tmp_path / "d"
    directory.mkdir()
    directory.chmod(loose)
    with pytest.raises(CacheError, match=rf"writable by others .* run: chmod go-w {directory}$"):
        fsutil.check_private(str(directory))
    assert mode(directory) == loose


def test_check_private_accepts_a_private_or_group_readable_directory(tmp_path):
    for allowed in (0o700, 0o755, 0o1755):
        (tmp_path).chmod(allowed)
        fsutil.check_private(str(tmp_path))
