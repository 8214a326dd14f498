"""One log line without the logging machinery, for a pass that has nothing else to say.

An idle pass (``occ.run.idle``) logs one INFO line and exits; importing ``logging`` for it would
cost more than the rest of that pass (doc/performance.rst, "Import time"). ``is_default`` tells
whether the logging options leave the default set-up (text on stderr, or journald through
stderr under systemd), and ``info`` writes a line as ``occ.log.logsetup`` would there: the same
text and priority, without the structured fields of a native journald record.
"""

from __future__ import annotations

import os
import sys
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from occ.config.model import Section

_FLAGS = ("debug", "use_journal", "use_syslog", "use_json")
_PATHS = ("log_file", "log_config_append")


def under_journald() -> bool:
    """Return True when stderr is connected to journald ($JOURNAL_STREAM names it)."""
    stream = os.environ.get("JOURNAL_STREAM", "")
    device, _, inode = stream.partition(":")
    try:
        st = os.fstat(sys.stderr.fileno())
    except (OSError, ValueError, AttributeError):
        return False
    return f"{st.st_dev}:{st.st_ino}" == f"{device}:{inode}"


def is_default(general: Section) -> bool:
    """Return True if the ``[DEFAULT]`` logging options ask for nothing but INFO lines on
    stderr (or journald's stream): no debug, journal, syslog, JSON, file or logging config."""
    return not any(general.flag(name) for name in _FLAGS) and not any(
        general.text(name) for name in _PATHS
    )


def can_fail(general: Section) -> bool:
    """Return True if the ``[DEFAULT]`` logging options name something that may not be usable:
    a log file, syslog's socket or a logging configuration file."""
    return any(general.text(name) for name in _PATHS) or bool(general.flag("use_syslog"))


def info(message: str, date_format: str) -> None:
    """Write ``message`` as an INFO line (``message`` must hold no secret: it is not masked).
    A closed or broken stderr loses the line, never the pass."""
    if under_journald():
        line = f"<6>{message}\n"  # journald reads the prefix as PRIORITY=6 (info)
    else:
        line = f"{time.strftime(date_format)} INFO {message}\n"  # logsetup.TEXT_FORMAT
    try:
        sys.stderr.write(line)
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
