"""Applying the logging options (``--debug``, ``--log-file``, ``--use-journal`` ...).

The original registers oslo.log's options and never applies them; here every one works
(doc/compatibility.rst, "Logging"). Every handler's output passes through ``occ.redact``, so a
secret that reaches a log call by accident is still masked, and a broken log stream (EPIPE after a
journald restart) never takes the program down.
"""

from __future__ import annotations

import logging
import os
import sys
import time

from occ import redact
from occ.config import options
from occ.config.model import Section
from occ.config.options import DEFAULT_GROUP
from occ.errors import ConfigError
from occ.log import journal, lazy, logfields, plain

logging.addLevelName(lazy.NOTICE, "NOTICE")

# Logger names (occ.run.runner ...) are the code's layout, not something an operator needs:
# each message names its source itself.
TEXT_FORMAT = "%(asctime)s %(levelname)s %(message)s"


class RedactingFormatter(logging.Formatter):
    """Masks secrets in whatever the wrapped formatter produces, tracebacks included."""

    def __init__(self, inner: logging.Formatter) -> None:
        super().__init__()
        self.inner = inner

    def format(self, record: logging.LogRecord) -> str:
        return redact.redact(self.inner.format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object per record, with the structured fields."""

    def format(self, record: logging.LogRecord) -> str:
        document = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **logfields.of(record),
        }
        if record.exc_info:
            document["exception"] = self.formatException(record.exc_info)
        import json  # only with use_json

        return json.dumps(document)


class _LineCounter(logging.Handler):
    """Counts the records at INFO and above that the other handlers were given."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


_COUNTER = _LineCounter()


def lines_logged() -> int | None:
    """Return how many records at INFO or above were logged since logging was set up here;
    None if it was not (a pass run from a test). The idle check (occ.run.idle) uses it: a pass
    that had more to say than "no change" must run in full next time, to say it again."""
    return _COUNTER.count if _COUNTER in logging.getLogger().handlers else None


def _console_handler(use_journal: bool) -> logging.Handler:
    """Return the handler for the program's own output: journald under systemd (or when
    asked), else plain text on stderr."""
    if use_journal or plain.under_journald():
        return journal.handler()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    return handler


def _file_handler(general: Section) -> logging.Handler:
    path = general.text("log_file") or ""
    directory = general.text("log_dir")
    if directory and not os.path.isabs(path):
        path = os.path.join(directory, path)
    # Created 0600: log lines name hosts, stacks and resources of the deployment.
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600))
    return logging.FileHandler(path, encoding="utf-8")


def _syslog_handler(general: Section) -> logging.Handler:
    from logging.handlers import SysLogHandler

    name = (general.text("syslog_log_facility") or "LOG_USER").upper().removeprefix("LOG_")
    facility = SysLogHandler.facility_names.get(name.lower(), SysLogHandler.LOG_USER)
    handler = SysLogHandler(address="/dev/log", facility=facility)
    handler.ident = journal.IDENTIFIER + ": "
    return handler


def configure(general: Section) -> None:
    """Configure the root logger from the [DEFAULT] logging options.

    Raise ConfigError if a log file, the syslog socket or a logging configuration file cannot
    be used.
    """
    logging.raiseExceptions = False  # a failing log stream must not stop a pass
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    try:
        _configure(root, general)
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        configure_early(bool(general.flag("debug")))
        raise ConfigError([f"[DEFAULT] logging options: cannot set up logging: {exc}"]) from exc


def _configure(root: logging.Logger, general: Section) -> None:
    config_file = general.text("log_config_append")
    if config_file:
        from logging import config as logging_config

        logging_config.fileConfig(config_file, disable_existing_loggers=False)
        return
    use_journal = bool(general.flag("use_journal")) or plain.under_journald()
    if general.flag("use_syslog") and not use_journal:
        handlers = [_syslog_handler(general)]
    else:
        handlers = [_console_handler(use_journal)]
    # The journal handler formats its own records (fields, no timestamps).
    native = handlers[0] if use_journal else None
    if general.text("log_file"):
        handlers.append(_file_handler(general))
    date_format = general.text("log_date_format")
    for handler in handlers:
        inner = handler.formatter or logging.Formatter(TEXT_FORMAT)
        if general.flag("use_json") and handler is not native:
            inner = JsonFormatter()
        inner.datefmt = date_format
        handler.setFormatter(RedactingFormatter(inner))
        root.addHandler(handler)
    root.addHandler(_COUNTER)
    root.setLevel(logging.DEBUG if general.flag("debug") else logging.INFO)


def _default_date_format() -> str:
    opt = options.find(DEFAULT_GROUP, "log_date_format")
    return str(opt.default) if opt is not None else "%Y-%m-%d %H:%M:%S"


def configure_early(debug: bool) -> None:
    """Log to stderr before the configuration is loaded (config problems are reported here)."""
    logging.raiseExceptions = False
    root = logging.getLogger()
    if not root.handlers:
        handler = _console_handler(use_journal=False)
        inner = handler.formatter or logging.Formatter(TEXT_FORMAT)
        # The timestamps of errors found before the configuration is read (configuration
        # errors, mostly) look like every later line's: the log_date_format default.
        inner.datefmt = _default_date_format()
        handler.setFormatter(RedactingFormatter(inner))
        root.addHandler(handler)
    root.setLevel(logging.DEBUG if debug else logging.INFO)
