"""Atomic (and normally durable) file writes, and reads that a hostile file cannot stall.

Every file occ writes goes through ``atomic_write``: a temporary file in the same directory,
fsync, rename over the target, and an fsync of the directory (batched when the caller writes
many files). Readers therefore see either the old or the new content, never a torn file, and a
crash leaves at most a temporary file that ``remove_stale_temporaries`` cleans up later.

Every file occ reads goes through ``open_regular``/``read_bytes``: opened without blocking (a
FIFO cannot hang a pass), checked with fstat to be a regular file (``/dev/zero`` cannot exhaust
memory) and read up to a size cap. Inside the cache, backup and state directories nothing is
reached through a symlink: reads and the lock use O_NOFOLLOW, writes replace the name itself.
"""

from __future__ import annotations

import errno
import os
import stat

from occ.errors import CacheError

TYPE_CHECKING = False  # collections costs an idle pass a sixth of its start-up
if TYPE_CHECKING:
    from collections.abc import Iterator

# The largest file occ reads (metadata, state, cache): far above any real Heat document, and
# small enough that a runaway file cannot take the memory of every instance.
READ_LIMIT_BYTES = 64 * 1024 * 1024
TEMP_PREFIX = ".occ-tmp-"
# Temporary names: ours, and those the original leaves behind after a crash
# (tempfile.NamedTemporaryFile in the cache dir: "tmpXXXXXXXX", "tmp_meta_list.XXXXXXXX").
_STALE_SUFFIX = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_")  # 8 of them after the prefix


def atomic_write(
    path: str,
    data: bytes,
    *,
    mode: int = 0o600,
    sync_dir: bool = True,
    mtime_ns: int | None = None,
    durable: bool = True,
) -> None:
    """Replace the file at ``path`` with ``data`` atomically and durably.

    The file gets ``mode``; an existing file's mode is kept if it is narrower, so a
    deliberately tightened file is never widened. ``durable=False`` skips every fsync, for
    volatile files on tmpfs that the next pass rewrites anyway. Raise OSError on failure; no
    temporary file is left behind.
    """
    directory = os.path.dirname(path) or "."
    try:
        mode &= os.stat(path, follow_symlinks=False).st_mode & 0o7777
    except FileNotFoundError:
        pass
    temp = os.path.join(directory, TEMP_PREFIX + os.urandom(6).hex())
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
    try:
        try:
            os.fchmod(fd, mode)  # the umask may have narrowed the mode further than asked
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)
        if mtime_ns is not None:
            os.utime(temp, ns=(mtime_ns, mtime_ns))
        os.replace(temp, path)
    except BaseException:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise
    if sync_dir and durable:
        fsync_dir(directory)


