"""The on-disk cache: store, compare, commit, the file list and the backup copy.

Byte-compatible with the original (doc/compatibility.rst, "Cache layout"): ``<key>.json`` is
``json.dumps(value, indent=1)`` without a trailing newline, ``<key>.json.orig`` is the first
version ever stored, ``<key>.json.last`` the last version a hook applied, and
``os_config_files.json`` lists the files of the last pass that found changes. Unlike the
original, every write is atomic and durable, keys that are not safe file names are refused,
and a type change (``1`` to ``true``) counts as a change.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence

from occ import jsonio
from occ.core import fsutil
from occ.core.digest import sha256_hex
from occ.core.state import STATE_DIRNAME
from occ.errors import CacheError
from occ.log import lazy

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, NamedTuple
else:
    from occ.records import NamedTuple

LOG = lazy.logger(__name__)

FILE_LIST = "os_config_files.json"
# A key becomes "<key>.json.orig": keep the longest file name within NAME_MAX (255 bytes).
KEY_MAX_BYTES = 245


def is_utf8(key: str) -> bool:
    """Return False for a key with a lone surrogate (``"\\ud800"`` in JSON) or an escaped byte
    of a non-UTF-8 file name: no file name, log line or hook variable can carry it faithfully."""
    try:
        key.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def unsafe_reason(key: object) -> str | None:
    """Return why ``key`` cannot be a cache file name, or None if it is safe."""
    if not isinstance(key, str):
        return "it is not a string"
    if key in ("", ".", ".."):
        return "it is empty, '.' or '..'"
    for char, name in (("/", "a '/'"), ("\0", "a NUL byte"), (":", "a ':'"), ("\n", "a newline")):
        if char in key:
            return f"it contains {name}"
    if key.startswith("."):
        return "it starts with '.'"
    if not is_utf8(key):
        return "it is not valid UTF-8"
    if key == FILE_LIST[: -len(".json")]:
        return "its file would overwrite the file list os_config_files.json"
    if len(key.encode("utf-8")) > KEY_MAX_BYTES:
        return f"it is longer than {KEY_MAX_BYTES} bytes"
    return None


def encode(value: Any) -> bytes:
    """Return the original's byte format for a cached document."""
    return jsonio.dumps(value, indent=1).encode("ascii")


def _canonical(value: Any) -> str:
    # Key order is irrelevant; types are not (1, 1.0 and true differ).
    return jsonio.dumps(value, sort_keys=True)


def _read_own(path: str) -> bytes | None:
    """Return the content of a file occ wrote in the cache; None if it is missing or a symlink
    (never followed: its next write replaces the link itself). Raise OSError otherwise."""
    try:
        return fsutil.read_bytes(path, follow=False)
    except fsutil.NotRegularFile:
        if os.path.islink(path):
            return None
        raise


class Stored(NamedTuple):
    """One output stored by a pass, in pass order (a key may appear more than once)."""

    key: str
    path: str  # os.path.join(cachedir as configured, key + ".json"), as OS_CONFIG_FILES wants
    changed: bool


