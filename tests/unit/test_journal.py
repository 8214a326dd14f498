"""Logging for systemd: native journal entries with fields, or <N>-prefixed stderr lines."""

from __future__ import annotations

import inspect
import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from occ import redact
from occ.config import loader
from occ.log import journal, lazy, logfields, logsetup, plain
from tests import support

REPO = Path(__file__).resolve().parent.parent.parent


def record_through(handler: logging.Handler, level: int, message: str, **extra) -> None:
    logger = logging.getLogger("occ.test_journal")
    logger.propagate = False
    logger.handlers = [handler]
    logger.setLevel(logging.DEBUG)
    try:
        logger.log(level, message, extra=extra or None)
    finally:
        logger.handlers = []


@pytest.fixture
def sent(monkeypatch):
    """Entries as python-systemd's own send() builds them, captured at its socket call."""
    try:
        from systemd import journal as systemd_journal
    except ImportError:
        packages = support.install_command("libsystemd-dev", "pkg-config", "gcc", "python3-dev")
        support.skip_or_fail(
            f"systemd-python (the journal extra) is not installed: {packages}, then "
            "tools/bootstrap, which adds the extra once libsystemd's headers are there",
            label="JOURNALD TESTS",
        )
    lines: list[list[str]] = []
    monkeypatch.setattr(systemd_journal, "sendv", lambda *args: lines.append(list(args)))
    return lines


def as_fields(entry: list[str]) -> dict[str, str]:
    return dict(line.split("=", 1) for line in entry)


def test_native_entry_carries_identifier_priority_and_occ_fields(sent):
    extra = logfields.fields(
        collector="ec2", http_status=503, message_id=logfields.MESSAGE_SOURCE_UNAVAILABLE
    )
    record_through(journal.handler(), logging.WARNING, "ec2: unavailable (HTTP 503)", **extra)
    fields = as_fields(sent[0])
    assert fields["MESSAGE"] == "ec2: unavailable (HTTP 503)"
    assert fields["SYSLOG_IDENTIFIER"] == "os-collect-config"
    assert fields["PRIORITY"] == "4"
    assert fields["OCC_COLLECTOR"] == "ec2"
    assert fields["OCC_HTTP_STATUS"] == "503"
    assert fields["MESSAGE_ID"] == logfields.MESSAGE_SOURCE_UNAVAILABLE
    assert fields["LOGGER"] == "occ.test_journal"
    assert fields["CODE_FILE"] == __file__
    source, first = inspect.getsourcelines(record_through)
    call = first + next(i for i, line in enumerate(source) if "logger.log(" in line)
    assert int(fields["CODE_LINE"]) == call
    assert fields["CODE_FUNC"] == "record_through"


def test_notice_summary_and_hook_fields(sent):
    changed = logfields.fields(
        changed=True, keys=["ec2", "local"], message_id=logfields.MESSAGE_CHANGED
    )
    record_through(journal.handler(), lazy.NOTICE, "changed: ec2, local", **changed)
    hook = logfields.fields(hook_exit=7, message_id=logfields.MESSAGE_HOOK_FAILED)
    record_through(journal.handler(), logging.ERROR, "hook failed with status 7", **hook)
    summary, failure = (as_fields(e) for e in sent)
    assert (summary["PRIORITY"], summary["OCC_CHANGED"], summary["OCC_KEYS"]) == (
        "5",
        "1",
        "ec2,local",
    )
    assert (failure["PRIORITY"], failure["OCC_HOOK_EXIT"]) == ("3", "7")
    assert failure["MESSAGE_ID"] == logfields.MESSAGE_HOOK_FAILED


def test_records_without_fields_still_carry_the_identifier(sent):
    record_through(journal.handler(), logging.INFO, "no change")
    fields = as_fields(sent[0])
    assert (fields["SYSLOG_IDENTIFIER"], fields["PRIORITY"]) == ("os-collect-config", "6")
    assert not [name for name in fields if name.startswith("OCC_")]


def test_tracebacks_stay_in_the_message(sent):
    handler = journal.handler()
    logger = logging.getLogger("occ.test_journal.exc")
    logger.propagate, logger.handlers = False, [handler]
    try:
        raise ValueError("boom")
    except ValueError:
        logger.exception("pass crashed")
    finally:
        logger.handlers = []
    message = as_fields(sent[0])["MESSAGE"]
    assert message.startswith("pass crashed\nTraceback")
    assert "ValueError: boom" in message