def fsync_dir(directory: str) -> None:
    """Make renames inside ``directory`` durable."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class NotRegularFile(OSError):
    """A path names a FIFO, device, socket, directory, or a symlink where none may be."""

    def __init__(self, path: str, what: str) -> None:
        super().__init__(errno.EINVAL, f"not a regular file ({what})", path)


class FileTooLarge(OSError):
    """A file is larger than the cap its reader allows."""

    def __init__(self, path: str, limit: int) -> None:
        super().__init__(errno.EFBIG, f"larger than {limit} bytes", path)


def kind(mode: int) -> str:
    """Return what a non-regular file of ``st_mode`` ``mode`` is, in words."""
    for test, name in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISLNK, "a symbolic link"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def open_regular(path: str, *, follow: bool = True) -> tuple[int, os.stat_result]:
    """Open ``path`` for reading without blocking; return (fd, fstat) of a regular file.

    ``follow=False`` refuses a symlink as the last component. Raise FileNotFoundError if it
    does not exist, NotRegularFile if it is not a regular file, OSError if it cannot be opened.
    """
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
    try:
        fd = os.open(path, flags if follow else flags | os.O_NOFOLLOW)
    except OSError as exc:
        if exc.errno == errno.ELOOP and not follow:
            raise NotRegularFile(path, "a symbolic link") from None
        raise
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise NotRegularFile(path, kind(st.st_mode))
    return fd, st


def read_fd(fd: int, path: str, *, limit: int | None = None) -> bytes:
    """Return the rest of the file open at ``fd``. Raise FileTooLarge beyond ``limit`` bytes
    (default READ_LIMIT_BYTES)."""
    limit = READ_LIMIT_BYTES if limit is None else limit
    chunks = []
    size = 0
    while chunk := os.read(fd, min(1 << 16, limit + 1 - size)):
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            raise FileTooLarge(path, limit)
    return b"".join(chunks)


def read_bytes(path: str, *, follow: bool = True, limit: int | None = None) -> bytes | None:
    """Return the content of the regular file ``path``, or None if it does not exist.

    Raise NotRegularFile, FileTooLarge, or OSError if it cannot be read (see ``open_regular``).
    """
    try:
        fd, _ = open_regular(path, follow=follow)
    except FileNotFoundError:
        return None
    try:
        return read_fd(fd, path, limit=limit)
    finally:
        os.close(fd)


def make_private_dir(path: str, *, parents: bool = False, follow: bool = True) -> None:
    """Create ``path`` with mode 0700 unless it exists; an existing mode is left alone.

    ``follow=False`` refuses a symlink in place of the directory (occ's own subdirectories;
    configured directories may be links, as /var/run is). Raise CacheError if it cannot be
    created or is not a directory (``parents=False``: a missing parent is an error, so a cache
    on a not-yet-mounted filesystem is not silently created on the root one).
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
    try:
        st = os.stat(path, follow_symlinks=follow)
    except OSError as exc:
        raise CacheError(f"cannot use {path}: {exc.strerror}") from exc
    if not stat.S_ISDIR(st.st_mode):
        raise CacheError(f"{path} exists but is {kind(st.st_mode)}, not a directory")


def check_private(path: str) -> None:
    """Refuse a directory that someone else could write to (they could plant files the hook
    applies, or swap names for symlinks). The mode is never changed for the operator.

    Raise CacheError naming the command that fixes it.
    """
    try:
        st = os.stat(path)
    except OSError as exc:
        raise CacheError(f"cannot use {path}: {exc.strerror}") from exc
    if st.st_uid not in (0, os.getuid()):
        raise CacheError(
            f"refusing {path}: it is owned by uid {st.st_uid}; run: chown {os.getuid()} {path}"
        )
    # Group write is fine for our own group (root's, as a rule); anyone else's is not.
    loose = stat.S_IWOTH | (stat.S_IWGRP if st.st_gid not in (0, os.getgid()) else 0)
    if st.st_mode & loose:
        raise CacheError(
            f"refusing {path}: it is writable by others (mode {stat.S_IMODE(st.st_mode):o}); "
            f"run: chmod go-w {path}"
        )


def remove_stale_temporaries(directory: str) -> int:
    """Delete temporary files left by a crashed writer in ``directory``; return how many."""
    removed = 0
    for name in _list(directory):
        if is_stale_temporary(name):
            try:
                os.unlink(os.path.join(directory, name))
                removed += 1
            except (IsADirectoryError, FileNotFoundError):
                pass
    return removed


def is_stale_temporary(name: str) -> bool:
    """Return True for a temporary file name: ``.occ-tmp-`` and anything on one line,
    ``tmp`` or ``tmp_meta_list.`` and 8 of ``[a-z0-9_]`` (a final line break is ignored, as a
    regular expression's ``$`` ignores it)."""
    name = name[:-1] if name.endswith("\n") else name
    if name.startswith(TEMP_PREFIX):
        return "\n" not in name
    for prefix in ("tmp", "tmp_meta_list."):
        suffix = name[len(prefix) :]
        if name.startswith(prefix) and len(suffix) == 8 and _STALE_SUFFIX.issuperset(suffix):
            return True
    return False


def _list(directory: str) -> Iterator[str]:
    try:
        yield from os.listdir(directory)
    except FileNotFoundError:
        return
