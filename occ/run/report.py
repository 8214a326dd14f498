"""What each pass leaves behind for ``os-collect-config --status`` and for monitoring.

After every store-mode pass (and after ``commit``) the status record is rewritten: the last
pass (time, result, duration), each source's health, what is pending for the hook, the hook's
attempts and next retry, and whether a Keystone token is held (never the token). It lives on
tmpfs (``status_file``, under ``/run``) and is rewritten without fsync: it changes on every
pass, and durable state must not (an unchanged pass writes nothing durable). It holds no
secret (reasons pass through ``occ.redact``), so it is world-readable and non-root monitoring
can read it while ``.occ/`` stays private. The document's schema is in doc/status.rst.

Status is advisory: failing to write it is logged and never fails a pass.
"""

from __future__ import annotations

import os
import time

from occ import jsonio, redact
from occ.core import fsutil
from occ.core.state import state_dir
from occ.log import lazy

TYPE_CHECKING = False  # an idle pass records itself here: no typing, json or logging to import
if TYPE_CHECKING:
    from typing import Any

    from occ.config.model import Config


SCHEMA = 1
RETRY_COMMAND = "os-collect-config retry"


def read(path: str) -> dict[str, Any]:
    """Return the status record at ``path``; ``{}`` if there is none or it is unusable."""
    document = read_json(path)
    return document if document.get("schema") == SCHEMA else {}


def record_pass(config: Config, *, mode: str, started: float, summary: dict[str, Any]) -> None:
    """Record a finished pass. ``summary`` has ``result`` ("changed", "unchanged", "busy" or
    "error"), and, when the sources ran, ``outcomes`` [(name, status, reason)], ``pending``
    (keys not yet applied), ``handed_over`` and ``hook_exit`` (None if the hook did not run
    in this process); "error" has ``error``, the one-line reason."""
    previous = read(config.status_file)
    now = time.time()
    try:
        document = build(previous, config, now=now, mode=mode, started=started, summary=summary)
    except (AttributeError, KeyError, TypeError, ValueError):
        # A record that is valid JSON but not of our shape (hand-edited, another version):
        # start the history over rather than fail the pass.
        document = build({}, config, now=now, mode=mode, started=started, summary=summary)
    _write(config, document)


def record_commit(config: Config) -> None:
    """Record that the hook succeeded and its data was committed: nothing is pending."""
    document = read(config.status_file)
    if not document:
        return
    document["pending"] = []
    document["hook"] = hook_state(config)
    counters = document.setdefault("counters", {})
    counters["hook_successes"] = counters.get("hook_successes", 0) + 1
    _write(config, document)


def record_hook_result(config: Config, exit_status: int) -> None:
    """Record how the hook unit's run ended (``run-hook``): a failure counts at once, a
    success stays in progress until ``commit`` has marked the data applied."""
    document = read(config.status_file)
    if not document:
        return
    document["hook"] = dict(hook_state(config, in_progress=exit_status == 0), last_exit=exit_status)
    if exit_status:
        counters = document.setdefault("counters", {})
        counters["hook_failures"] = counters.get("hook_failures", 0) + 1
    _write(config, document)


def build(
    previous: dict[str, Any],
    config: Config,
    *,
    now: float,
    mode: str,
    started: float,
    summary: dict[str, Any],
) -> dict[str, Any]:
    """Return the new status record from the ``previous`` one and this pass's ``summary``."""
    result = summary["result"]
    sources = previous.get("sources", {})
    if "outcomes" in summary:
        sources = {
            name: _source(sources.get(name, {}), config, status, reason, keys, now)
            for name, status, reason, keys in summary["outcomes"]
        }
    pending = summary.get("pending", previous.get("pending", []))
    return {
        "schema": SCHEMA,
        "last_pass": {
            "mode": mode,
            "started": started,
            "finished": now,
            "duration": round(now - started, 3),
            "result": result,
            "error": redact.redact(summary["error"]) if result == "error" else None,
        },
        "sources": sources,
        "pending": pending,
        "hook": hook_state(
            config,
            in_progress=summary.get("hook_exit") is None and bool(summary.get("handed_over")),
        ),
        "keystone": keystone_state(config, now),
        "counters": _counters(previous.get("counters", {}), summary, previous.get("pending")),
        "polling_interval": config.general.number("polling_interval"),
        "retry_command": RETRY_COMMAND,
    }


