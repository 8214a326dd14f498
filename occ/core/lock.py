"""The pass lock: an exclusive ``flock`` on ``<cachedir>/.occ/lock``.

Two passes (a timer tick and a manual ``--one-time``, say) never touch one cache at once. The
lock dies with its process, so a crashed pass never leaves the cache locked.
"""

from __future__ import annotations

import errno
import fcntl
import os
import stat
import time

from occ.core.fsutil import kind
from occ.errors import CacheBusy, CacheError


class Lock:
    """An exclusive ``flock`` on a file, so that two passes never touch one cache at once.

    The lock dies with the process, so a crashed pass never leaves the cache locked.
    """

    def __init__(self, path: str, *, timeout: float) -> None:
        self.path = path
        self.timeout = timeout
        self._fd: int | None = None

    def __enter__(self) -> Lock:
        flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
        try:
            # O_NOFOLLOW: a planted ".occ/lock -> /etc/x" must not make root create /etc/x.
            fd = os.open(self.path, flags, 0o600)
        except OSError as exc:
            what = "it is a symbolic link" if exc.errno == errno.ELOOP else exc.strerror
            raise CacheError(f"cannot open the lock file {self.path}: {what}") from exc
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            os.close(fd)
            raise CacheError(f"cannot use the lock file {self.path}: it is {kind(mode)}")
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
