"""Small persisted state between passes, one JSON file per owner (a source, the hook).

State lives in ``<cachedir>/.occ/``: a directory name that cannot end in ``.json``, so it never
collides with cache keys (doc/compatibility.rst, "State directory"). Files are 0600 in a 0700
directory, because some state is secret (Keystone tokens). In print mode the state is
read-only: ``save`` does nothing, so ``--print`` writes nothing at all.

Most state is advisory (source health, HTTP validators, token caches): a state file that is
corrupt, of the wrong type or unreadable gives one WARNING and counts as empty, so a pass never
fails forever on it. ``required`` state (the hook's retry record) guards what the hook is given:
an unreadable one raises CacheError instead (doc/guarantees.rst, "State and cache faults").
"""

from __future__ import annotations

import os

from occ import jsonio
from occ.core import fsutil
from occ.errors import CacheError
from occ.log import lazy

TYPE_CHECKING = False  # typing costs an idle pass its start-up time again (occ.records)
if TYPE_CHECKING:
    from typing import Any


STATE_DIRNAME = ".occ"


def state_dir(cachedir: str) -> str:
    return os.path.join(cachedir, STATE_DIRNAME)


class State:
    """The persisted state of one owner, as a JSON object."""

    def __init__(
        self, directory: str, owner: str, *, writable: bool = True, required: bool = False
    ) -> None:
        self.path = os.path.join(directory, owner + ".state")
        self.writable = writable
        self.required = required

    def load(self) -> dict[str, Any]:
        """Return the stored object; an absent file gives ``{}``, and so does a corrupt one
        (state is a cache of facts that can be re-learnt, never the only copy of anything).

        Raise CacheError if a ``required`` state file cannot be read (wrong type, EACCES);
        advisory state logs a WARNING and gives ``{}``.
        """
        try:
            data = fsutil.read_bytes(self.path, follow=False)
        except OSError as exc:
            if self.required:
                raise CacheError(f"cannot read {self.path}: {exc.strerror}") from exc
            lazy.log(
                __name__,
                lazy.WARNING,
                "ignoring state file %s: %s; starting afresh",
                self.path,
                exc.strerror,
            )
            return {}
        if data is None:
            return {}
        try:
            value = jsonio.loads(data)
        except (ValueError, RecursionError):
            value = None
        if not isinstance(value, dict):
            lazy.log(
                __name__, lazy.WARNING, "ignoring corrupt state file %s; starting afresh", self.path
            )
            try:
                self.clear()  # reset: one warning, not one per read
            except OSError:
                pass
            return {}
        return value

    def save(self, value: dict[str, Any]) -> None:
        """Store ``value`` atomically (mode 0600). Raise OSError if that fails."""
        if not self.writable:
            return
        # With parents: [keystone] cache_dir may name a new directory. The state directory in
        # cachedir is created under the cache lock, after the cachedir itself.
        fsutil.make_private_dir(os.path.dirname(self.path), parents=True)
        fsutil.atomic_write(self.path, jsonio.dumps(value, sort_keys=True).encode(), mode=0o600)

    def clear(self) -> None:
        """Remove the state file. Raise OSError if that fails."""
        if self.writable:
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass

    def child(self, owner: str) -> State:
        """Return the state of another owner in the same directory, e.g. a shared token cache."""
        return State(os.path.dirname(self.path), owner, writable=self.writable)
