"""Structured log fields and fixed journal MESSAGE_IDs.

Log calls that tell part of a pass's story attach fields with ``extra=fields(...)``. The
journald handler sends them as ``OCC_*`` journal fields (queryable with
``journalctl -u os-collect-config OCC_COLLECTOR=ec2``) and the text formatters ignore them.
The MESSAGE_IDs are part of the interface: operators filter on them, so they never change.
"""

from __future__ import annotations

from collections.abc import Iterable

TYPE_CHECKING = False
if TYPE_CHECKING:
    import logging
    from typing import Any

MESSAGE_CHANGED = "79648b5ffa404e2dac0add26743bbf32"
MESSAGE_SOURCE_UNAVAILABLE = "d54975c99df24366a11a96710fda491b"
MESSAGE_HOOK_SUCCEEDED = "e0a8294d9fb34aae9cea26fd496f64dc"
MESSAGE_HOOK_FAILED = "293f9357d8c04ceab0373511526ac572"
MESSAGE_HOOK_RETRIES_EXHAUSTED = "302dbac114f141ecb75c1059f854cfaa"
MESSAGE_IMDSV2_FALLBACK = "97d9572b49104d7d80a7b8ff4404e571"
MESSAGE_UNCHANGED = "3aca67411d0842c79f8f27078090112d"

# The attribute of a LogRecord that carries the fields.
RECORD_ATTRIBUTE = "occ_fields"


def fields(
    *,
    message_id: str | None = None,
    collector: str | None = None,
    changed: bool | None = None,
    keys: Iterable[str] | None = None,
    http_status: int | None = None,
    hook_exit: int | None = None,
    attempt: int | None = None,
) -> dict[str, Any]:
    """Return the ``extra=`` mapping for a log call; unset fields are left out."""
    values: dict[str, Any] = {}
    if message_id is not None:
        values["MESSAGE_ID"] = message_id
    if collector is not None:
        values["OCC_COLLECTOR"] = collector
    if changed is not None:
        values["OCC_CHANGED"] = "1" if changed else "0"
    if keys is not None:
        values["OCC_KEYS"] = ",".join(keys)
    if http_status is not None:
        values["OCC_HTTP_STATUS"] = str(http_status)
    if hook_exit is not None:
        values["OCC_HOOK_EXIT"] = str(hook_exit)
    if attempt is not None:
        values["OCC_ATTEMPT"] = str(attempt)
    return {RECORD_ATTRIBUTE: values}


def of(record: logging.LogRecord) -> dict[str, Any]:
    """Return the fields attached to ``record`` (empty if none)."""
    return getattr(record, RECORD_ATTRIBUTE, None) or {}
