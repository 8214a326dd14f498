"""Durable file writes and the pass lock.

Every file occ writes goes through ``atomic_write``: a temporary file in the same directory,
fsync, rename over the target, and an fsync of the directory (batched when the caller writes
many files). Readers therefore see either the old or the new content, never a torn file, and a
crash leaves at most a temporary file that ``remove_stale_temporaries`` cleans up later.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import re
import time
from collections.abc import Iterator

from occ.errors import CacheBusy, CacheError

TEMP_PREFIX = ".occ-tmp-"
# Temporary names: ours, and those the original leaves behind after a crash
# (tempfile.NamedTemporaryFile in the cache dir: "tmpXXXXXXXX", "tmp_meta_list.XXXXXXXX").
_STALE_RE = re.compile(r"^(?:\.occ-tmp-.*|tmp[a-z0-9_]{8}|tmp_meta_list\.[a-z0-9_]{8})$")


def atomic_write(
    path: str, data: bytes, *, mode: int = 0o600, sync_dir: bool = True, mtime_ns: int | None = None
) -> None:
    """Replace the file at ``path`` with ``data`` atomically and durably.

    The file gets ``mode``; an existing file's mode is kept if it is narrower, so a
    deliberately tightened file is never widened. Raise OSError on failure; no temporary file
    is left behind.
    """
    directory = os.path.dirname(path) or "."
    with contextlib.suppress(FileNotFoundError):
        mode &= os.stat(path).st_mode & 0o7777
    temp = os.path.join(directory, TEMP_PREFIX + os.urandom(6).hex())
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
    try:
        try:
            os.fchmod(fd, mode)  # the umask may have narrowed the mode further than asked
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        if mtime_ns is not None:
            os.utime(temp, ns=(mtime_ns, mtime_ns))
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    if sync_dir:
        fsync_dir(directory)


def fsync_dir(directory: str) -> None:
    """Make renames inside ``directory`` durable."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_bytes(path: str) -> bytes | None:
    """Return the content of ``path``, or None if it does not exist."""
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def make_private_dir(path: str, *, parents: bool = False) -> None:
    """Create ``path`` with mode 0700 unless it exists; an existing mode is left alone.

    Raise CacheError if it cannot be created (``parents=False``: a missing parent is an error,
    so a cache on a not-yet-mounted filesystem is not silently created on the root one).
    """
    try:
        if parents:
            os.makedirs(path, mode=0o700, exist_ok=True)
        else:
            os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            raise CacheError(f"cannot create {path}: its parent directory does not exist") from exc
        raise CacheError(f"cannot create {path}: {exc.strerror}") from exc
    if not os.path.isdir(path):
        raise CacheError(f"{path} exists but is not a directory")


def remove_stale_temporaries(directory: str) -> int:
    """Delete temporary files left by a crashed writer in ``directory``; return how many."""
    removed = 0
    for name in _list(directory):
        if _STALE_RE.match(name):
            try:
                os.unlink(os.path.join(directory, name))
                removed += 1
            except (IsADirectoryError, FileNotFoundError):
                pass
    return removed


def _list(directory: str) -> Iterator[str]:
    try:
        yield from os.listdir(directory)
    except FileNotFoundError:
        return


class Lock:
    """An exclusive ``flock`` on a file, so that two passes never touch one cache at once.

    The lock dies with the process, so a crashed pass never leaves the cache locked.
    """

    def __init__(self, path: str, *, timeout: float) -> None:
        self.path = path
        self.timeout = timeout
        self._fd: int | None = None

    def __enter__(self) -> Lock:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        deadline = time.monotonic() + self.timeout
        delay = 0.01
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise CacheBusy(
                        f"another os-collect-config pass has held {self.path} for more than "
                        f"{self.timeout:g}s"
                    ) from None
                time.sleep(delay)
                delay = min(delay * 2, 0.25)
        self._fd = fd
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
