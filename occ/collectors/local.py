"""local: directories of JSON files written by installers and operators.

Each regular file in the configured directories becomes one output keyed by its file name
(``deployed-server.json`` is stored as ``deployed-server.json.json``). The directories must
belong to the running user and not be world-writable, and no file may be world-writable: anyone
who can write these files controls what the hook applies.
"""

from __future__ import annotations

import json
import os
import stat

from occ.collectors.base import Collector
from occ.core import fsutil
from occ.errors import SourceUnavailable
from occ.log import lazy

TYPE_CHECKING = False
if TYPE_CHECKING:
    from occ.collectors.base import Output

LOG = lazy.logger(__name__)

SKIP = object()  # read_entry's "not a file we read" (a file may legitimately hold null)


def check_directory(path: str, st: os.stat_result) -> None:
    """Raise SourceUnavailable if the directory could be written by someone else."""
    if st.st_uid != os.getuid():
        raise SourceUnavailable(f"{path} is owned by uid {st.st_uid}, not by uid {os.getuid()}")
    if st.st_mode & stat.S_IWOTH:
        raise SourceUnavailable(f"{path} is world-writable")


def read_entry(directory: str, name: str) -> object:
    """Return the JSON document of ``directory/name``, or SKIP for entries that are skipped.

    Directories are skipped silently; other entries that are not regular files (sockets,
    FIFOs, devices, dangling links) with a warning. A symlink is followed only to a regular
    file owned by us. Raise SourceUnavailable for an unreadable, world-writable or invalid file.
    """
    path = os.path.join(directory, name)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        LOG.warning("local: %s is a dangling symlink; skipped", path)
        return SKIP
    except OSError as exc:
        raise SourceUnavailable(f"cannot use {path}: {exc.strerror}") from exc
    if stat.S_ISDIR(st.st_mode):
        return SKIP
    if not stat.S_ISREG(st.st_mode):
        LOG.warning("local: %s is not a regular file; skipped", path)
        return SKIP
    data = _read_checked(path, os.path.islink(path))
    if data is None:
        return SKIP
    try:
        return json.loads(data.decode("utf-8"))
    except (ValueError, RecursionError) as exc:
        raise SourceUnavailable(f"{path} is not valid JSON: {exc}") from exc


def _read_checked(path: str, is_link: bool) -> bytes | None:
    """Read a regular file, re-checking what was opened (the entry may have been replaced).

    Return None for an entry to skip. Raise SourceUnavailable if it cannot be trusted or read.
    """
    try:
        # Non-blocking and re-checked: the entry may have become a FIFO since the stat.
        fd, st = fsutil.open_regular(path)
    except fsutil.NotRegularFile:
        LOG.warning("local: %s is not a regular file; skipped", path)
        return None
    except OSError as exc:
        raise SourceUnavailable(f"cannot open {path}: {exc.strerror}") from exc
    try:
        if st.st_mode & stat.S_IWOTH:
            raise SourceUnavailable(f"{path} is world-writable")
        if is_link and st.st_uid != os.getuid():
            LOG.warning("local: %s links to a file owned by uid %d; skipped", path, st.st_uid)
            return None
        return fsutil.read_fd(fd, path)
    except OSError as exc:
        raise SourceUnavailable(f"cannot read {path}: {exc.strerror}") from exc
    finally:
        os.close(fd)


class LocalCollector(Collector):
    name = "local"
    settled_by_files = True

    def collect(self) -> list[Output]:
        directories = self.settings.items_of("path")
        if not directories:
            raise SourceUnavailable("no directories configured ([local] path)")
        found: list[Output] = []
        for directory in directories:
            found.extend(self._collect_directory(directory))
        # Code-point order of str equals the C locale's byte order for UTF-8 names; stable,
        # so equal names from different directories keep directory order.
        return sorted(found, key=lambda output: output[0])

    def _collect_directory(self, directory: str) -> list[Output]:
        self.context.depends_on(directory)  # its listing: a file added, removed or renamed
        try:
            st = os.stat(directory)
        except FileNotFoundError:
            LOG.warning("local: directory %s does not exist; skipped", directory)
            return []
        except OSError as exc:
            raise SourceUnavailable(f"cannot use {directory}: {exc.strerror}") from exc
        if not stat.S_ISDIR(st.st_mode):
            LOG.warning("local: %s is not a directory; skipped", directory)
            return []
        check_directory(directory, st)
        outputs = []
        for name in os.listdir(directory):
            if name.startswith("."):
                continue
            self.context.depends_on(os.path.join(directory, name))
            document = read_entry(directory, name)
            if document is not SKIP:
                outputs.append((name, document))
        return outputs
