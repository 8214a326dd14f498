"""Deadlines in a real systemd: a trickling server cannot stop the timer-driven passes, and a
hook that runs longer than the pass deadline is neither cut nor left uncommitted.

The shipped units, booted in nspawn as in ``test_e2e`` (whose installation and helpers this
module reuses, in a container of its own). Besides the fake EC2 service, a
``tests/fakes/slow.py`` server on 127.0.0.1:8089 answers the ``request`` source one body byte at
a time, for ever; ``[request] timeout`` is 30 s, so only ``pass_timeout`` (2 s) can end it.
The design this proves (README, "Guarantees"): the pass bounds itself (HTTP deadline, then
the watchdog of ``occ.run.watchdog``); the service has no start timeout, which would also cut
the hook unit its ``ExecStart=`` waits for.
"""

from __future__ import annotations

import json
import shutil

import pytest

from tests.systemd import nspawn, support
from tests.systemd.test_e2e import CACHE, FAKE_MD, SERVICE, Box, install

SLOW_PORT = 8089
PASS_TIMEOUT = 2
CONFIG = f"""\
[DEFAULT]
command = {{command}}
collectors = ec2
collectors = request
polling_interval = 2
pass_timeout = {PASS_TIMEOUT}
[ec2]
refresh = true
config_drive = false
imdsv2 = off
timeout = 2
[request]
metadata_url = http://127.0.0.1:{SLOW_PORT}/doc
timeout = 30
"""
SLOW_HOOK = """#!/bin/sh
# Runs longer than pass_timeout plus the watchdog's margin, then does what fake-orc does.
date +%s.%N > /var/lib/occ-test/slow-hook-started
sleep 8
exec /usr/local/bin/fake-orc
"""
SLOW_SERVER = (
    "import sys, time; sys.path.insert(0, '/srv/occ-test'); from slow import SlowServer; "
    f"SlowServer('trickle_body', interval=0.5, port={SLOW_PORT}).start(); time.sleep(10**6)"
)


@pytest.fixture(scope="module")
def box(request):
    with nspawn.scenario(request, install) as container:
        yield Box(container)


def configure(box: Box, command: str) -> None:
    box.c.run(
        "/bin/sh", "-c", "cat > /etc/os-collect-config.conf", input=CONFIG.format(command=command)
    )


def test_a_trickling_server_does_not_stop_the_timer_driven_passes(box):
    shutil.copy(support.REPO / "tests/fakes/slow.py", box.c.root / "srv/occ-test/slow.py")
    box.c.run("systemd-run", "--unit=occ-slow-md", "/usr/bin/python3", "-c", SLOW_SERVER)
    configure(box, "/usr/local/bin/fake-orc")
    box.c.run(
        "systemctl", "enable", "--now", "os-collect-config.timer", "os-collect-config-reload.path"
    )
    box.c.wait_for(30, "first hook run (ec2 is new)", lambda: box.hook_runs() >= 1)
    box.c.wait_for(
        20,
        "timer re-armed with 2 s",
        lambda: "OnUnitInactiveUSec=2s" in box.show("os-collect-config.timer", "TimersMonotonic"),
    )
    box.wait_idle()
    before = len(box.passes())
    box.c.wait_for(40, "four more timer-driven passes", lambda: len(box.passes()) >= before + 4)
    later = box.passes()[before:]
    # ExecCondition= exited 100 ("unchanged", the rest skipped): neither killed nor failed.
    assert all(p[1] == "exec-condition" for p in later), later
    gaps = [b[0] - a[0] for a, b in zip(later, later[1:])]
    # A pass lasts about pass_timeout (the trickle is cut), then the timer waits 2 s.
    assert all(gap < PASS_TIMEOUT + 2 + 4 for gap in gaps), gaps
    journal = box.c.journal("-u", SERVICE, "-o", "cat")
    assert "request: source unavailable" in journal and "no answer within" in journal
    assert "Traceback" not in journal


def test_a_hook_longer_than_the_pass_deadline_completes_and_is_committed(box):
    box.c.run("/bin/sh", "-c", "cat > /usr/local/bin/slow-orc && chmod 755 /usr/local/bin/slow-orc",
              input=SLOW_HOOK)  # fmt: skip
    configure(box, "/usr/local/bin/slow-orc")
    box.wait_idle()
    runs = box.hook_runs()
    box.set_metadata("7")
    box.c.wait_for(
        60,
        "the slow hook finished and v=7 was committed",
        lambda: (
            box.hook_runs() > runs
            and json.loads(box.c.run("cat", f"{CACHE}/ec2.json.last").stdout)["v"] == "7"
        ),
    )
    started = float(box.c.run("cat", "/var/lib/occ-test/slow-hook-started").stdout)
    took = box.hook_time(box.hook_runs()) - started
    assert took >= 8, took  # longer than pass_timeout + the watchdog's margin: not cut
    assert not box.failed() and not box.failed("os-collect-config-hook.service")
    assert box.c.run("cat", f"{FAKE_MD}/v").stdout == "7"
