"""The Debian package in a booted systemd: taking over from the original, polling on, purge.

Each scenario boots its own container (tests/systemd/nspawn.py: an overlay of the host's /,
private network) and installs the .deb built once per session (tests/packaging/builders.py)
with apt, offline: everything it depends on is on the host already. Debian's original,
``python3-os-collect-config``, is downloaded on the host with ``apt-get download`` and
installed with ``dpkg --force-depends``: its OpenStack client libraries are not needed to test
the takeover, and without them it cannot run, so the daemon unit the test writes runs a
stand-in process. What the migration looks at is what a real daemon shows systemd: a
long-running, enabled os-collect-config.service.

Needs root and systemd-nspawn; elsewhere it skips loudly, and with CI=true it fails instead.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.packaging import builders
from tests.systemd import nspawn, support

SERVICE = "os-collect-config.service"
POLLING = ("os-collect-config.timer", "os-collect-config.path", "os-collect-config-reload.path")
ORIGINAL = "python3-os-collect-config"
PACKAGES = "/var/tmp/occ-packages"
CACHE = "/var/lib/os-collect-config"
HOOK_LOG = "/var/lib/occ-test/hook.log"

DAEMON_UNIT = """\
[Unit]
Description=Collect metadata and run hook commands (the original's daemon unit)
After=network.target

[Service]
# RDO's unit runs /usr/bin/os-collect-config, the original in continuous mode. Installed
# without its dependencies it cannot start, so a process that lives as long stands in for it.
ExecStart=/bin/sleep infinity
Restart=on-failure

[Install]
WantedBy=multi-user.target
"""

FAKE_HOOK = """#!/bin/sh
# Stand-in for os-refresh-config: one line per run with what it was handed.
echo "$OS_CONFIG_FILES" >> /var/lib/occ-test/hook.log
"""

CONFIG = """\
[DEFAULT]
command = /usr/local/bin/fake-hook
collectors = local
polling_interval = {interval}
"""

# heat-templates' boot-config (configure_config_agent.sh / start_config_agent.sh), with the
# configuration it writes reduced to a local source and a stand-in hook.
HEAT_BOOT = """\
set -e
cat > /etc/os-collect-config.conf <<EOF
[DEFAULT]
command = /usr/local/bin/fake-hook
collectors = local
EOF
os-collect-config --one-time --debug
os-collect-config --one-time --debug
systemctl enable os-collect-config
systemctl start --no-block os-collect-config
"""


@pytest.fixture(scope="module")
def packages(tmp_path_factory) -> dict[str, Path]:
    reason = nspawn.unavailable_reason()
    if reason:
        support.skip_or_fail(reason)
    ours = builders.deb(tmp_path_factory)
    download = tmp_path_factory.mktemp("original")
    result = subprocess.run(
        ["apt-get", "download", ORIGINAL],
        cwd=download,
        capture_output=True,
        text=True,
        timeout=300,
    )
    found = sorted(download.glob(f"{ORIGINAL}_*.deb"))
    if result.returncode != 0 or not found:
        support.skip_or_fail(f"apt-get download {ORIGINAL} failed: {result.stderr.strip()}")
    return {"ours": ours, "original": found[0]}


class Box:
    """A booted container with the packages under /var/tmp/occ-packages."""

    def __init__(self, container: nspawn.Container, packages: dict[str, Path]) -> None:
        self.c = container
        self.ours = f"{PACKAGES}/{packages['ours'].name}"
        self.original = f"{PACKAGES}/{packages['original'].name}"

    def sh(self, script: str, check: bool = True) -> subprocess.CompletedProcess:
        return self.c.run("/bin/bash", "-c", script, check=check, timeout=300)

    def show(self, unit: str, prop: str) -> str:
        return self.c.run("systemctl", "show", unit, "-p", prop, "--value").stdout.strip()

    def state(self, unit: str) -> tuple[str, str]:
        enabled = self.c.run("systemctl", "is-enabled", unit, check=False).stdout.strip()
        return enabled, self.show(unit, "ActiveState")

    def polling(self) -> dict[str, tuple[str, str]]:
        return {unit: self.state(unit) for unit in POLLING}

    def polling_is(self, enabled: str, active: str) -> bool:
        return all(state == (enabled, active) for state in self.polling().values())

    def apt_install_ours(self) -> subprocess.CompletedProcess:
        return self.c.run(
            "env",
            "DEBIAN_FRONTEND=noninteractive",
            "apt-get",
            "install",
            "-y",
            "--no-install-recommends",
            self.ours,
            check=False,
            timeout=300,
        )

    def dpkg_install_ours_over_the_original(self) -> subprocess.CompletedProcess:
        """Install ours where the original is: with its dependencies forced away, apt would
        refuse to touch the system at all, so dpkg does what apt's removal would. The original
        is deconfigured (Breaks:), its /usr/bin/os-collect-config taken over (Replaces:), and
        removing it afterwards must leave that file to us. dpkg exits 1 because it cannot
        configure the original again (its dependencies are missing, and ours breaks it); ours
        must be configured."""
        result = self.c.run(
            "dpkg",
            "-i",
            "--auto-deconfigure",
            # keep the configuration the test wrote before (the package ships one too)
            "--force-confold",
            self.ours,
            check=False,
            timeout=300,
        )
        output = result.stdout + result.stderr
        status = self.c.run("dpkg-query", "-W", "-f", "${db:Status-Abbrev}", "os-collect-config")
        assert status.stdout.strip() == "ii", output
        failed = output.split("Errors were encountered while processing:")[-1].split()
        assert result.returncode == 0 or failed == [ORIGINAL], output
        owner = self.c.run("dpkg-query", "-S", "/usr/bin/os-collect-config", check=False)
        assert owner.stdout.strip() == "os-collect-config: /usr/bin/os-collect-config", owner
        self.c.run("dpkg", "--purge", ORIGINAL)
        assert self.exists("/usr/bin/os-collect-config")
        return result

    def install_original_as_daemon(self, unit_dir: str) -> str:
        """Install Debian's original and run it as an enabled daemon; return its MainPID."""
        self.c.run("dpkg", "-i", "--force-depends", self.original, timeout=300)
        self.c.run("cp", "/dev/stdin", f"{unit_dir}/{SERVICE}", input=DAEMON_UNIT)
        self.c.run("systemctl", "daemon-reload")
        self.c.run("systemctl", "enable", "--now", SERVICE)
        pid = self.show(SERVICE, "MainPID")
        assert pid != "0" and self.show(SERVICE, "SubState") == "running"
        return pid

    def configure(self, interval: int = 30) -> None:
        self.c.run(
            "cp",
            "/dev/stdin",
            "/etc/os-collect-config.conf",
            input=CONFIG.format(interval=interval),
        )

    def wait_polling(self, enabled: str, active: str) -> None:
        self.c.wait_for(
            15, f"polling units {enabled} and {active}", lambda: self.polling_is(enabled, active)
        )

    def stop_polling(self) -> None:
        """Disable and stop all polling, as presets or an admin leave it. A pass that starts
        meanwhile (the path units see the test's own writes, the burst timer re-polls) starts
        the timer again through the service's Wants=, so repeat until nothing runs."""
        for _ in range(5):
            self.sh(
                "systemctl stop os-collect-config-burst.timer\n"
                "systemctl disable --now " + " ".join(POLLING)
            )
            self.c.wait_for(30, "no pass running", self.idle)
            if self.polling_is("disabled", "inactive"):
                return
        raise AssertionError(f"polling keeps coming back: {self.polling()}")

    def hook_runs(self) -> list[str]:
        return self.sh(f"cat {HOOK_LOG} 2>/dev/null || true").stdout.splitlines()

    def idle(self) -> bool:
        return self.show(SERVICE, "ActiveState") in ("inactive", "failed")

    def exists(self, path: str) -> bool:
        return self.c.run("test", "-e", path, check=False).returncode == 0


@contextlib.contextmanager
def booted(packages: dict[str, Path], attempts: int = 2):
    """Yield a Box; print where the journal of a failed scenario was saved."""
    with nspawn.TerminateAsInterrupt():
        container = nspawn.boot(lambda c: prepare(c, packages), attempts=attempts)
        try:
            yield Box(container, packages)
        except BaseException:
            saved = container.base.parent / f"{container.base.name}-logs"
            saved.mkdir(exist_ok=True)
            for path in container.save_logs(saved / "scenario"):
                print(f"\nnspawn: saved {path}")
            raise
        finally:
            container.teardown()


def prepare(container: nspawn.Container, packages: dict[str, Path]) -> None:
    root = container.root
    # Container images forbid maintainer scripts to start services (policy-rc.d exits 101);
    # a real machine does not, and starting the timer is part of what is tested.
    (root / "usr/sbin/policy-rc.d").unlink(missing_ok=True)
    directory = root / PACKAGES.lstrip("/")
    directory.mkdir(parents=True, exist_ok=True)
    for package in packages.values():
        shutil.copy(package, directory)
    hook = root / "usr/local/bin/fake-hook"
    hook.parent.mkdir(parents=True, exist_ok=True)
    hook.write_text(FAKE_HOOK)
    hook.chmod(0o755)
    (root / "var/lib/occ-test").mkdir(parents=True, exist_ok=True)
    container.mask()


# -- (a) the original's daemon unit came from a package ---------------------------------------


def test_a_packaged_daemon_is_replaced_by_the_timer_then_purge_keeps_the_cache(packages):
    with booted(packages) as box:
        daemon = box.install_original_as_daemon("/usr/lib/systemd/system")
        box.configure()
        box.c.run("mkdir", "-p", f"{CACHE}/local-data")
        box.c.run("cp", "/dev/stdin", f"{CACHE}/local-data/app.json", input='{"v": 1}')

        result = box.dpkg_install_ours_over_the_original()
        output = result.stdout + result.stderr
        assert "replacing the os-collect-config daemon" in output, output
        # exactly one poller: the daemon is gone, the timer and path units poll
        assert box.c.run("kill", "-0", daemon, check=False).returncode != 0
        box.wait_polling("enabled", "active")
        assert not box.sh(f"ls /etc/systemd/system/*.wants/{SERVICE} 2>/dev/null", False).stdout
        box.c.wait_for(
            20,
            "the timer's first pass applied app.json",
            lambda: box.exists(f"{CACHE}/app.json.json.last"),
        )
        assert box.show(SERVICE, "Type") == "oneshot"

        # the plain launcher, as installed
        launcher = box.c.run("cat", "/usr/bin/os-collect-config").stdout
        assert launcher == (support.REPO / "packaging/common/os-collect-config").read_text()
        version = box.c.run("os-collect-config", "--version").stdout.strip()
        assert version == builders.version()

        box.c.run("mkdir", "-p", f"{CACHE}/.occ")  # occ's own state (present once used)
        box.c.wait_for(20, "the pass is over", box.idle)
        purge = box.c.run("apt-get", "purge", "-y", "os-collect-config", check=False)
        assert purge.returncode == 0, purge.stdout + purge.stderr
        # purge removes the program, units, configuration, enablement and occ's own state ...
        for gone in (
            "/usr/bin/os-collect-config",
            "/lib/systemd/system/os-collect-config.timer",
            "/usr/libexec/os-collect-config",
            "/etc/os-collect-config.conf",
            f"{CACHE}/.occ",
        ):
            assert not box.exists(gone), gone
        assert not box.sh("ls /etc/systemd/system/*.wants/ | grep os-collect-config", False).stdout
        # ... and keeps the cache that consumers (os-apply-config) read, and the local data
        for kept in ("app.json.json", "app.json.json.last", "os_config_files.json"):
            assert box.exists(f"{CACHE}/{kept}"), kept
        assert box.exists(f"{CACHE}/local-data/app.json")


# -- (b) an admin's daemon unit in /etc shadows ours ------------------------------------------


def test_an_admins_daemon_unit_is_left_alone_and_the_printed_commands_migrate(packages):
    with booted(packages) as box:
        daemon = box.install_original_as_daemon("/etc/systemd/system")
        box.configure()

        result = box.dpkg_install_ours_over_the_original()
        output = result.stdout + result.stderr
        assert output.count("shadows") == 1, output
        assert f"/etc/systemd/system/{SERVICE} shadows the packaged" in output, output
        # the daemon runs on, and the timer and path stay off (they would start that daemon)
        assert box.show(SERVICE, "MainPID") == daemon
        assert box.polling_is("disabled", "inactive"), box.polling()

        # the two commands the message prints migrate
        commands = re.findall(r"^    (systemctl .*)$", output, re.M)
        assert len(commands) == 2, output
        box.sh("set -e\n" + "\n".join(commands))
        assert box.c.run("kill", "-0", daemon, check=False).returncode != 0
        box.wait_polling("enabled", "active")
        assert box.show(SERVICE, "Type") == "oneshot"


# -- fresh installation: the commands people type turn polling on -----------------------------


def test_fresh_install_enable_now_path_latency_heat_boot_and_autopkgtest(packages):
    with booted(packages) as box:
        result = box.apt_install_ours()
        assert result.returncode == 0, result.stdout + result.stderr
        box.wait_polling("enabled", "active")  # Debian enables on installation

        # -- (b) enable --now of the timer alone, its interval raised to 10 minutes
        box.configure(interval=600)
        box.stop_polling()
        box.c.run("systemctl", "daemon-reload")  # the generator reads polling_interval = 600
        assert "OnUnitInactiveUSec=10min" in box.show("os-collect-config.timer", "TimersMonotonic")
        box.c.run("systemctl", "enable", "--now", "os-collect-config.timer")
        box.wait_polling("enabled", "active")
        # the timer's immediate first pass; then no burst re-polls that could explain a pass
        box.c.wait_for(
            30,
            "the timer's first pass",
            lambda: (
                box.show("os-collect-config.timer", "LastTriggerUSecMonotonic") not in ("", "0")
            ),
        )
        box.c.wait_for(30, "no pass running", box.idle)
        box.c.run("systemctl", "stop", "os-collect-config-burst.timer")
        triggered = box.show("os-collect-config.timer", "LastTriggerUSecMonotonic")
        runs = len(box.hook_runs())

        started = time.monotonic()
        box.c.run("cp", "/dev/stdin", f"{CACHE}/local-data/new.json", input='{"new": 1}')
        box.c.wait_for(
            10,
            "a pass with new.json",
            lambda: any("new.json" in line for line in box.hook_runs()[runs:]),
        )
        latency = time.monotonic() - started
        print(f"\npath unit latency: a new local file reached the hook after {latency:.2f} s")
        # not the timer (10 minutes, and it did not fire again) nor the burst timer
        assert box.show("os-collect-config.timer", "LastTriggerUSecMonotonic") == triggered
        assert box.show("os-collect-config-burst.timer", "LastTriggerUSecMonotonic") in ("", "0")
        assert latency < 10

        # -- (c) Heat's boot-config, with the timer and path disabled beforehand (presets)
        box.stop_polling()
        box.sh(HEAT_BOOT)  # set -e: every command must succeed
        box.wait_polling("enabled", "active")

        # -- the Debian autopkgtests, against the installed package
        source = box.c.root / "var/tmp/occ-source"
        shutil.copytree(support.REPO / "packaging/debian", source / "debian", symlinks=True)
        tests = box.c.run(
            "autopkgtest",
            "--no-built-binaries",
            # This container, booted for the test and thrown away after it, is the isolation
            # and the revertible testbed these restrictions ask for.
            "--ignore-restrictions=isolation-container,breaks-testbed",
            "/var/tmp/occ-source",
            "--",
            "null",
            check=False,
            timeout=300,
        )
        summary = tests.stdout + tests.stderr
        assert tests.returncode == 0, summary
        assert re.search(r"^local-pass\s+PASS", summary, re.M), summary
        assert re.search(r"^systemd-pass\s+PASS", summary, re.M), summary
