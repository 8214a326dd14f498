"""Logging for modules an idle pass loads: ``logging`` is imported only when a record is made.

``logging`` costs a new process more than the interpreter's own start-up (doc/performance.rst,
"Import time"), and the modules an idle pass runs through (configuration, state, status record,
the dispatch) log only when something goes wrong or the pass is a full one.
"""

from __future__ import annotations

DEBUG, INFO, WARNING, ERROR = 10, 20, 30, 40  # logging's own numbers


def log(name: str, level: int, message: str, *args: object) -> None:
    """Log ``message % args`` at ``level`` through the logger ``name``."""
    import logging

    logging.getLogger(name).log(level, message, *args)
