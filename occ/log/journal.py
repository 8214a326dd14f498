"""Log output for systemd: native journald records with fields, or prefixed stderr lines.

Under systemd (``$JOURNAL_STREAM`` names our stderr) records go to journald through
systemd-python when it is installed. Every record carries ``SYSLOG_IDENTIFIER=os-collect-config``,
its ``PRIORITY``, the Python logger and code location, and the ``OCC_*`` fields and MESSAGE_IDs
that the log call attached with ``occ.log.logfields`` (queryable with
``journalctl -u os-collect-config OCC_COLLECTOR=ec2``). Without systemd-python, or when a record
cannot be sent, lines go to stderr with ``<N>`` syslog priority prefixes, which journald turns
into PRIORITY= as well.
"""

from __future__ import annotations

import importlib
import logging
import re
import sys

from occ import redact
from occ.log import lazy, logfields

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable

IDENTIFIER = "os-collect-config"

# syslog priorities by logging level (NOTICE is occ's level 25)
_PRIORITIES = ((logging.ERROR, 3), (logging.WARNING, 4), (lazy.NOTICE, 5), (logging.INFO, 6))

# What journald accepts as a field name from a client (journal-fields(7)): upper-case letters,
# digits and underscores, not starting with an underscore (those are trusted fields).
_FIELD_NAME = re.compile(r"[A-Z0-9][A-Z0-9_]{0,63}\Z")


def priority(levelno: int) -> int:
    """Return the syslog priority for a logging level."""
    for threshold, value in _PRIORITIES:
        if levelno >= threshold:
            return value
    return 7


class PriorityPrefixFormatter(logging.Formatter):
    """Formats records as ``<N>message``, every line prefixed (journald reads them one by one)."""

    def format(self, record: logging.LogRecord) -> str:
        prefix = f"<{priority(record.levelno)}>"
        return prefix + super().format(record).replace("\n", "\n" + prefix)


def handler() -> logging.Handler:
    """Return a handler writing to journald natively if possible, else prefixed stderr."""
    try:
        # Optional dependency (extra "journal"). Imported by name: the repository's own
        # systemd/ directory (unit files) must not be mistaken for it by type checkers.
        systemd_journal = importlib.import_module("systemd.journal")
    except ImportError:
        return stderr_handler()
    native = JournalHandler(systemd_journal.send)
    native.setFormatter(logging.Formatter("%(message)s"))
    return native


def stderr_handler() -> logging.Handler:
    """Return the ``<N>``-prefixed stderr handler."""
    stream = logging.StreamHandler(sys.stderr)
    stream.setFormatter(PriorityPrefixFormatter("%(message)s"))
    return stream


def journal_fields(record: logging.LogRecord, message: str) -> dict[str, Any]:
    """Return the journal fields for ``record`` (MESSAGE is ``message``, already formatted)."""
    fields: dict[str, Any] = {
        "MESSAGE": message,
        "PRIORITY": str(priority(record.levelno)),
        "SYSLOG_IDENTIFIER": IDENTIFIER,
        "LOGGER": record.name,
        "CODE_FILE": record.pathname,
        "CODE_LINE": int(record.lineno),
        "CODE_FUNC": record.funcName,
    }
    for name, value in logfields.of(record).items():
        if _FIELD_NAME.match(name) and name not in fields:
            # Field values are text an operator reads, so they are masked like the message.
            fields[name] = redact.redact(str(value))
    return fields


class JournalHandler(logging.Handler):
    """Sends each record as one native journal entry through ``send`` (systemd.journal.send).

    A record that cannot be sent (journald gone, socket full) is written to stderr with its
    priority prefix instead, so it is not lost and never stops the pass.
    """

    def __init__(self, send: Callable[..., Any]) -> None:
        super().__init__()
        self._send = send
        self._fallback = PriorityPrefixFormatter("%(message)s")

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = self.format(record)
            fields = journal_fields(record, message)
            self._send(fields.pop("MESSAGE"), **fields)
        except Exception:  # noqa: BLE001 - logging must never take the pass down
            self._write_fallback(record)

    def _write_fallback(self, record: logging.LogRecord) -> None:
        try:
            line = redact.redact(self._fallback.format(record))
            sys.stderr.write(line + "\n")
            sys.stderr.flush()
        except Exception:  # noqa: BLE001 - nowhere left to report to
            self.handleError(record)
