"""The pass watchdog: a collecting phase stuck anywhere (not only in HTTP) ends the process with
one line and status 255, and a disarmed watchdog never fires (the hook runs after disarming)."""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
import time

from occ.run import watchdog
from tests.conftest import REPO


def test_a_stuck_body_ends_with_one_error_line_and_status_255(caplog):
    ended: list[int] = []
    fired = threading.Event()

    def end(status: int) -> None:
        ended.append(status)
        fired.set()

    with caplog.at_level(logging.ERROR, logger="occ.run.watchdog"), watchdog.armed(0.2, end=end):
        assert fired.wait(5)
    assert ended == [255]
    assert len(caplog.records) == 1 and "did not finish within" in caplog.text


def test_a_disarmed_watchdog_never_fires():
    ended: list[int] = []
    with watchdog.armed(0.2, end=ended.append):
        pass
    time.sleep(0.4)
    assert ended == []


STUCK_PASS = """
import sys, time
from occ.collectors import local
local.LocalCollector.collect = lambda self: time.sleep(60)  # stuck outside the HTTP layer
sys.argv = ["os-collect-config", "collect", "--config-file", sys.argv[1]]
from occ.cli.entry import main
sys.exit(main())
"""


def test_a_pass_stuck_outside_http_ends_by_pass_timeout_plus_margin_with_255(tmp_path):
    local = tmp_path / "local"
    local.mkdir()
    (local / "a.json").write_text('{"a": 1}')
    config = tmp_path / "occ.conf"
    config.write_text(
        f"[DEFAULT]\ncollectors = local\npass_timeout = 1\ncachedir = {tmp_path / 'cache'}\n"
        f"backup_cachedir = {tmp_path / 'backup'}\nhook_env_file = {tmp_path / 'run/hook.env'}\n"
        f"command = true\n[local]\npath = {local}\n"
    )
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-c", STUCK_PASS, str(config)],
        capture_output=True,
        text=True,
        timeout=30,
        env={"PYTHONPATH": str(REPO), "HOME": str(tmp_path)},
    )
    took = time.monotonic() - started
    assert result.returncode == 255, result.stderr
    assert 1 + watchdog.MARGIN - 0.5 < took < 1 + watchdog.MARGIN + 2.5
    errors = [line for line in result.stderr.splitlines() if "did not finish" in line]
    assert len(errors) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "cache" / "local.json").exists()
