"""The optional Prometheus metrics file (``metrics_file``), for node_exporter's textfile
collector: rendered from the status record after each pass.

Names start with ``os_collect_config_``. Counters count since boot (the status record lives on
tmpfs); Prometheus handles the reset after a reboot. An example alert is in doc/status.rst.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


PREFIX = "os_collect_config_"


def render(document: dict[str, Any]) -> str:
    """Return the metrics text (exposition format 0.0.4) for a status record."""
    lines: list[str] = []
    last = document.get("last_pass", {})
    _metric(lines, "last_pass_timestamp_seconds", "gauge", "End of the last pass (Unix time).",
            [("", last.get("finished"))])  # fmt: skip
    _metric(lines, "last_pass_duration_seconds", "gauge", "Duration of the last pass.",
            [("", last.get("duration"))])  # fmt: skip
    _metric(lines, "last_pass_success", "gauge", "1 if the last pass ended without error.",
            [("", 0 if last.get("result") in ("error", None) else 1)])  # fmt: skip
    sources = sorted(document.get("sources", {}).items())
    _metric(lines, "source_up", "gauge", "1 if the source delivered data in the last pass.",
            [(_label(n), 1 if s.get("status") == "data" else 0) for n, s in sources
             if s.get("status") != "not configured"])  # fmt: skip
    _metric(lines, "source_last_success_timestamp_seconds", "gauge",
            "When the source last delivered data (Unix time).",
            [(_label(n), s.get("last_success")) for n, s in sources
             if s.get("last_success") is not None])  # fmt: skip
    counters = document.get("counters", {})
    for name, help_text in (
        ("passes", "Passes recorded since boot."),
        ("changes_detected", "Passes that found new data."),
        ("hook_handovers", "Times the data was handed to the hook."),
        ("hook_failures", "Hook runs that failed (known to this process)."),
        ("hook_successes", "Hook runs whose data was committed."),
    ):
        _metric(lines, f"{name}_total", "counter", help_text, [("", counters.get(name, 0))])
    _metric(lines, "pending_keys", "gauge", "Keys whose data the hook has not applied yet.",
            [("", len(document.get("pending", [])))])  # fmt: skip
    hook = document.get("hook", {})
    _metric(lines, "hook_attempts", "gauge", "Failed hook attempts on the current data.",
            [("", hook.get("attempts", 0))])  # fmt: skip
    _metric(lines, "hook_retries_exhausted", "gauge", "1 if automatic hook retries stopped.",
            [("", 1 if hook.get("exhausted") else 0)])  # fmt: skip
    return "\n".join(lines) + "\n"


def _metric(
    lines: list[str], name: str, kind: str, help_text: str, samples: list[tuple[str, Any]]
) -> None:
    kept = [(labels, value) for labels, value in samples if isinstance(value, (int, float))]
    if not kept:
        return
    lines += [f"# HELP {PREFIX}{name} {help_text}", f"# TYPE {PREFIX}{name} {kind}"]
    lines += [f"{PREFIX}{name}{labels} {float(value)!r}" for labels, value in kept]


def _label(source: str) -> str:
    escaped = source.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'{{source="{escaped}"}}'
