"""The on-disk cache (doc/compatibility.rst, "Cache layout"): byte format, .orig/.last, change
rules, unsafe keys, modes, commit, backup and clean-up."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import stat
from pathlib import Path

import pytest

from occ.core.cache import Cache, encode, unsafe_reason
from occ.errors import CacheError


@pytest.fixture
def cachedir(tmp_path: Path) -> Path:
    return tmp_path / "cache"


@pytest.fixture
def cache(cachedir: Path) -> Cache:
    made = Cache(str(cachedir), str(cachedir.parent / "backup"))
    made.create_dirs()
    return made


def mode(path: Path | str) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def commit(cache: Cache, *keys: str) -> list[str]:
    return cache.commit([(key, cache.digest(key)) for key in keys])


@pytest.fixture
def permissive_umask():
    old = os.umask(0)
    yield
    os.umask(old)


# 4.2 Byte format


def test_the_contract_example_byte_for_byte(cache, cachedir):
    cache.store("example", {"name": "caf\u00e9", "n": [1, 2]})
    expected = b'{\n "name": "caf\\u00e9",\n "n": [\n  1,\n  2\n ]\n}'
    assert (cachedir / "example.json").read_bytes() == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"b": 1, "a": 2}, b'{\n "b": 1,\n "a": 2\n}'),  # source order, not sorted
        ({}, b"{}"),
        ([], b"[]"),
        ({"e": {}, "l": []}, b'{\n "e": {},\n "l": []\n}'),
        ('quote" back\\ slash/', b'"quote\\" back\\\\ slash/"'),
        ("\b\f\n\r\t", b'"\\b\\f\\n\\r\\t"'),
        ("\x01\x1f\x7f", b'"\\u0001\\u001f\\u007f"'),
        ("\u00e9\u20ac", b'"\\u00e9\\u20ac"'),
        ("\U0001f600", b'"\\ud83d\\ude00"'),  # surrogate pair, lower-case hex
        ([1.0, 1e100, 0.1, -0.0], b"[\n 1.0,\n 1e+100,\n 0.1,\n -0.0\n]"),
        ([True, False, None], b"[\n true,\n false,\n null\n]"),
        (float("nan"), b"NaN"),
        ("plain", b'"plain"'),
        (7, b"7"),
    ],
)
def test_values_are_stored_in_the_originals_byte_format(cache, cachedir, value, expected):
    cache.store("k", value)
    data = (cachedir / "k.json").read_bytes()
    assert data == expected
    assert encode(value) == expected
    assert not data.endswith(b"\n")


def test_every_output_is_written_each_pass_even_when_unchanged(cache, cachedir):
    cache.store("k", {"a": 1})
    commit(cache, "k")
    (cachedir / "k.json").unlink()
    assert cache.store("k", {"a": 1}).changed is False
    assert (cachedir / "k.json").read_bytes() == b'{\n "a": 1\n}'


def test_store_returns_the_path_built_from_the_configured_cachedir_verbatim(tmp_path):
    (tmp_path / "c").mkdir()
    configured = f"{tmp_path}/./c/"
    stored = Cache(configured).store("k", 1)
    assert stored.path == configured + "k.json"
    assert stored.key == "k"


# 4.1 .orig and .last


def test_orig_is_the_first_version_and_never_updated(cache, cachedir):
    cache.store("k", {"v": 1})
    first = (cachedir / "k.json").read_bytes()
    cache.store("k", {"v": 2})
    commit(cache, "k")
    cache.store("k", {"v": 3})
    assert (cachedir / "k.json.orig").read_bytes() == first
    assert (cachedir / "k.json").read_bytes() == b'{\n "v": 3\n}'


def test_last_is_written_only_by_commit(cache, cachedir):
    cache.store("k", {"v": 1})
    cache.store("k", {"v": 2})
    assert not (cachedir / "k.json.last").exists()
    assert commit(cache, "k") == ["k"]
    assert (cachedir / "k.json.last").read_bytes() == b'{\n "v": 2\n}'
    cache.store("k", {"v": 3})
    assert (cachedir / "k.json.last").read_bytes() == b'{\n "v": 2\n}'


def test_commit_skips_a_key_whose_bytes_changed_since_the_hand_over(cache, cachedir):
    cache.store("a", 1)
    cache.store("b", 1)
    handed = [("a", cache.digest("a")), ("b", cache.digest("b"))]
    cache.store("b", 2)  # a later pass rewrote b while the hook was running
    assert cache.commit(handed) == ["a"]
    assert (cachedir / "a.json.last").read_bytes() == b"1"
    assert not (cachedir / "b.json.last").exists()


def test_commit_of_a_key_that_disappeared_writes_nothing(cache, cachedir):
    cache.store("a", 1)
    digest = cache.digest("a")
    (cachedir / "a.json").unlink()
    assert cache.commit([("a", digest)]) == []
    assert not (cachedir / "a.json.last").exists()


def test_digest_is_the_sha256_of_the_stored_bytes(cache, cachedir):
    cache.store("k", {"x": "y"})
    assert cache.digest("k") == hashlib.sha256((cachedir / "k.json").read_bytes()).hexdigest()
    assert cache.digest("missing") is None


def test_read_returns_the_parsed_document(cache):
    cache.store("k", {"x": [1]})
    assert cache.read("k") == {"x": [1]}
    assert cache.read("missing") is None


# 4.3 Change detection


def test_a_key_seen_for_the_first_time_is_changed(cache):
    assert cache.store("k", 1).changed is True


def test_a_missing_orig_counts_as_changed_even_when_last_matches(cache, cachedir):
    (cachedir / "k.json.last").write_bytes(b"1")
    assert cache.store("k", 1).changed is True
    assert (cachedir / "k.json.orig").read_bytes() == b"1"


def test_a_missing_last_counts_as_changed_on_every_pass(cache):
    cache.store("k", 1)
    assert cache.store("k", 1).changed is True
    assert cache.store("k", 1).changed is True


def test_an_applied_value_is_unchanged(cache):
    cache.store("k", {"a": 1})
    commit(cache, "k")
    assert cache.store("k", {"a": 1}).changed is False


def test_key_order_does_not_count_as_a_change(cache, cachedir):
    cache.store("k", {"a": 1, "b": {"x": 1, "y": 2}})
    commit(cache, "k")
    assert cache.store("k", {"b": {"y": 2, "x": 1}, "a": 1}).changed is False
    # The file itself still follows the new source order.
    assert (cachedir / "k.json").read_bytes().startswith(b'{\n "b"')


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (1, True),
        (True, 1),
        (1, 1.0),
        (0, False),
        ({"a": 1}, {"a": 1.0}),
        ([1, 2], [2, 1]),
        ({"a": None}, {}),
        ("1", 1),
    ],
)
def test_type_and_value_changes_are_changes(cache, before, after):
    cache.store("k", before)
    commit(cache, "k")
    assert cache.store("k", after).changed is True


def test_an_invalid_last_counts_as_changed(cache, cachedir):
    cache.store("k", 1)
    (cachedir / "k.json.last").write_bytes(b"{not json")
    assert cache.store("k", 1).changed is True


def test_a_cache_written_by_the_original_is_adopted_without_changes(cachedir):
    # Files as os-collect-config writes them: json.dumps(indent=1), no newline, 0600.
    cachedir.mkdir(mode=0o755)
    originals = {
        "ec2": '{\n "instance-id": "i-0001",\n "placement": {\n'
        '  "availability-zone": "nova"\n }\n}',
        "heat_local": '{\n "os-collect-config": {\n  "collectors": [\n'
        '   "ec2",\n   "local"\n  ]\n }\n}',
        "deployed-server.json": '{\n "caf\\u00e9": 1.5\n}',
    }
    for key, text in originals.items():
        for suffix in (".json", ".json.orig", ".json.last"):
            path = cachedir / f"{key}{suffix}"
            path.write_text(text)
            path.chmod(0o600)
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in cachedir.iterdir()}
    cache = Cache(str(cachedir))
    cache.create_dirs()
    values = {
        "ec2": {"instance-id": "i-0001", "placement": {"availability-zone": "nova"}},
        "heat_local": {"os-collect-config": {"collectors": ["ec2", "local"]}},
        "deployed-server.json": {"caf\u00e9": 1.5},
    }
    assert [cache.store(k, v).changed for k, v in values.items()] == [False, False, False]
    after = {
        p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in cachedir.iterdir() if p.is_file()
    }
    assert after == before
    assert mode(cachedir) == 0o755


def test_an_original_last_with_another_key_order_is_unchanged(cachedir):
    cachedir.mkdir()
    (cachedir / "k.json").write_text('{\n "b": 2,\n "a": 1\n}')
    (cachedir / "k.json.orig").write_text('{\n "b": 2,\n "a": 1\n}')
    (cachedir / "k.json.last").write_text('{\n "b": 2,\n "a": 1\n}')
    assert Cache(str(cachedir)).store("k", {"a": 1, "b": 2}).changed is False


# Unsafe keys (doc/compatibility.rst, "Key names")


@pytest.mark.parametrize(
    "key",
    [
        "",
        ".",
        "..",
        "a/b",
        "../escaped",
        "/etc/passwd",
        "a\0b",
        "a:b",
        "Heat::Ungrouped",
        "a\nb",
        ".hidden",
        ".occ",
        "os_config_files",  # its file would overwrite the file list
        "a" * 246,
        "\u00e9" * 123,  # 246 UTF-8 bytes
        None,
        1,
    ],
)
def test_unsafe_keys_have_a_reason(key):
    assert unsafe_reason(key)


@pytest.mark.parametrize(
    "key",
    [
        "deployed-server.json",
        "b-config",
        "with space",
        "caf\u00e9",
        "a..b",
        "trailing.",
        "-dash",
        "os_config_files.json",
        "a" * 245,
        "\u00e9" * 122 + "a",  # 245 UTF-8 bytes
    ],
)
def test_safe_keys_have_no_reason(key):
    assert unsafe_reason(key) is None


def test_the_longest_safe_key_can_be_stored_and_committed(cache, cachedir):
    key = "\u00e9" * 122 + "a"
    assert cache.store(key, 1).changed is True
    assert commit(cache, key) == [key]
    assert (cachedir / f"{key}.json.last").read_bytes() == b"1"
    assert (cachedir / f"{key}.json.orig").exists()


def test_a_symlink_planted_in_the_cache_never_makes_a_write_land_outside(cache, cachedir, tmp_path):
    outside = tmp_path / "outside"
    outside.write_bytes(b"precious")
    for suffix in (".json", ".json.orig", ".json.last"):
        (cachedir / f"k{suffix}").symlink_to(outside)
    cache.store("k", {"v": 1})
    commit(cache, "k")
    assert outside.read_bytes() == b"precious"
    for suffix in (".json", ".json.last"):
        assert not (cachedir / f"k{suffix}").is_symlink()


# Modes and directories


def test_files_are_0600_and_a_new_cachedir_is_0700(tmp_path, permissive_umask):
    cachedir = tmp_path / "cache"
    cache = Cache(str(cachedir))
    cache.create_dirs()
    cache.store("k", 1)
    commit(cache, "k")
    cache.write_file_list([cache.path("k")])
    assert mode(cachedir) == 0o700
    assert mode(cachedir / ".occ") == 0o700
    for name in ("k.json", "k.json.orig", "k.json.last", "os_config_files.json"):
        assert mode(cachedir / name) == 0o600, name


def test_an_existing_cachedir_keeps_its_mode(cachedir):
    cachedir.mkdir()
    cachedir.chmod(0o751)
    cache = Cache(str(cachedir))
    cache.create_dirs()
    cache.store("k", 1)
    assert mode(cachedir) == 0o751


def test_an_existing_file_mode_is_never_widened(cache, cachedir):
    cache.store("k", 1)
    (cachedir / "k.json").chmod(0o400)
    cache.store("k", 2)
    assert mode(cachedir / "k.json") == 0o400
    assert (cachedir / "k.json").read_bytes() == b"2"


def test_a_world_readable_file_from_an_old_install_is_narrowed(cache, cachedir):
    (cachedir / "k.json").write_bytes(b"1")
    (cachedir / "k.json").chmod(0o644)
    cache.store("k", 2)
    assert mode(cachedir / "k.json") == 0o600


def test_a_missing_parent_is_a_cache_error_and_no_parent_is_created(tmp_path):
    cachedir = tmp_path / "not-mounted" / "cache"
    with pytest.raises(CacheError) as info:
        Cache(str(cachedir)).create_dirs()
    assert str(cachedir) in str(info.value)
    assert not (tmp_path / "not-mounted").exists()


def test_a_cachedir_that_is_a_file_is_a_cache_error(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(CacheError):
        Cache(str(tmp_path / "file")).create_dirs()


def test_storing_into_a_missing_cachedir_is_a_cache_error(tmp_path):
    with pytest.raises(CacheError):
        Cache(str(tmp_path / "missing")).store("k", 1)


# os_config_files.json


def test_the_file_list_is_a_json_array_in_the_originals_bytes(cache, cachedir):
    paths = [f"{cachedir}/ec2.json", f"{cachedir}/caf\u00e9.json", f"{cachedir}/ec2.json"]
    cache.write_file_list(paths)
    data = (cachedir / "os_config_files.json").read_bytes()
    expected = f'["{cachedir}/ec2.json", "{cachedir}/caf\\u00e9.json", "{cachedir}/ec2.json"]'
    assert data == expected.encode()
    assert json.loads(data) == paths


# Stale temporary files (doc/compatibility.rst, "Atomic writes")


def test_clean_removes_temporary_files_left_by_crashed_writers(cache, cachedir):
    stale = ["tmpab12_x9z", "tmp_meta_list.q1w2e3r4", ".occ-tmp-0123456789ab"]
    kept = [
        "tmp.json",
        "tmpab12_x9z.json",
        "tmpab12_x9z.json.orig",
        "notes.txt",
        "tmp_meta_list.json",
        "k.json",
    ]
    for name in stale + kept:
        (cachedir / name).write_text("{}")
    cache.clean()
    assert sorted(p.name for p in cachedir.iterdir() if p.is_file()) == sorted(kept)


def test_clean_also_covers_the_state_and_backup_directories(tmp_path):
    cache = Cache(str(tmp_path / "c"), str(tmp_path / "b"))
    cache.create_dirs()
    (tmp_path / "b").mkdir()
    for directory in (cache.state_dir, str(tmp_path / "b")):
        with open(f"{directory}/.occ-tmp-0123456789ab", "w") as handle:
            handle.write("{}")
    cache.clean()
    assert os.listdir(cache.state_dir) == [] and os.listdir(tmp_path / "b") == []


def test_no_temporary_file_is_left_after_a_store_and_commit(cache, cachedir):
    cache.store("a", {"x": 1})
    cache.store("a", {"x": 2})
    commit(cache, "a")
    cache.write_file_list([cache.path("a")])
    names = sorted(p.name for p in cachedir.iterdir() if p.is_file())
    assert names == ["a.json", "a.json.last", "a.json.orig", "os_config_files.json"]


# 4.6 Backup


def test_the_backup_is_a_copy_with_modes_and_mtimes(cache, cachedir, tmp_path):
    cache.store("a", {"x": 1})
    cache.store("b", [1])
    commit(cache, "a")
    cache.write_file_list([cache.path("a"), cache.path("b")])
    (cachedir / "b.json").chmod(0o400)
    os.utime(cachedir / "a.json", ns=(1_500_000_000_123_456_789, 1_500_000_000_123_456_789))
    cache.refresh_backup()
    backup = tmp_path / "backup"
    for source in cachedir.iterdir():
        if source.is_file():
            copy = backup / source.name
            assert copy.read_bytes() == source.read_bytes(), source.name
            assert mode(copy) == mode(source), source.name
            assert copy.stat().st_mtime_ns == source.stat().st_mtime_ns, source.name
    # The file list keeps pointing at the primary cache.
    assert json.loads((backup / "os_config_files.json").read_bytes())[0] == cache.path("a")


def test_the_backup_leaves_out_the_state_directory(cache, tmp_path):
    (Path(cache.state_dir) / "hook.state").write_text("{}")
    cache.store("a", 1)
    cache.refresh_backup()
    assert sorted(p.name for p in (tmp_path / "backup").iterdir()) == [
        "a.json",
        "a.json.orig",
    ]


def test_the_backup_follows_later_changes_and_keeps_foreign_files(cache, tmp_path):
    backup = tmp_path / "backup"
    backup.mkdir()
    (backup / "operator-notes.txt").write_text("keep me")
    cache.store("a", {"x": 1})
    cache.refresh_backup()
    cache.store("a", {"x": 1, "y": "longer now"})
    commit(cache, "a")
    cache.refresh_backup()
    assert json.loads((backup / "a.json").read_bytes()) == {"x": 1, "y": "longer now"}
    assert (backup / "a.json.last").exists()
    assert (backup / "operator-notes.txt").read_text() == "keep me"


def test_the_backup_directory_is_created_with_its_parents(cachedir, tmp_path):
    backup = tmp_path / "run" / "deep" / "backup"
    cache = Cache(str(cachedir), str(backup))
    cache.create_dirs()
    cache.store("a", 1)
    cache.refresh_backup()
    assert (backup / "a.json").read_bytes() == b"1"


def test_an_empty_backup_setting_copies_nothing(cachedir, tmp_path):
    cache = Cache(str(cachedir), "")
    cache.create_dirs()
    cache.store("a", 1)
    cache.refresh_backup()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache"]


# Write failures: one-line CacheError, nothing torn


@pytest.fixture
def disk_full(monkeypatch):
    """Make every fsync fail with ENOSPC, as a full disk does at the moment data must land."""

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    return lambda: monkeypatch.setattr(os, "fsync", full)


def temporaries(*directories: Path) -> list[str]:
    return [p.name for d in directories for p in d.iterdir() if p.name.startswith(".occ-tmp-")]


def test_a_failed_store_is_one_line_and_keeps_the_previous_file(cache, cachedir, disk_full):
    cache.store("k", {"v": 1})
    disk_full()
    with pytest.raises(CacheError) as info:
        cache.store("k", {"v": 2})
    assert str(info.value) == f"cannot write {cachedir}/k.json: No space left on device"
    assert (cachedir / "k.json").read_bytes() == encode({"v": 1})
    assert temporaries(cachedir) == []


def test_a_failed_first_store_leaves_no_orig(cache, cachedir, disk_full):
    disk_full()
    with pytest.raises(CacheError, match=r"^cannot write .*k\.json: No space left on device$"):
        cache.store("k", 1)
    assert sorted(p.name for p in cachedir.iterdir() if p.is_file()) == []


def test_a_failed_commit_is_one_line_and_writes_no_last(cache, cachedir, disk_full):
    cache.store("k", {"v": 1})
    disk_full()
    with pytest.raises(CacheError) as info:
        commit(cache, "k")
    assert str(info.value) == f"cannot write {cachedir}/k.json.last: No space left on device"
    assert not (cachedir / "k.json.last").exists()
    assert temporaries(cachedir) == []
    assert cache.store("k", {"v": 1}).changed is True  # still not applied: offered again


def test_a_failed_file_list_is_one_line_and_keeps_the_previous_list(cache, cachedir, disk_full):
    cache.write_file_list([cache.path("a")])
    before = (cachedir / "os_config_files.json").read_bytes()
    disk_full()
    with pytest.raises(CacheError) as info:
        cache.write_file_list([cache.path("a"), cache.path("b")])
    expected = f"cannot write {cachedir}/os_config_files.json: No space left on device"
    assert str(info.value) == expected
    assert (cachedir / "os_config_files.json").read_bytes() == before
    assert temporaries(cachedir) == []


def test_a_failed_backup_refresh_is_one_line_and_keeps_the_previous_copy(
    cache, cachedir, tmp_path, disk_full
):
    backup = tmp_path / "backup"
    cache.store("k", {"v": 1})
    cache.refresh_backup()
    cache.store("k", {"v": 2, "longer": True})
    disk_full()
    with pytest.raises(CacheError) as info:
        cache.refresh_backup()
    assert str(info.value) == f"cannot refresh the backup in {backup}: No space left on device"
    assert (backup / "k.json").read_bytes() == encode({"v": 1})
    assert temporaries(backup) == []


# Hostile names, wrong file types, symlinks and loose modes (issue 9, items 3, 4 and 9)


@pytest.mark.parametrize("key", ["bad\ud800", "x\udcff", "\udc80"])
def test_a_key_that_is_not_valid_utf8_is_unsafe(key):
    assert unsafe_reason(key) == "it is not valid UTF-8"


def test_a_last_file_that_is_a_directory_is_one_cache_error(cache, cachedir):
    cache.store("k", 1)
    (cachedir / "k.json.last").mkdir()
    with pytest.raises(CacheError, match=r"k\.json\.last: not a regular file \(a directory\)$"):
        cache.store("k", 2)


def test_a_symlinked_state_directory_is_refused(tmp_path):
    (tmp_path / "cache").mkdir(mode=0o700)
    (tmp_path / "elsewhere").mkdir(mode=0o700)
    (tmp_path / "cache" / ".occ").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(CacheError, match=r"\.occ exists but is a symbolic link"):
        Cache(str(tmp_path / "cache")).create_dirs()


def test_a_symlinked_cache_directory_is_fine(tmp_path):
    (tmp_path / "real").mkdir(mode=0o700)
    (tmp_path / "cache").symlink_to(tmp_path / "real")
    Cache(str(tmp_path / "cache")).create_dirs()
    assert (tmp_path / "real" / ".occ").is_dir()


@pytest.mark.parametrize("loose", [0o1777, 0o777])
def test_a_cache_directory_writable_by_others_is_refused_and_never_chmodded(tmp_path, loose):
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache").chmod(loose)
    with pytest.raises(CacheError, match=r"run: chmod go-w .*cache$"):
        Cache(str(tmp_path / "cache")).create_dirs()
    assert mode(tmp_path / "cache") == loose
    assert list((tmp_path / "cache").iterdir()) == []


def test_a_backup_directory_writable_by_others_is_refused(cache, tmp_path):
    backup = Path(cache.backup_cachedir)
    backup.mkdir(mode=0o700, exist_ok=True)
    backup.chmod(0o1777)
    cache.store("k", 1)
    with pytest.raises(CacheError, match="writable by others"):
        cache.refresh_backup()
    assert mode(backup) == 0o1777