def _source(
    before: dict[str, Any],
    config: Config,
    status: str,
    reason: str,
    keys: list[str],
    now: float,
) -> dict[str, Any]:
    unavailable = status == "unavailable"
    # The cache keys this source delivered last time it had data: its cached documents.
    keys = keys if status == "data" else before.get("keys", [])
    return {
        "status": status,
        "last_success": now if status == "data" else before.get("last_success"),
        "last_error": redact.redact(reason) if unavailable else before.get("last_error"),
        "last_error_at": now if unavailable else before.get("last_error_at"),
        "consecutive_failures": before.get("consecutive_failures", 0) + 1 if unavailable else 0,
        "keys": keys,
        "cached": bool(keys)
        and all(os.path.exists(os.path.join(config.cachedir, key + ".json")) for key in keys),
    }


def _counters(
    before: dict[str, Any], summary: dict[str, Any], pending_before: Any
) -> dict[str, int]:
    counters = {
        key: int(before.get(key, 0))
        for key in ("passes", "changes_detected", "hook_handovers", "hook_failures")
    }
    counters["hook_successes"] = int(before.get("hook_successes", 0))
    counters["passes"] += 1
    pending = summary.get("pending") or []
    if summary["result"] == "changed" and pending != (pending_before or []):
        counters["changes_detected"] += 1
    if summary.get("handed_over"):
        counters["hook_handovers"] += 1
    exit_status = summary.get("hook_exit")
    if exit_status is not None:
        counters["hook_failures" if exit_status else "hook_successes"] += 1
    return counters


def hook_state(config: Config, *, in_progress: bool = False) -> dict[str, Any]:
    """Return the hook's retry record as status shows it: failed attempts, next retry,
    exhausted, and ``in_progress`` when this pass just handed the data to the hook unit (its
    record already counts that attempt, which has not failed, or not yet)."""
    path = os.path.join(state_dir(config.cachedir), "hook.state")
    record = read_json(path)
    attempts = record.get("attempts")
    attempts = attempts if isinstance(attempts, int) and attempts > 0 else 0
    next_attempt = record.get("next_attempt")
    return {
        "attempts": max(attempts - 1, 0) if in_progress else attempts,
        "next_retry": next_attempt if isinstance(next_attempt, (int, float)) else None,
        "exhausted": record.get("exhausted") is True,
        "in_progress": in_progress,
    }


def keystone_state(config: Config, now: float) -> dict[str, Any]:
    """Return whether a Keystone token is cached and until when (never the token itself)."""
    directories = {state_dir(config.cachedir)}
    cache_dir = config.section("keystone").text("cache_dir")
    if cache_dir:
        directories.add(cache_dir)
    expiries = []
    for directory in directories:
        try:
            names = os.listdir(directory)
        except OSError:
            continue
        for name in names:
            if name.startswith("keystone-") and name.endswith(".state"):
                expires = read_json(os.path.join(directory, name)).get("expires_at")
                if isinstance(expires, (int, float)) and expires > now:
                    expiries.append(float(expires))
    return {"token_held": bool(expiries), "expires_at": max(expiries) if expiries else None}


def read_json(path: str) -> dict[str, Any]:
    """Return the JSON object in ``path``; ``{}`` if absent, unreadable or not an object.
    Read as every file is (``fsutil.read_bytes``): a FIFO, a symlink or a huge file there
    cannot stall or flood the pass."""
    try:
        data = fsutil.read_bytes(path, follow=False, limit=1 << 20)
        value = jsonio.loads(data) if data is not None else None
    except (OSError, ValueError, RecursionError):
        return {}
    return value if isinstance(value, dict) else {}


def _write(config: Config, document: dict[str, Any]) -> None:
    if config.status_file:  # empty: no record (and --status reports "unknown")
        try:
            replace_file(config.status_file, (jsonio.dumps(document) + "\n").encode())
        except OSError as exc:
            lazy.log(
                __name__,
                lazy.INFO,
                "cannot record the pass in %s: %s",
                config.status_file,
                exc.strerror,
            )
    if config.metrics_file:
        from occ.run import metrics  # only passes with metrics_file set use it

        try:
            replace_file(config.metrics_file, metrics.render(document).encode())
        except OSError as exc:
            lazy.log(
                __name__,
                lazy.WARNING,
                "cannot write the metrics file %s: %s",
                config.metrics_file,
                exc.strerror,
            )


def replace_file(path: str, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically, world-readable (0644), creating its
    directory, without fsync: the file is volatile by design and the next pass rewrites it.
    Raise OSError."""
    os.makedirs(os.path.dirname(path) or ".", mode=0o755, exist_ok=True)
    fsutil.atomic_write(path, data, mode=0o644, durable=False)
