"""Log output for systemd: native journald records with fields, or prefixed stderr lines.

Under systemd (``$JOURNAL_STREAM`` names our stderr) records go to journald through
systemd-python when it is installed, carrying the ``OCC_*`` fields and MESSAGE_IDs from
``occ.logfields``. Without systemd-python, lines go to stderr with ``<N>`` syslog priority
prefixes, which journald turns into PRIORITY= as well.
"""

from __future__ import annotations

import logging
import os
import sys

from occ import logfields

IDENTIFIER = "os-collect-config"

# syslog priorities by logging level (NOTICE is occ's level 25)
_PRIORITIES = ((logging.ERROR, 3), (logging.WARNING, 4), (logfields.NOTICE, 5), (logging.INFO, 6))


def priority(levelno: int) -> int:
    """Return the syslog priority for a logging level."""
    for threshold, value in _PRIORITIES:
        if levelno >= threshold:
            return value
    return 7


def under_journald() -> bool:
    """Return True when stderr is connected to journald ($JOURNAL_STREAM names it)."""
    stream = os.environ.get("JOURNAL_STREAM", "")
    device, _, inode = stream.partition(":")
    try:
        stat = os.fstat(sys.stderr.fileno())
    except (OSError, ValueError, AttributeError):
        return False
    return f"{stat.st_dev}:{stat.st_ino}" == f"{device}:{inode}"


class PriorityPrefixFormatter(logging.Formatter):
    """Formats records as ``<N>message`` for stderr read by journald."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        return f"<{priority(record.levelno)}>" + text.replace(
            "\n", "\n" + f"<{priority(record.levelno)}>"
        )


def handler() -> logging.Handler:
    """Return a handler writing to journald natively if possible, else prefixed stderr."""
    try:
        from systemd import journal  # optional dependency (extra "journal")
    except ImportError:
        stream = logging.StreamHandler(sys.stderr)
        stream.setFormatter(PriorityPrefixFormatter("%(message)s"))
        return stream
    return _JournalHandler(journal)


class _JournalHandler(logging.Handler):
    def __init__(self, journal: object) -> None:
        super().__init__()
        self._send = journal.send

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = self.format(record)
            extra = {k: str(v) for k, v in logfields.of(record).items()}
            self._send(
                message,
                PRIORITY=str(priority(record.levelno)),
                SYSLOG_IDENTIFIER=IDENTIFIER,
                CODE_FILE=record.pathname,
                CODE_LINE=str(record.lineno),
                CODE_FUNC=record.funcName,
                **extra,
            )
        except Exception:  # noqa: BLE001 - logging must never take the pass down
            self.handleError(record)
