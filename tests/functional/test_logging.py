"""The logging options, which the original accepted and ignored, work here."""

from __future__ import annotations

import json
import re


def test_default_level_keeps_idle_passes_quiet_and_debug_shows_the_steps(occ, instance):
    instance.set_local("a.json", {"a": 1})
    occ(*instance.args("--one-time"), check=0)
    quiet = occ(*instance.args("--one-time"), check=0).stderr
    assert "WARNING" not in quiet and "DEBUG" not in quiet
    debug = occ(*instance.args("--one-time", "--debug"), check=0).stderr
    assert "configuration read from" in debug
    assert "local: 1 output(s)" in debug
    assert "heat_local: source unavailable" in debug or "heat_local" in debug


def test_log_file_is_private_and_receives_records(occ, instance):
    instance.set_local("a.json", {"a": 1})
    log = instance.root / "logs" / "occ.log"
    log.parent.mkdir()
    occ(
        *instance.args("--one-time", "--log-dir", str(log.parent), "--log-file", "occ.log"), check=0
    )
    assert instance.mode(log) == 0o600
    assert "changed: a.json" in log.read_text()


def test_json_log_records_carry_the_structured_fields(occ, instance):
    instance.set_local("a.json", {"a": 1})
    stderr = occ(*instance.args("--one-time", "--use-json"), check=0).stderr
    records = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    changed = [r for r in records if r["message"].startswith("changed:")]
    assert changed and changed[0]["OCC_CHANGED"] == "1"
    assert changed[0]["OCC_KEYS"] == "a.json"
    assert changed[0]["MESSAGE_ID"] == "79648b5ffa404e2dac0add26743bbf32"


def test_log_config_append_takes_over(occ, instance, write):
    target = instance.root / "from-logging-config.log"
    logging_config = write(
        "logging.ini",
        f"""
        [loggers]
        keys = root
        [handlers]
        keys = file
        [formatters]
        keys = plain
        [logger_root]
        level = INFO
        handlers = file
        [handler_file]
        class = FileHandler
        args = ({str(target)!r},)
        formatter = plain
        [formatter_plain]
        format = %(levelname)s %(message)s
        """,
    )
    instance.set_local("a.json", {"a": 1})
    occ(*instance.args("--one-time", "--log-config-append", str(logging_config)), check=0)
    assert "NOTICE changed: a.json" in target.read_text()


def test_unavailable_source_warns_once_then_stays_quiet(occ, instance):
    instance.set_local("a.json", {"a": 1})
    instance.cfn_init_data.write_text("[not json")
    first = occ(*instance.args("--one-time"), check=0).stderr
    second = occ(*instance.args("--one-time"), check=0).stderr
    assert "WARNING" in first and "heat_local: source unavailable" in first
    assert "WARNING" not in second and "(still)" in second
    instance.set_heat_local({"back": True})
    third = occ(*instance.args("--one-time"), check=0).stderr
    assert "heat_local: source available again" in third


def test_an_unusable_log_file_is_a_configuration_error_not_a_crash(occ, instance):
    result = occ(*instance.args("--one-time", "--log-file", "/nonexistent/dir/occ.log"))
    assert result.returncode == 78
    assert "cannot set up logging" in result.stderr and "Traceback" not in result.stderr
    assert occ("collect", *instance.args("--log-file", "/nonexistent/x.log")).returncode == 255


LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d (DEBUG|INFO|NOTICE|WARNING|ERROR) (.*)$")


def test_early_errors_and_pass_lines_share_one_format_without_logger_names(occ, instance):
    broken = occ("--one-time", "--config-file", str(instance.root / "missing.conf"))
    assert broken.returncode == 78
    first = broken.stderr.splitlines()[0]
    assert LINE.match(first), first
    assert LINE.match(first).group(2) == "invalid configuration:"
    instance.set_local("a.json", {"a": 1})
    lines = occ(*instance.args("--one-time", "--debug"), check=0).stderr.splitlines()
    logged = [line for line in lines if LINE.match(line)]
    assert len(logged) >= 3, lines
    # Internal module names (occ.run.runner, occ.core.hook ...) are not part of the lines.
    assert not [line for line in logged if re.search(r"\bocc\.[a-z_]+", line)], logged