class Cache:
    """The cache directory ``cachedir`` and its backup copy ``backup_cachedir``."""

    def __init__(self, cachedir: str, backup_cachedir: str = "") -> None:
        self.cachedir = cachedir
        self.backup_cachedir = backup_cachedir
        self.state_dir = os.path.join(cachedir, STATE_DIRNAME)
        self._unsynced = False  # renames in cachedir not yet made durable by sync()

    def path(self, key: str) -> str:
        return os.path.join(self.cachedir, key + ".json")

    def create_dirs(self) -> None:
        """Create the cache directory (mode 0700, its parent must exist) and the state directory.

        Raise CacheError if that fails, if either is writable by others, or if the state
        directory is a symlink (the configured cache directory may be one).
        """
        fsutil.make_private_dir(self.cachedir)
        fsutil.check_private(self.cachedir)
        fsutil.make_private_dir(self.state_dir, follow=False)
        fsutil.check_private(self.state_dir)

    def clean(self) -> None:
        """Remove temporary files left by an interrupted writer. Call it under the lock only:
        a concurrent writer's temporary file looks the same."""
        for directory in (self.cachedir, self.state_dir, self.backup_cachedir):
            if directory and fsutil.remove_stale_temporaries(directory):
                LOG.info("removed temporary files left in %s by an interrupted pass", directory)

    def read(self, key: str) -> Any:
        """Return the parsed ``<key>.json``; None if it is missing. Raise ValueError if invalid."""
        data = fsutil.read_bytes(self.path(key), follow=False)
        return None if data is None else jsonio.loads_document(data)

    def store(self, key: str, value: Any) -> Stored:
        """Write ``<key>.json`` (and ``.orig`` on first sight) and decide whether it changed.

        The caller has checked ``unsafe_reason(key)``. Raise CacheError if reading or writing fails.
        """
        path = self.path(key)
        data = encode(value)
        current = self._read(path)
        try:
            if current != data:
                self._unsynced = True
                fsutil.atomic_write(path, data, sync_dir=False)
            if not os.path.lexists(path + ".orig"):
                self._unsynced = True
                fsutil.atomic_write(path + ".orig", data, sync_dir=False)
                return Stored(key, path, True)
        except OSError as exc:
            raise CacheError(f"cannot write {path}: {exc.strerror}") from exc
        return Stored(key, path, self._differs_from_last(path, value))

    def _differs_from_last(self, path: str, value: Any) -> bool:
        last = self._read(path + ".last")
        if last is None:
            return True  # never applied, or the hook has not succeeded yet
        try:
            return _canonical(jsonio.loads_document(last)) != _canonical(value)
        except ValueError:
            LOG.warning("%s.last is not valid JSON; treating %s as changed", path, path)
            return True

    def write_file_list(self, paths: Sequence[str]) -> None:
        """Write ``os_config_files.json`` (JSON array of paths, the original's bytes)."""
        self._write(os.path.join(self.cachedir, FILE_LIST), jsonio.dumps(list(paths)).encode())

    def sync(self) -> None:
        """Make this pass's renames in the cache directory durable (one fsync for all).

        A pass that rewrote nothing (the usual one) costs no fsync at all.
        """
        if self._unsynced:
            fsutil.fsync_dir(self.cachedir)
            self._unsynced = False

    def _write(self, path: str, data: bytes) -> None:
        try:
            self._unsynced = True
            fsutil.atomic_write(path, data, sync_dir=False)
        except OSError as exc:
            raise CacheError(f"cannot write {path}: {exc.strerror}") from exc

    def _read(self, path: str) -> bytes | None:
        try:
            return _read_own(path)
        except OSError as exc:
            raise CacheError(f"cannot read {path}: {exc.strerror}") from exc

    def digest(self, key: str) -> str | None:
        """Return the SHA-256 of ``<key>.json`` as it is now, or None if it is missing.

        Raise CacheError if it cannot be read.
        """
        data = self._read(self.path(key))
        return None if data is None else sha256_hex(data)

    def commit(self, records: Iterable[tuple[str, str]]) -> list[str]:
        """Copy ``<key>.json`` to ``<key>.json.last`` for each (key, digest) whose file still
        has exactly the bytes the hook was given; return the keys committed.

        Raise CacheError if writing fails.
        """
        committed = []
        for key, digest in records:
            data = self._read(self.path(key))
            if data is None or sha256_hex(data) != digest:
                LOG.warning(
                    "%s changed after the hook was started; not marking it applied; "
                    "the next pass hands it to the hook again",
                    self.path(key),
                )
                continue
            self._write(self.path(key) + ".last", data)
            committed.append(key)
        self.sync()
        return committed

    def refresh_backup(self) -> None:
        """Make ``backup_cachedir`` a copy of the cache, one atomic file replacement at a time.

        The directory itself is never removed or renamed (under systemd it is a bind mount), so
        readers never find it empty or half copied. occ's state directory is not copied.
        Raise CacheError if the copy fails.
        """
        if not self.backup_cachedir:
            return
        try:
            fsutil.make_private_dir(self.backup_cachedir, parents=True)
            fsutil.check_private(self.backup_cachedir)
            for entry in os.scandir(self.cachedir):
                if entry.is_file(follow_symlinks=False) and not entry.name.startswith("."):
                    self._copy_to_backup(entry)
            fsutil.fsync_dir(self.backup_cachedir)
        except OSError as exc:
            raise CacheError(
                f"cannot refresh the backup in {self.backup_cachedir}: {exc.strerror}"
            ) from exc

    def _copy_to_backup(self, entry: os.DirEntry) -> None:
        source = entry.stat(follow_symlinks=False)
        target = os.path.join(self.backup_cachedir, entry.name)
        try:
            existing = os.stat(target, follow_symlinks=False)
            if (existing.st_size, existing.st_mtime_ns) == (source.st_size, source.st_mtime_ns):
                return
        except FileNotFoundError:
            pass
        data = fsutil.read_bytes(entry.path, follow=False)
        if data is None:
            return  # removed since the listing; the next pass copies the cache again
        fsutil.atomic_write(
            target, data, mode=source.st_mode & 0o777, sync_dir=False, mtime_ns=source.st_mtime_ns
        )
