"""``os-collect-config --status [--json]``: what the last passes found, for an admin or a monitor.

Read-only and lock-free: it reads the status record that each pass rewrites
(``occ.run.report``), so it answers at once even while a pass runs, and as any user (the
record is world-readable and holds no secret). Its exit status is for monitoring
(doc/status.rst): 0 healthy, 1 degraded, 3 failing, 4 unknown; none of them is the usage-error
status 2.
"""

from __future__ import annotations

import json
import time

from occ.config.model import Config
from occ.run import report

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

HEALTHY, DEGRADED, FAILING, UNKNOWN = "healthy", "degraded", "failing", "unknown"
EXIT_STATUS = {HEALTHY: 0, DEGRADED: 1, FAILING: 3, UNKNOWN: 4}
# A pass is overdue after this many polling intervals (and never sooner than STALE_MINIMUM).
STALE_INTERVALS = 3
STALE_MINIMUM = 300.0


def show(config: Config, *, as_json: bool) -> int:
    """Print the status of this instance; return its monitoring exit status."""
    document = report.read(config.status_file)
    now = time.time()
    health, reasons = assess(document, now)
    if as_json:
        print(json.dumps(dict(document, health=health, reasons=reasons, checked_at=now), indent=1))
    else:
        print(render(document, health, reasons, config.status_file, now))
    return EXIT_STATUS[health]


def assess(document: dict[str, Any], now: float) -> tuple[str, list[str]]:
    """Return (health, reasons) for a status record."""
    if not document:
        return UNKNOWN, ["no pass has been recorded since boot"]
    failing, degraded = [], []
    last = document.get("last_pass", {})
    if last.get("result") == "error":
        failing.append(f"the last pass failed: {last.get('error')}")
    overdue = max(STALE_INTERVALS * float(document.get("polling_interval") or 0), STALE_MINIMUM)
    if now - float(last.get("finished") or 0) > overdue:
        failing.append(f"no pass for {_ago(now, last.get('finished'))}")
    hook = document.get("hook", {})
    if hook.get("exhausted"):
        failing.append(f"the hook failed {hook.get('attempts')} times; retries stopped")
    elif hook.get("attempts"):
        degraded.append(f"the hook failed {hook.get('attempts')} time(s); retrying")
    for name, source in sorted(document.get("sources", {}).items()):
        if source.get("status") == "unavailable":
            degraded.append(f"{name} unavailable: {source.get('last_error')}")
    if failing:
        return FAILING, failing + degraded
    return (DEGRADED, degraded) if degraded else (HEALTHY, [])


def render(document: dict[str, Any], health: str, reasons: list[str], path: str, now: float) -> str:
    """Return the human-readable status."""
    lines = [f"health: {health}"] + [f"  - {reason}" for reason in reasons]
    if not document:
        lines.append(f"(no status record in {path}: no pass since boot, or not written here)")
        return "\n".join(lines)
    last = document.get("last_pass", {})
    lines.append(
        f"last pass: {_when(last.get('finished'))} ({_ago(now, last.get('finished'))} ago), "
        f"{last.get('mode')}, {last.get('result')}, {last.get('duration')}s"
    )
    lines.append("sources:")
    for name, source in sorted(document.get("sources", {}).items()):
        lines.append("  " + _source_line(name, source, now))
    pending = document.get("pending") or []
    lines.append(f"pending for the hook: {', '.join(pending) if pending else 'nothing'}")
    lines.append(_hook_line(document.get("hook", {}), document.get("retry_command")))
    keystone = document.get("keystone", {})
    if keystone.get("token_held"):
        lines.append(f"keystone token: held until {_when(keystone.get('expires_at'))}")
    return "\n".join(lines)


def _source_line(name: str, source: dict[str, Any], now: float) -> str:
    status = source.get("status")
    line = f"{name}: {status}"
    if source.get("last_success"):
        line += f"; last data {_ago(now, source['last_success'])} ago"
    if status == "unavailable":
        line += (
            f"; failing {source.get('consecutive_failures')} pass(es): {source.get('last_error')}"
        )
    if source.get("cached"):
        line += "; cached"
    return line


def _hook_line(hook: dict[str, Any], retry_command: str | None) -> str:
    attempts = hook.get("attempts", 0)
    if not attempts:
        return "hook: no failed attempts"
    if hook.get("exhausted"):
        return (
            f"hook: failed {attempts} times; automatic retries stopped; retry now: {retry_command}"
        )
    return (
        f"hook: failed {attempts} time(s); next retry at {_when(hook.get('next_retry'))}; "
        f"retry now: {retry_command}"
    )


def _when(timestamp: Any) -> str:
    if not isinstance(timestamp, (int, float)):
        return "never"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(timestamp))


def _ago(now: float, timestamp: Any) -> str:
    if not isinstance(timestamp, (int, float)):
        return "ever"
    seconds = max(now - timestamp, 0)
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.1f}h"
