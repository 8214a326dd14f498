"""Running the hook command, and the bounded retry policy for a failing hook.

The hook (usually os-refresh-config) runs as ``/bin/sh -c <command>`` with the program's
environment plus ``OS_CONFIG_FILES`` (every file of the pass) and ``OCC_CHANGED_FILES`` (the
changed ones), stdin/stdout/stderr inherited. Its exit status is reported the way the original
did (killed by signal N: 256 - N).

A hook that keeps failing on the same data is retried by automatic passes with a doubling
back-off and a finite number of attempts (doc/compatibility.rst, "Hook retry back-off"); new
data, ``--force`` or a changed configuration start over. The record lives in
``<cachedir>/.occ/hook.state``.
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from collections.abc import Sequence

from occ import status
from occ.core.state import State
from occ.errors import CacheError, HookError
from occ.log import lazy, logfields

TYPE_CHECKING = False
if TYPE_CHECKING:
    import subprocess
    from typing import Any

LOG = lazy.logger(__name__)

# After a hook timeout: SIGTERM, then this long before SIGKILL.
KILL_GRACE_SECONDS = 10.0


def environment(files: Sequence[str], changed: Sequence[str]) -> dict[str, str]:
    """Return the variables a hook receives on top of the inherited environment."""
    return {"OS_CONFIG_FILES": ":".join(files), "OCC_CHANGED_FILES": ":".join(changed)}


def run(command: str, variables: dict[str, str], *, timeout: float = 0) -> int:
    """Run ``command`` with ``variables`` added to the environment; return its exit status.

    ``timeout`` > 0 stops the hook (SIGTERM, then SIGKILL) after that many seconds.
    Raise HookError if the shell cannot be started at all.
    """
    import subprocess  # not needed by the passes that change nothing, i.e. almost all

    LOG.info("running hook: %s", command)
    env = dict(os.environ, **variables)
    try:
        # start_new_session: a timeout can stop the whole hook process tree, not just sh.
        child = subprocess.Popen(["/bin/sh", "-c", command], env=env, start_new_session=timeout > 0)
    except OSError as exc:
        raise HookError(f"cannot start the hook: /bin/sh: {exc.strerror}") from exc
    try:
        returncode = child.wait(timeout=timeout or None)
    except subprocess.TimeoutExpired:
        LOG.error("hook still running after %gs (hook_timeout); stopping it", timeout)
        returncode = _stop(child)
    code = status.from_returncode(returncode)
    if code == 0:
        LOG.log(
            lazy.NOTICE,
            "hook succeeded",
            extra=logfields.fields(hook_exit=0, message_id=logfields.MESSAGE_HOOK_SUCCEEDED),
        )
    else:
        LOG.error(
            "hook failed with exit status %d; nothing committed, the data stays pending",
            code,
            extra=logfields.fields(hook_exit=code, message_id=logfields.MESSAGE_HOOK_FAILED),
        )
    return code


def _stop(child: subprocess.Popen) -> int:
    import signal
    import subprocess

    for sig, wait in ((signal.SIGTERM, KILL_GRACE_SECONDS), (signal.SIGKILL, None)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, sig)
        try:
            return child.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue
    return child.wait()


class RetryPolicy:
    """Decides whether an automatic pass may hand data to the hook again.

    ``record`` is ``{"digest", "attempts", "next_attempt", "exhausted", "config"}``: the data
    last handed to the hook, how many hand-overs of it did not end in a commit, when the next
    one is allowed (epoch seconds), and the configuration fingerprint it was handed under.
    """

    def __init__(self, state: State, *, base_delay: float, max_delay: float, limit: int) -> None:
        self.state = state
        self.base_delay = max(base_delay, 1.0)
        self.max_delay = max(max_delay, self.base_delay)
        self.limit = limit

    def load(self) -> dict[str, Any]:
        """Return the record; a malformed one is reset with a WARNING (a corrupt record must
        neither block the hook forever nor fail every pass). Raise CacheError if unreadable."""
        record = self.state.load()
        if record and not _well_formed(record):
            LOG.warning("ignoring malformed hook retry record %s; starting over", self.state.path)
            self.save({})  # reset: one warning, not one per read
            return {}
        return record

    def save(self, record: dict[str, Any]) -> None:
        """Store ``record`` (an empty one removes the file). Raise CacheError if that fails."""
        try:
            if record:
                self.state.save(record)
            else:
                self.state.clear()
        except OSError as exc:
            raise CacheError(f"cannot write {self.state.path}: {exc.strerror}") from exc

    def failed_attempts(self, digest: str, config_fingerprint: str) -> int:
        """Return how many hand-overs of ``digest`` (under this configuration) did not end in
        a commit: 0 for data the hook never got. Raise CacheError if the record is unreadable."""
        record = self.load()
        if record.get("digest") != digest or record.get("config") != config_fingerprint:
            return 0
        return int(record.get("attempts", 0))

    def allows(self, digest: str, config_fingerprint: str) -> bool:
        """Return True if data with ``digest`` may go to the hook now; log why not otherwise.

        Raise CacheError if the record cannot be read or updated.
        """
        record = self.load()
        if record.get("digest") != digest or record.get("config") != config_fingerprint:
            return True
        attempts = int(record.get("attempts", 0))
        if self.limit and attempts >= self.limit:
            if not record.get("exhausted"):
                LOG.error(
                    "the hook failed %d times on the same data; not retrying automatically any "
                    "more. Fix the hook, then run 'os-collect-config retry' (new data or a "
                    "changed configuration also start over)",
                    attempts,
                    extra=logfields.fields(
                        attempt=attempts, message_id=(logfields.MESSAGE_HOOK_RETRIES_EXHAUSTED)
                    ),
                )
                self.save(dict(record, exhausted=True))
            return False
        wait = float(record.get("next_attempt", 0)) - time.time()
        if wait > 0:
            # Quiet: the retry itself is a NOTICE; a back-off pass has nothing new to say.
            LOG.debug(
                "hook failed %d time(s) on this data; next retry in %.0fs",
                attempts,
                wait,
                extra=logfields.fields(attempt=attempts),
            )
            return False
        return True

    def handed_over(self, digest: str, config_fingerprint: str) -> int:
        """Record a hand-over of ``digest`` to the hook; return its attempt number.

        Recorded before the hook runs, so that a hook that never reports back (a crash, a
        failed hook unit) still counts as a failed attempt. Raise CacheError if it cannot be.
        """
        record = self.load()
        same = record.get("digest") == digest and record.get("config") == config_fingerprint
        attempts = int(record.get("attempts", 0)) + 1 if same else 1
        delay = min(self.max_delay, self.base_delay * 2 ** (attempts - 1))
        self.save(
            {
                "digest": digest,
                "config": config_fingerprint,
                "attempts": attempts,
                # Jitter spreads the retries of a fleet that failed on the same deployment.
                "next_attempt": time.time() + delay * _jitter(),
                "exhausted": False,
            }
        )
        return attempts

    def withdrawn(self, digest: str) -> None:
        """Take back the last hand-over of ``digest``: the hook never started (its hand-over
        could not be written, the shell could not be run). Raise CacheError if that fails."""
        record = self.load()
        if record.get("digest") != digest:
            return
        if record["attempts"] <= 1:
            self.save({})
        else:  # it was allowed to run now, so it may run again at once
            self.save(
                dict(record, attempts=record["attempts"] - 1, next_attempt=0, exhausted=False)
            )

    def succeeded(self) -> None:
        """Forget the attempts: the hook succeeded, or an operator forced a new start.

        Raise CacheError if the record cannot be removed.
        """
        self.save({})


_FIELDS: dict[str, Any] = {
    "digest": str,
    "config": str,
    "attempts": int,
    "next_attempt": (int, float),
}


def _well_formed(record: dict[str, Any]) -> bool:
    for name, types in _FIELDS.items():
        value = record.get(name)
        if not isinstance(value, types) or isinstance(value, bool):
            return False
    # JSON allows Infinity: such a next_attempt would block the hook for good.
    finite = math.isfinite(record["next_attempt"])
    return finite and record["attempts"] >= 0 and isinstance(record.get("exhausted", False), bool)


def _jitter() -> float:
    """Return a uniform factor in [0.5, 1]: from the kernel's random bytes, since ``random``
    (with ``hashlib``'s SHA-512 for its seed) would cost a changed pass about 0.7 ms."""
    return 0.5 + int.from_bytes(os.urandom(4), "big") / (2 * 0xFFFFFFFF)