def test_secrets_are_masked_in_fields_too(sent):
    redact.register("s3cr3t-token-value")
    extra = {logfields.RECORD_ATTRIBUTE: {"OCC_KEYS": "a,s3cr3t-token-value"}}
    record_through(journal.handler(), logging.WARNING, "x", **extra)
    assert "s3cr3t-token-value" not in "\n".join(sent[0])


def test_invalid_field_names_are_dropped_not_fatal(sent):
    extra = {logfields.RECORD_ATTRIBUTE: {"_PID": "1", "bad name": "x", "OCC_COLLECTOR": "ec2"}}
    record_through(journal.handler(), logging.WARNING, "x", **extra)
    fields = as_fields(sent[0])
    assert fields["OCC_COLLECTOR"] == "ec2"
    assert "_PID" not in fields and "bad name" not in fields


def test_a_record_journald_refuses_goes_to_stderr_with_its_priority(capsys):
    def refuse(*args, **kwargs):
        raise OSError(111, "Connection refused")

    handler = journal.JournalHandler(refuse)
    record_through(handler, logging.WARNING, "ec2: unavailable\nsecond line")
    assert capsys.readouterr().err == "<4>ec2: unavailable\n<4>second line\n"


def test_log_setup_sends_the_bare_message_to_the_journal(sent, tmp_path):
    """The journal stamps time and priority itself: MESSAGE is the text alone."""
    cmdline = loader.CommandLine(
        values={("DEFAULT", "use_journal"): True}, config_files=(), config_dirs=()
    )
    settings = loader.load(cmdline, {"HOME": str(tmp_path)})
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    try:
        logsetup.configure(settings.general)
        logging.getLogger("occ.run.sources").log(lazy.NOTICE, "changed: ec2")
    finally:
        root.handlers, _ = saved
        root.setLevel(saved[1])
    fields = as_fields(sent[-1])
    assert fields["MESSAGE"] == "changed: ec2"
    assert fields["LOGGER"] == "occ.run.sources"


FALLBACK = textwrap.dedent(
    """
    import logging, sys
    sys.modules["systemd"] = None  # as if systemd-python were not installed
    from occ.log import journal
    from occ.log import lazy
    log = logging.getLogger("occ")
    log.addHandler(journal.handler())
    log.setLevel(logging.DEBUG)
    log.warning("ec2: unavailable\\nnext line")
    log.log(lazy.NOTICE, "changed: ec2")
    log.error("hook failed")
    log.debug("detail")
    """
)


def test_without_systemd_python_lines_get_priority_prefixes():
    result = subprocess.run(
        [sys.executable, "-c", FALLBACK],
        env={"PYTHONPATH": str(REPO), "PATH": os.environ.get("PATH", "")},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [
        "<4>ec2: unavailable",
        "<4>next line",
        "<5>changed: ec2",
        "<3>hook failed",
        "<7>detail",
    ]


DETECT = "from occ.log import plain; print(plain.under_journald())"


@pytest.mark.parametrize("matching", [True, False])
def test_under_journald_only_when_stderr_is_the_named_stream(tmp_path, matching):
    stream = tmp_path / "stderr"
    with open(stream, "w") as err:
        stat = os.fstat(err.fileno())
        value = f"{stat.st_dev}:{stat.st_ino}" if matching else f"{stat.st_dev}:{stat.st_ino + 1}"
        result = subprocess.run(
            [sys.executable, "-c", DETECT],
            env={"PYTHONPATH": str(REPO), "JOURNAL_STREAM": value},
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            timeout=60,
        )
    assert result.stdout.strip() == str(matching)


def test_not_under_journald_without_journal_stream(monkeypatch):
    monkeypatch.delenv("JOURNAL_STREAM", raising=False)
    assert plain.under_journald() is False


@pytest.mark.parametrize(
    ("level", "expected"),
    [
        (logging.CRITICAL, 3),
        (logging.ERROR, 3),
        (logging.WARNING, 4),
        (lazy.NOTICE, 5),
        (logging.INFO, 6),
        (logging.DEBUG, 7),
    ],
)
def test_priority(level, expected):
    assert journal.priority(level) == expected
