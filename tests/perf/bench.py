#!/usr/bin/env python3
"""Benchmark: this project against the original os-collect-config 14.1.0, side by side.

Every poll is a new process under a systemd timer, every 30 s on every instance, so start-up
cost and requests per idle pass are this program's performance. This script measures them as
users install the program and compares them with the original, in one run:

* fake EC2, Keystone, Heat and "request" services on 127.0.0.1 that count every request (and,
  for EC2, the most requests in flight at once); ``--latency`` adds a delay to every answer of
  the idle cases, the cold EC2 walk runs at 0 and 10 ms. Keystone, Heat and "request" are the
  functional tests' fakes (tests/fakes), in this process; EC2 is tests/perf/ec2_server.py, in a
  process of its own, so that the walks measure the clients and not the fake's lock;
* the original, os-collect-config 14.1.0 from PyPI, in a virtualenv cached in ``.venv-original``
  (its local collector needs a UTF-8 locale other than C.UTF-8: this script compiles
  en_US.UTF-8 there with localedef unless the system has it, and says so);
* this project twice: the console script of a fresh virtualenv (``pip install`` of the work
  tree into ``.venv-bench``) and the launcher the Debian and RPM packages install
  (packaging/common/os-collect-config) under the system interpreter, which is what the units run;
* every case for every implementation in turn, round after round (interleaved, so noise hits
  all alike); medians of ``--rounds`` rounds and their spread (min-max); wall time, CPU time
  (user + sys of the child, from wait4) and peak RSS (the child's ru_maxrss);
* the original as a daemon (continuous mode) for ``--daemon-polls`` polls: CPU per poll once
  warm, resident memory, Keystone requests per poll.

It prints one table, the targets of issue 12 met or not, and a fleet model computed from the
measured figures. ``--write-doc`` also rewrites the generated parts of doc/performance.rst and
README.rst's performance table; ``--quick`` is the smoke mode CI runs: one round, and it fails
unless every row ran for every implementation and the requests per idle pass are the expected
ones (no timing assertions).

Usage: python3 tests/perf/bench.py [--rounds 7] [--quick] [--write-doc] [--json FILE]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(REPO))

from occ.run.idle import SETTLE_SECONDS  # noqa: E402
from tests.fakes.heat import FakeHeat  # noqa: E402
from tests.fakes.keystone import FakeKeystone  # noqa: E402
from tests.fakes.server import FakeServer, Recorded, Reply  # noqa: E402

ORIGINAL = "os-collect-config==14.1.0"
ORIGINAL_VENV = REPO / ".venv-original"
BENCH_VENV = REPO / ".venv-bench"
LAUNCHER = REPO / "packaging" / "common" / "os-collect-config"
DOC = REPO / "doc" / "performance.rst"
README = REPO / "README.rst"
INTERVAL = 30.0  # polling_interval: the timer's OnUnitInactiveSec= and the daemon's sleep
KEYSTONE_TOKEN_LIFETIME = 3600.0  # Keystone's default [token] expiration
UNREACHABLE = 77  # exit status: PyPI cannot be reached and nothing is cached

# Implementations, in table order.
OCC_VENV = "occ (venv script)"
OCC_SYSTEM = "occ (packaged launcher)"
ORIG = "original 14.1.0"
OCCS = (OCC_VENV, OCC_SYSTEM)
IMPLS = (*OCCS, ORIG)

# Baselines: the venv's interpreter (the same binary as the system one, with a venv's site).
PASS = "python -c pass"
REQUESTS = "python -c 'import requests'"
SYS_PASS = "system python3 -s -c pass"
SYS_REQUESTS = "system python3 -s -c 'import requests'"
BASELINES = (PASS, REQUESTS, SYS_PASS, SYS_REQUESTS)

IDLE_LOCAL = "idle pass: ec2 (cached) + local + heat_local"
IDLE_REQUEST = "idle request pass (304)"
IDLE_HEAT = "idle heat pass (token cached)"
WALK_0 = "cold EC2 walk, 0 ms"
WALK_BIG = "cold EC2 walk, 0 ms, larger tree"
WALK_10 = "cold EC2 walk, 10 ms per request"
WALKS = (WALK_0, WALK_BIG, WALK_10)
CASES = (IDLE_LOCAL, IDLE_REQUEST, IDLE_HEAT, WALK_0, WALK_BIG, WALK_10)
BIG_MACS = 78  # network interfaces of WALK_BIG's tree (about 5x the requests); WALK_0's has 13
# What each case is compared with (for this project's two installs: its own interpreter's).
CASE_BASELINE = {
    IDLE_LOCAL: (PASS, SYS_PASS),
    IDLE_REQUEST: (REQUESTS, SYS_REQUESTS),
    IDLE_HEAT: (REQUESTS, SYS_REQUESTS),
}
SERVICES = ("ec2", "keystone", "heat", "request")
# Requests per idle pass that this project must keep (issue 12, "keep" row).
KEEP = {
    IDLE_LOCAL: {"ec2": 0, "keystone": 0, "heat": 0, "request": 0},
    IDLE_REQUEST: {"ec2": 0, "keystone": 0, "heat": 0, "request": 1, "304": 1},
    IDLE_HEAT: {"ec2": 0, "keystone": 0, "heat": 1, "request": 0},
}


# -- measuring a child process -------------------------------------------------------------


@dataclass
class Sample:
    wall: float  # seconds
    cpu: float  # seconds, user + sys
    maxrss: int  # KiB
    status: int
    requests: dict[str, int]
    in_flight: int = 0


# Runs the measured programs. ru_maxrss survives execve: a child spawned by this process (tens
# of MiB, with its fake servers) would report this process's size as its own peak. So the
# children are spawned by a small helper (a bare interpreter, ``-S -I``), which reports wall
# time and wait4's figures. Its own size (about 10 MiB) is the floor of the RSS column.
SPAWNER = r"""
import json, os, sys, time
for line in sys.stdin:
    argv, env, err = json.loads(line)
    actions = [
        (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
        (os.POSIX_SPAWN_OPEN, 2, err, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600),
    ]
    start = time.perf_counter()
    pid = os.posix_spawn(argv[0], argv, env, file_actions=actions)
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - start
    cpu = usage.ru_utime + usage.ru_stime
    code = os.waitstatus_to_exitcode(status)
    sys.stdout.write(json.dumps([wall, cpu, usage.ru_maxrss, code]) + "\n")
    sys.stdout.flush()
"""


class Spawner:
    def __init__(self, python: str) -> None:
        self.process = subprocess.Popen(
            [python, "-S", "-I", "-c", SPAWNER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def __call__(
        self, argv: list[str], env: dict[str, str], errfile: str
    ) -> tuple[float, float, int, int]:
        """Run ``argv`` (an absolute path first) with stdout on /dev/null and stderr in
        ``errfile``; return (wall s, cpu s, maxrss KiB, exit status)."""
        assert self.process.stdin and self.process.stdout
        self.process.stdin.write(json.dumps([argv, env, errfile]) + "\n")
        self.process.stdin.flush()
        wall, cpu, maxrss, status = json.loads(self.process.stdout.readline())
        return wall, cpu, maxrss, status

    def close(self) -> None:
        assert self.process.stdin
        self.process.stdin.close()
        self.process.wait(timeout=30)


spawn: Spawner  # set by main()
# Where this project's hand-over files go (hook_env_file, pending.json): a tmpfs when there is
# one, as /run under the units; the cache stays on disk, as /var/lib. Set by main().
VOLATILE = Path(tempfile.gettempdir())


def volatile_parent() -> str | None:
    """Return /dev/shm if it is a writable directory (a tmpfs on Linux), else None."""
    shm = "/dev/shm"
    return shm if os.path.isdir(shm) and os.access(shm, os.W_OK) else None


# -- fake services -------------------------------------------------------------------------


class Ec2Process:
    """The EC2 metadata fake of the walks, in a process of its own (tests/perf/ec2_server.py).

    ``requests()`` counts the requests it answered since it started; ``peak`` is the most it
    answered at once since the last ``reset``, which also sets the latency of every answer.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.process: subprocess.Popen[str] | None = None
        self.url = ""
        self.latency = 0.0

    def __enter__(self) -> Ec2Process:
        server = Path(__file__).with_name("ec2_server.py")
        self.process = subprocess.Popen(
            [sys.executable, str(server), "--root", str(self.root)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        port = self.process.stdout.readline().strip()
        if not port.isdigit():
            self.process.kill()
            raise RuntimeError("tests/perf/ec2_server.py did not start")
        self.url = f"http://127.0.0.1:{port}"
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()

    def _control(self, path: str) -> dict[str, int]:
        with urllib.request.urlopen(self.url + path, timeout=10) as answer:
            return json.loads(answer.read())  # type: ignore[no-any-return]

    def reset(self, latency: float | None = None) -> None:
        """Start counting the peak again; delay answers by ``latency`` s from now on (if given)."""
        if latency is not None:
            self.latency = latency
        self._control(f"/_bench/reset?latency={self.latency}")

    def requests(self) -> int:
        return self._control("/_bench/stats")["requests"]

    def peak(self) -> int:
        return self._control("/_bench/stats")["peak"]


class Keystone(FakeKeystone):
    """The Keystone fake, answering logins with the names a real Keystone adds (project, user
    and their domains), which the original's keystoneclient reads."""

    def _issue(self, request: Recorded) -> Reply:
        reply = super()._issue(request)
        if reply.status == 201:
            body = json.loads(reply.body)
            domain = {"id": "default", "name": "Default"}
            body["token"]["project"].update(name="bench", domain=domain)
            body["token"]["user"].update(name="bench-server", domain=domain)
            reply.body = json.dumps(body).encode()
        return reply


def ec2_tree(root: Path, macs: int = 13) -> int:
    """Write an EC2 meta-data tree like a Nova or EC2 instance's under ``root``; return the
    number of requests a full walk makes (one per listing and one per value)."""
    meta = root / "latest" / "meta-data"
    values = {
        "ami-id": "ami-0a1b2c3d", "ami-launch-index": "0", "ami-manifest-path": "FIXME",
        "hostname": "web-0.novalocal", "instance-action": "none", "instance-id": "i-000004d2",
        "instance-type": "m1.small", "kernel-id": "aki-00000001", "local-hostname": "web-0",
        "local-ipv4": "10.0.0.5", "mac": "fa:16:3e:00:00:00", "profile": "default-hvm",
        "public-hostname": "web-0.example.org", "public-ipv4": "203.0.113.5",
        "ramdisk-id": "ari-00000001", "reservation-id": "r-3kd8n2ql",
        "security-groups": "default\nweb", "placement/availability-zone": "nova",
        "services/domain": "amazonaws.com", "services/partition": "aws",
        "metrics/vhostmd": '<?xml version="1.0" encoding="UTF-8"?>',
        "public-keys/0/openssh-key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIbench bench@example",
        "iam/info": '{"Code": "Success"}', "iam/security-credentials/web": '{"Code": "Success"}',
        "identity-credentials/ec2/info": '{"Code": "Success"}',
        **{f"block-device-mapping/{name}": dev for name, dev in (
            ("ami", "vda"), ("root", "/dev/vda"), ("ebs0", "vdb"), ("ebs1", "vdc"),
            ("ephemeral0", "vdd"), ("swap", "vde"))},
    }  # fmt: skip
    for index in range(macs):
        mac = f"fa:16:3e:00:00:{index:02x}"
        base = f"network/interfaces/macs/{mac}"
        for key, value in {
            "device-number": str(index), "interface-id": f"eni-{index:08x}",
            f"ipv4-associations/203.0.113.{index + 5}": f"10.0.{index}.5",
            "local-hostname": f"ip-10-0-{index}-5", "local-ipv4s": f"10.0.{index}.5",
            "mac": mac, "owner-id": "123456789012", "public-hostname": "web-0.example.org",
            "public-ipv4s": f"203.0.113.{index + 5}", "security-group-ids": "sg-1\nsg-2",
            "security-groups": "default\nweb", "subnet-id": f"subnet-{index:08x}",
            "subnet-ipv4-cidr-block": f"10.0.{index}.0/24", "vpc-id": "vpc-0001",
            "vpc-ipv4-cidr-block": "10.0.0.0/16", "vpc-ipv4-cidr-blocks": "10.0.0.0/16",
            "ipv6s": f"2001:db8::{index + 5}",
        }.items():  # fmt: skip
            values[f"{base}/{key}"] = value
    for key, value in values.items():
        path = meta / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(value)
    (meta / "public-keys" / ".listing").write_text("0=bench")
    nodes = sum(1 for _ in meta.rglob("*") if not _.name.startswith("."))
    return nodes + 1  # and the root listing


class Services:
    """The fake services of one run; ``counts()`` snapshots the requests each has answered."""

    def __init__(self, root: Path, latency: float) -> None:
        self.stack = contextlib.ExitStack()
        ec2_root = root / "ec2"
        self.ec2_keys = ec2_tree(ec2_root)
        self.ec2 = Ec2Process(ec2_root)
        self.ec2_big_keys = ec2_tree(root / "ec2-big", macs=BIG_MACS)
        self.ec2_big = Ec2Process(root / "ec2-big")
        self.latency = latency
        self.keystone = Keystone()
        self.heat = FakeHeat(self.keystone)
        self.heat.add_stack("web", "5c2a9e41-bench", {"server": heat_document()})
        self.keystone.add_endpoint("orchestration", self.heat.endpoint)
        for service in self.keystone.catalog:  # keystoneclient (the original's) reads names
            service["name"] = "heat"
        self.request = FakeServer()
        self.request_statuses: list[int] = []
        self.request.route("/metadata", self._request_reply)
        for server in (self.keystone.server, self.heat.server, self.request):
            server.latency = latency

    def __enter__(self) -> Services:
        for fake in (self.ec2, self.ec2_big, self.keystone, self.heat):
            self.stack.enter_context(fake)  # type: ignore[arg-type]
        self.stack.enter_context(self.request)
        self.ec2.reset(self.latency)
        self.ec2_big.reset(0.0)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stack.close()

    def _request_reply(self, request: Recorded) -> Reply:
        etag, modified = '"v1"', "Mon, 02 Jun 2025 10:00:00 GMT"
        if request.headers.get("If-None-Match") == etag or (
            not request.headers.get("If-None-Match")
            and request.headers.get("If-Modified-Since") == modified
        ):
            reply = Reply(304, b"", {"ETag": etag, "Last-Modified": modified})
        else:
            headers = {"ETag": etag, "Last-Modified": modified}
            reply = Reply.json(heat_document(), headers=headers)
        self.request_statuses.append(reply.status)
        return reply

    def counts(self) -> dict[str, int]:
        return {
            "ec2": self.ec2.requests() + self.ec2_big.requests(),
            "keystone": len(self.keystone.requests),
            "keystone-tokens": self.keystone.issued(),
            "heat": len(self.heat.requests),
            "request": len(self.request.requests),
            "304": self.request_statuses.count(304),
        }


def heat_document() -> dict[str, Any]:
    """A software-deployment document as Heat serves it to a server: three deployments."""
    deployments = [
        {
            "id": f"4b1f6c2e-{index:04d}",
            "name": f"deployment-{index}",
            "group": "script",
            "inputs": [{"name": "deploy_server_id", "value": "i-000004d2", "type": "String"}],
            "outputs": [{"name": "result", "description": "", "type": "String"}],
            "options": {},
            "config": "#!/bin/sh\necho configured\n" * 20,
        }
        for index in range(3)
    ]
    return {"deployments": deployments, "os-collect-config": {"heat": {"polling": True}}}


# -- instances and implementations ---------------------------------------------------------


@dataclass
class Impl:
    name: str
    argv: list[str]  # the program, up to the mode
    mode: list[str]  # "collect" for this project, "--one-time" for the original
    env: dict[str, str]
    samples: dict[str, list[Sample]] = field(default_factory=dict)


def config_text(case: str, root: Path, services: Services, impl: str) -> str:
    """Return the configuration file of ``case`` for an instance under ``root``."""
    general = (
        f"[DEFAULT]\ncommand = true\ncachedir = {root}/cache\nbackup_cachedir = {root}/backup\n"
    )
    if impl != ORIG:
        general += f"hook_env_file = {VOLATILE / root.name}/hook.env\n"
    ec2_url = services.ec2_big.url if case == WALK_BIG else services.ec2.url
    ec2 = f"[ec2]\nmetadata_url = {ec2_url}/latest/meta-data\ntimeout = 10\n"
    if case == IDLE_LOCAL:
        collectors = ("heat_local", "ec2", "local")
        sections = (
            f"[heat_local]\npath = {root}/cfn-init-data\n[local]\npath = {root}/local-data\n{ec2}"
        )
    elif case == IDLE_REQUEST:
        collectors = ("request",)
        sections = f"[request]\nmetadata_url = {services.request.url}/metadata\ntimeout = 10\n"
    elif case in (IDLE_HEAT, "daemon"):
        keystone = services.keystone
        collectors = ("heat",)
        sections = (
            f"[heat]\nauth_url = {keystone.auth_url}\nuser_id = {keystone.user_id}\n"
            f"password = {keystone.password}\nproject_id = {keystone.project_id}\n"
            "stack_id = web/5c2a9e41-bench\nresource_name = server\n"
        )
        if case == "daemon":
            general += "min_polling_interval = 0.25\npolling_interval = 0.25\n"
    else:
        collectors = ("ec2",)
        sections = ec2
    lines = "".join(f"collectors = {name}\n" for name in collectors)
    return general + lines + sections


def make_instance(case: str, root: Path, services: Services, impl: str) -> Path:
    root.mkdir(parents=True)
    local = root / "local-data"
    local.mkdir(mode=0o700)
    for index in range(5):
        document = {"key": index, "items": list(range(20)), "name": f"source-{index}"}
        (local / f"{index:02d}.json").write_text(json.dumps(document))
    (root / "cfn-init-data").write_text(json.dumps({"os-collect-config": {"collectors": []}}))
    config = root / "os-collect-config.conf"
    config.write_text(config_text(case, root, services, impl))
    return config


# -- the run -------------------------------------------------------------------------------


@dataclass
class Bench:
    args: argparse.Namespace
    work: Path
    services: Services
    impls: dict[str, Impl]
    baselines: dict[str, Impl]
    configs: dict[tuple[str, str], Path] = field(default_factory=dict)
    cold_heat: dict[str, dict[str, int]] = field(default_factory=dict)
    daemon: dict[str, float] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    floor: list[float] = field(default_factory=list)  # seconds, one per round
    serial: list[float] = field(default_factory=list)  # seconds: two requests alone, per round

    def errfile(self) -> str:
        return str(self.work / "stderr.txt")

    def stderr_tail(self) -> str:
        with open(self.errfile(), errors="replace") as handle:
            return "".join(handle.readlines()[-8:])

    def run(self, impl: Impl, extra: list[str], expect: tuple[int, ...]) -> Sample:
        self.services.ec2.reset()
        self.services.ec2_big.reset()
        before = self.services.counts()
        wall, cpu, maxrss, status = spawn([*impl.argv, *extra], impl.env, self.errfile())
        after = self.services.counts()
        requests = {key: after[key] - before[key] for key in after}
        peak = max(self.services.ec2.peak(), self.services.ec2_big.peak())
        sample = Sample(wall, cpu, maxrss, status, requests, peak)
        if status not in expect or (impl.name == ORIG and "Unavailable" in self.stderr_tail()):
            raise RuntimeError(
                f"{impl.name} {' '.join(extra)}: exit {status}, expected {expect}\n"
                + self.stderr_tail()
            )
        return sample

    def pass_args(self, case: str, impl: Impl) -> list[str]:
        return [*impl.mode, "--config-file", str(self.configs[(case, impl.name)])]

    def prepare(self, case: str, impl: Impl) -> None:
        """Create the case's instance and bring it to the state the case measures."""
        root = self.work / "instances" / f"{CASES.index(case)}-{IMPLS.index(impl.name)}"
        self.configs[(case, impl.name)] = make_instance(case, root, self.services, impl.name)
        if case in WALKS:
            return
        # First pass (changed), then commit: every later pass is the idle one.
        first = self.run(impl, self.pass_args(case, impl), (0,))
        if case == IDLE_HEAT:
            self.cold_heat[impl.name] = first.requests
        if impl.name != ORIG:
            commit = ["commit", "--config-file", str(self.configs[(case, impl.name)])]
            self.run(impl, commit, (0,))

    def measure(self, case: str, impl: Impl) -> Sample:
        args = self.pass_args(case, impl)
        if case in WALKS:
            shutil.rmtree(self.configs[(case, impl.name)].parent / "cache", ignore_errors=True)
            shutil.rmtree(self.configs[(case, impl.name)].parent / "backup", ignore_errors=True)
            self.services.ec2.reset(0.010 if case == WALK_10 else 0.0)
            try:
                return self.run(impl, args, (0,))
            finally:
                self.services.ec2.reset(self.services.latency)
        return self.run(impl, args, (0,) if impl.name == ORIG else (100,))

    def rounds(self, count: int) -> None:
        for impl in self.impls.values():
            for case in CASES:
                self.prepare(case, impl)
        # An instance idles for hours between changes; files written a moment ago are not
        # vouched for by occ's idle check (doc/performance.rst, "The idle check").
        time.sleep(SETTLE_SECONDS + 0.5)
        for impl in self.impls.values():
            for case in CASES:
                self.measure(case, impl)  # warm-up, not recorded
        print(f"instances prepared ({elapsed()})", file=sys.stderr, flush=True)
        for number in range(count):
            order = list(BASELINES)
            random.Random(number).shuffle(order)
            for name in order:
                impl = self.baselines[name]
                impl.samples.setdefault(name, []).append(self.run(impl, [], (0,)))
            for case in CASES:
                names = list(IMPLS)
                shift = number % len(names)
                for name in names[shift:] + names[:shift]:
                    impl = self.impls[name]
                    impl.samples.setdefault(case, []).append(self.measure(case, impl))
            self.measure_floor()
            print(f"round {number + 1}/{count} done ({elapsed()})", file=sys.stderr, flush=True)

    def measure_floor(self) -> None:
        """Time a bare client's walk of the same number of requests at 10 ms (see floor_walk),
        and two requests one after the other: a walk's token request and root listing, which
        nothing else can accompany."""
        ec2 = self.services.ec2
        paths = floor_paths(ec2.root, self.services.ec2_keys)
        ec2.reset(0.010)
        try:
            self.floor.append(floor_walk(ec2.url, paths))
            self.serial.append(floor_walk(ec2.url, paths[:2], workers=1))
        finally:
            ec2.reset(self.services.latency)

    def run_daemon(self, polls: int, warm: int) -> None:
        """Run the original in continuous mode for ``warm + polls`` heat polls; record CPU per
        poll and Keystone requests per poll over the last ``polls``, and its resident memory."""
        impl = self.impls[ORIG]
        root = self.work / "instances" / "daemon"
        config = make_instance("daemon", root, self.services, ORIG)
        metadata = "/resources/server/metadata"

        def polled() -> int:
            return sum(1 for r in self.services.heat.requests if r.path.endswith(metadata))

        argv = [*impl.argv, "--config-file", str(config)]
        process = subprocess.Popen(
            argv,
            env=impl.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=open(self.errfile(), "w"),  # noqa: SIM115 - closed with the process
        )
        try:
            start_polls = polled()

            def wait_for(count: int) -> None:
                deadline = time.monotonic() + 60 + count * 5
                while polled() - start_polls < count:
                    if process.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(
                            "the original's daemon stopped polling\n" + self.stderr_tail()
                        )
                    time.sleep(0.01)

            wait_for(warm)
            cpu0, ks0, polls0 = task_cpu(process.pid), self.services.counts(), polled()
            wait_for(warm + polls)
            cpu1, ks1, polls1 = task_cpu(process.pid), self.services.counts(), polled()
            status = Path(f"/proc/{process.pid}/status").read_text()
        finally:
            process.terminate()
            process.wait(timeout=30)
        done = polls1 - polls0
        self.daemon = {
            "polls": done,
            "cpu": (cpu1 - cpu0) / done,
            "rss": proc_kib(status, "VmRSS"),
            "hwm": proc_kib(status, "VmHWM"),
            "keystone": (ks1["keystone"] - ks0["keystone"]) / done,
            "keystone-tokens": (ks1["keystone-tokens"] - ks0["keystone-tokens"]) / done,
            "heat": (ks1["heat"] - ks0["heat"]) / done,
        }


STARTED = time.monotonic()


def floor_paths(root: Path, count: int) -> list[str]:
    """Return ``count`` paths the EC2 fake under ``root`` answers (its tree's, repeated)."""
    from tests.perf.ec2_server import answers

    tree = sorted(p for p in answers(str(root)) if p.startswith("/latest/meta-data/"))
    return [tree[n % len(tree)] for n in range(count)]


def floor_walk(url: str, paths: list[str], workers: int = 8) -> float:
    """Return the seconds a bare client takes to GET ``paths``: a request written and its
    answer read by its Content-Length on kept-alive sockets in ``workers`` threads, nothing
    else, no interpreter to start. No walk with as many requests and at most ``workers`` in
    flight can be faster against the fake, here."""
    import queue
    import socket
    import threading
    import urllib.parse

    parts = urllib.parse.urlsplit(url)
    todo: queue.SimpleQueue[str] = queue.SimpleQueue()
    for path in paths:
        todo.put(path)

    def work() -> None:
        sock = socket.create_connection((parts.hostname or "", parts.port or 80), timeout=30)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        pending = b""
        with sock, contextlib.suppress(queue.Empty):
            while True:
                path = todo.get_nowait().encode()
                sock.sendall(b"GET %s HTTP/1.1\r\nHost: fake\r\n\r\n" % path)
                while b"\r\n\r\n" not in pending:
                    pending += sock.recv(65536)
                head, _, pending = pending.partition(b"\r\n\r\n")
                declared = re.search(rb"(?i)content-length: *(\d+)", head)
                length = int(declared.group(1)) if declared else 0
                while len(pending) < length:
                    pending += sock.recv(65536)
                pending = pending[length:]

    threads = [threading.Thread(target=work) for _ in range(workers)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.monotonic() - started


def elapsed() -> str:
    return f"{time.monotonic() - STARTED:.0f} s"


def task_cpu(pid: int) -> float:
    """Return the CPU seconds of all threads of ``pid`` (schedstat: nanoseconds on a CPU)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            total += int((task / "schedstat").read_text().split()[0])
    return total / 1e9


def proc_kib(status: str, key: str) -> int:
    match = re.search(rf"^{key}:\s+(\d+) kB", status, re.M)
    return int(match.group(1)) if match else 0


# -- installing ----------------------------------------------------------------------------


def pip(venv: Path, *args: str) -> None:
    log = venv / "pip.log"
    with open(log, "a") as handle:
        result = subprocess.run(
            [str(venv / "bin" / "python"), "-m", "pip", "--disable-pip-version-check", *args],
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
    if result.returncode != 0:
        raise InstallError(f"pip {' '.join(args)} failed; see {log}")


class InstallError(Exception):
    pass


def make_venv(venv: Path, python: str) -> None:
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.run([python, "-m", "venv", str(venv)], check=True)


def install_original(python: str) -> Path:
    """Return the original's script, installing it into .venv-original unless it is there."""
    marker = ORIGINAL_VENV / "installed"
    script = ORIGINAL_VENV / "bin" / "os-collect-config"
    if marker.exists() and marker.read_text() == f"{ORIGINAL} {python}\n" and script.exists():
        return script
    print(f"installing {ORIGINAL} from PyPI into {ORIGINAL_VENV} ...", file=sys.stderr)
    make_venv(ORIGINAL_VENV, python)
    pip(ORIGINAL_VENV, "install", ORIGINAL)
    marker.write_text(f"{ORIGINAL} {python}\n")
    return script


def install_project(python: str, work: Path) -> tuple[Path, Path]:
    """Install the work tree into .venv-bench as users do (pip install, console script), and
    return the script and a directory holding only the ``occ`` package (for the launcher)."""
    source = work / "source"
    source.mkdir()
    for name in ("setup.py", "pyproject.toml", "README.rst", "LICENSE"):
        shutil.copy2(REPO / name, source / name)
    shutil.copytree(REPO / "occ", source / "occ", ignore=shutil.ignore_patterns("__pycache__"))
    marker = BENCH_VENV / "installed"
    if marker.exists() and marker.read_text() == f"{python}\n":
        pip(BENCH_VENV, "install", "--no-deps", "--force-reinstall", str(source))
    else:
        print(f"creating {BENCH_VENV} ...", file=sys.stderr)
        make_venv(BENCH_VENV, python)
        pip(BENCH_VENV, "install", str(source))
        marker.write_text(f"{python}\n")
    site = next((BENCH_VENV / "lib").glob("python3*/site-packages"))
    system_path = work / "system-path"
    system_path.mkdir()
    (system_path / "occ").symlink_to(site / "occ")
    return BENCH_VENV / "bin" / "os-collect-config", system_path


def pypi_reachable() -> bool:
    with tempfile.TemporaryDirectory() as directory:
        result = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "-d", directory, ORIGINAL],
            capture_output=True,
            timeout=300,
        )
    return result.returncode == 0


def utf8_locale() -> tuple[dict[str, str], str]:
    """Return the environment for a UTF-8 locale other than C.UTF-8, and a note saying where
    it came from: the system's en_US.UTF-8, or one compiled into .venv-original/locale."""
    listed = subprocess.run(["locale", "-a"], capture_output=True, text=True).stdout.split()
    if "en_US.utf8" in listed:
        return {"LANG": "en_US.UTF-8"}, "locale: en_US.UTF-8 (the system's)"
    directory = ORIGINAL_VENV / "locale"
    compiled = directory / "en_US.UTF-8"
    if not (compiled / "LC_CTYPE").exists():
        if not shutil.which("localedef"):
            raise InstallError("localedef not found: apt-get install locales")
        directory.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["localedef", "-i", "en_US", "-f", "UTF-8", str(compiled)],
            check=True,
            capture_output=True,
        )
    note = (
        f"locale: en_US.UTF-8 compiled with localedef into {compiled.relative_to(REPO)} "
        "(LOCPATH): the original's local collector fails under C.UTF-8"
    )
    return {"LANG": "en_US.UTF-8", "LOCPATH": str(directory)}, note


# -- statistics and the report -------------------------------------------------------------


def med(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def stats(samples: list[Sample]) -> dict[str, Any]:
    walls = [s.wall for s in samples]
    cpus = [s.cpu for s in samples]
    requests = {key: med([s.requests[key] for s in samples]) for key in samples[0].requests}
    return {
        "n": len(samples),
        "wall": med(walls),
        "wall_min": min(walls),
        "wall_max": max(walls),
        "cpu": med(cpus),
        "cpu_min": min(cpus),
        "cpu_max": max(cpus),
        "rss": max(s.maxrss for s in samples) / 1024,
        "requests": requests,
        "in_flight": max(s.in_flight for s in samples),
    }


def ms(value: float) -> str:
    return f"{value * 1000:.1f}"


def spread(row: dict[str, Any], key: str) -> str:
    return f"{ms(row[key + '_min'])}-{ms(row[key + '_max'])}"


def requests_text(requests: dict[str, float], case: str = "") -> str:
    parts = []
    for service in SERVICES:
        count = requests.get(service, 0)
        if count or (case in KEEP and service in ("heat", "keystone", "request", "ec2")):
            text = f"{service} {count:g}"
            if service == "request" and requests.get("304"):
                text += f" ({requests['304']:g}x304)"
            parts.append(text)
    return ", ".join(parts) or "none"


def rst_table(headers: list[str], rows: list[list[str]]) -> str:
    """Return an RST simple table (readable as plain text too)."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows)]
    rule = "  ".join("=" * width for width in widths)

    def line(cells: list[str]) -> str:
        return "  ".join(str(c).ljust(w) for c, w in zip(cells, widths)).rstrip()

    return "\n".join([rule, line(headers), rule, *(line(r) for r in rows), rule])


@dataclass
class Results:
    rows: dict[tuple[str, str], dict[str, Any]]  # (case, impl) -> stats
    baselines: dict[str, dict[str, Any]]
    daemon: dict[str, float]
    cold_heat: dict[str, dict[str, int]]
    ec2_keys: int
    ec2_big_keys: int
    rounds: int
    python: str
    note: str
    floor: float = 0.0  # seconds: the bare client's 10 ms walk (floor_walk), median
    serial: float = 0.0  # seconds: two requests in a row at 10 ms (floor_walk), median

    def baseline_for(self, case: str, impl: str) -> str | None:
        pair = CASE_BASELINE.get(case)
        if not pair:
            return None
        return pair[1] if impl == OCC_SYSTEM else pair[0]


def main_table(results: Results) -> str:
    headers = [
        "case",
        "implementation",
        "wall ms",
        "spread",
        "CPU ms",
        "spread",
        "RSS MiB",
        "requests per pass",
        "x baseline",
        "vs original",
    ]
    rows = []
    for name in BASELINES:
        row = results.baselines[name]
        rows.append(
            [
                "baseline",
                name,
                ms(row["wall"]),
                spread(row, "wall"),
                ms(row["cpu"]),
                spread(row, "cpu"),
                f"{row['rss']:.1f}",
                "",
                "",
                "",
            ]
        )
    for case in CASES:
        original = results.rows[(case, ORIG)]
        for impl in IMPLS:
            row = results.rows[(case, impl)]
            base = results.baseline_for(case, impl)
            ratio = ""
            if base:
                ratio = f"{row['wall'] / results.baselines[base]['wall']:.2f}x"
                ratio += " pass" if "pass" in base else " req"
            versus = ""
            if impl != ORIG:
                versus = f"{original['wall'] / row['wall']:.1f}x faster"
                versus += f", CPU {original['cpu'] / row['cpu']:.1f}x less"
            requests = requests_text(row["requests"], case)
            if case in WALKS:
                requests += f"; {row['in_flight']} in flight"
            if case == WALK_BIG:
                requests += f"; {walk_cpu(results, impl) * 1e6:.0f} us CPU/request"
            rows.append(
                [
                    case,
                    impl,
                    ms(row["wall"]),
                    spread(row, "wall"),
                    ms(row["cpu"]),
                    spread(row, "cpu"),
                    f"{row['rss']:.1f}",
                    requests,
                    ratio,
                    versus,
                ]
            )
    daemon = results.daemon
    if daemon:
        rows.append(
            [
                f"daemon: heat poll, warm ({daemon['polls']:g} polls)",
                ORIG,
                "",
                "",
                f"{daemon['cpu'] * 1000:.1f}",
                "",
                f"{daemon['rss'] / 1024:.1f} resident",
                f"keystone {daemon['keystone']:g}, heat {daemon['heat']:g}",
                "",
                "",
            ]
        )
    for impl in IMPLS:
        peak = max(results.rows[(case, impl)]["rss"] for case in CASES)
        rows.append(["peak RSS of any pass", impl, "", "", "", "", f"{peak:.1f}", "", "", ""])
    return rst_table(headers, rows)


def walk_cpu(results: Results, impl: str) -> float:
    """Return the CPU seconds one more request costs a cold walk: the CPU of the larger tree's
    walk less the smaller one's, over the requests it made beyond them. Whatever a pass costs
    whatever the tree (start-up, the configuration drive's check, the cache, the hook) cancels
    out, for each program alike; both walks run at 0 ms. (Noise can make it negative.)"""
    small, big = results.rows[(WALK_0, impl)], results.rows[(WALK_BIG, impl)]
    extra = big["requests"]["ec2"] - small["requests"]["ec2"]
    return (big["cpu"] - small["cpu"]) / max(1, extra)


def targets(results: Results) -> list[tuple[str, str, bool]]:
    """Return (target, measured, met) for issue 12's table, for the packaged launcher (the
    interpreter the units use) and the venv script."""
    out = []
    rows = results.rows
    base = results.baselines
    for impl in OCCS:

        def ratio(case: str, impl: str = impl) -> float:
            name = results.baseline_for(case, impl)
            return rows[(case, impl)]["wall"] / base[name or PASS]["wall"]

        local, request, heat = ratio(IDLE_LOCAL), ratio(IDLE_REQUEST), ratio(IDLE_HEAT)
        heat_vs = rows[(IDLE_HEAT, ORIG)]["wall"] / rows[(IDLE_HEAT, impl)]["wall"]
        walk = rows[(WALK_10, impl)]
        walk_orig = rows[(WALK_10, ORIG)]
        walk_vs = walk_orig["wall"] / walk["wall"]
        # The best any client could do here: the bare walk plus an interpreter's start; and
        # the best a walk can do that sends the token request and then the root listing
        # alone, as the contract's IMDSv2 policy and the tree's shape make it.
        floor = results.floor + base[PASS]["wall"]
        best = f"; floor {walk_orig['wall'] / floor:.1f}x" if results.floor else ""
        if results.floor and results.serial:
            best += f", {walk_orig['wall'] / (floor + results.serial):.1f}x with 2 alone"

        cpu, cpu_orig = walk_cpu(results, impl), walk_cpu(results, ORIG)
        peak = max(rows[(case, impl)]["rss"] for case in CASES)
        out += [
            (f"{impl}: idle local <= 2.0x pass", f"{local:.2f}x", local <= 2.0),
            (f"{impl}: idle request <= 1.2x import requests", f"{request:.2f}x", request <= 1.2),
            (f"{impl}: idle heat <= 1.2x import requests", f"{heat:.2f}x", heat <= 1.2),
            (f"{impl}: idle heat >= 3x faster than original", f"{heat_vs:.1f}x", heat_vs >= 3),
            (
                f"{impl}: cold walk at 10 ms >= 8x faster, <= 8 in flight",
                f"{walk_vs:.1f}x, {walk['in_flight']} in flight{best}",
                walk_vs >= 8 and walk["in_flight"] <= 8,
            ),
            (
                f"{impl}: walk CPU per request <= 0.5x original's (0 ms, marginal)",
                # Both walks' noise is in a difference: a non-positive one measured nothing.
                f"{cpu / cpu_orig:.2f}x" if cpu > 0 and cpu_orig > 0 else "no signal",
                0 < cpu <= 0.5 * cpu_orig,
            ),
            (f"{impl}: peak RSS <= 35 MiB", f"{peak:.1f} MiB", peak <= 35),
        ]
    return out


def targets_table(results: Results) -> str:
    rows = [[t, m, "met" if ok else "NOT met"] for t, m, ok in targets(results)]
    return rst_table(["target (issue 12)", "measured", ""], rows)


def keystone_reuse_window() -> tuple[float, str]:
    """Return how long this project reuses a token, from its own defaults and Keystone's."""
    try:
        from occ.collectors.keystone.token_cache import EXPIRY_MARGIN
        from occ.config.options import SECTIONS

        ttl = next(o.default for o in SECTIONS["keystone"] if o.name == "cache_ttl")
        margin = float(EXPIRY_MARGIN)
    except (ImportError, StopIteration, KeyError):
        ttl, margin = 1800, 300.0
    window = min(KEYSTONE_TOKEN_LIFETIME - margin, float(ttl))  # type: ignore[arg-type]
    note = (
        f"a token is reused for min(lifetime {KEYSTONE_TOKEN_LIFETIME:g} s - margin {margin:g} s,"
        f" [keystone] cache_ttl {ttl} s) = {window:g} s"
    )
    return window, note


def fleet(results: Results) -> dict[str, Any]:
    """Return the fleet model's figures per implementation, from the measured ones."""
    window, window_note = keystone_reuse_window()
    day = 86400.0
    passes = day / INTERVAL
    rows = results.rows
    models = {}
    for impl in (OCC_SYSTEM, OCC_VENV):
        idle = rows[(IDLE_HEAT, impl)]
        cold = results.cold_heat[impl]
        models[f"this project, {impl.split('(')[1].rstrip(')')}"] = {
            "heat": idle["requests"]["heat"] / INTERVAL,
            "keystone": idle["requests"]["keystone"] / INTERVAL + cold["keystone"] / window,
            "tokens_day": idle["requests"]["keystone-tokens"] * passes
            + cold["keystone-tokens"] * day / window,
            "cpu_day": idle["cpu"] * passes,
            "rss": idle["rss"],
            "rss_avg": idle["rss"] * idle["wall"] / INTERVAL,
            "wall": idle["wall"],
            "passes_burst_heat": idle["requests"]["heat"],
            "passes_burst_keystone": cold["keystone"],
        }
    orig = rows[(IDLE_HEAT, ORIG)]
    daemon = results.daemon
    if daemon:
        models["original, daemon"] = {
            "heat": daemon["heat"] / INTERVAL,
            "keystone": daemon["keystone"] / INTERVAL,
            "tokens_day": daemon["keystone-tokens"] * passes,
            "cpu_day": daemon["cpu"] * passes,
            "rss": daemon["rss"] / 1024,
            "rss_avg": daemon["rss"] / 1024,
            "wall": orig["wall"],
            "passes_burst_heat": daemon["heat"],
            "passes_burst_keystone": daemon["keystone"],
        }
    models["original, one-shot"] = {
        "heat": orig["requests"]["heat"] / INTERVAL,
        "keystone": orig["requests"]["keystone"] / INTERVAL,
        "tokens_day": orig["requests"]["keystone-tokens"] * passes,
        "cpu_day": orig["cpu"] * passes,
        "rss": orig["rss"],
        "rss_avg": orig["rss"] * orig["wall"] / INTERVAL,
        "wall": orig["wall"],
        "passes_burst_heat": orig["requests"]["heat"],
        "passes_burst_keystone": orig["requests"]["keystone"],
    }
    return {"window": window, "window_note": window_note, "models": models}


def fleet_table(results: Results, sizes: tuple[int, ...] = (1000, 10000)) -> str:
    model = fleet(results)
    headers = [
        "instances",
        "implementation",
        "Heat req/s",
        "Keystone req/s",
        "tokens/day",
        "CPU s/instance/day",
        "CPU cores",
        "RSS MiB/instance",
        "fleet RSS GiB",
    ]
    rows = []
    for size in sizes:
        for name, m in model["models"].items():
            resident = (
                f"{m['rss']:.0f} always"
                if "daemon" in name
                else f"{m['rss']:.0f} for {m['wall'] * 1000:.0f} ms"
            )
            rows.append(
                [
                    f"{size:,}",
                    name,
                    f"{size * m['heat']:.1f}",
                    f"{size * m['keystone']:.2f}",
                    f"{size * m['tokens_day']:,.0f}",
                    f"{m['cpu_day']:.0f}",
                    f"{size * m['cpu_day'] / 86400:.2f}",
                    resident,
                    f"{size * m['rss_avg'] / 1024:.2f}",
                ]
            )
    return rst_table(headers, rows)


def simulate(
    instances: int,
    splay: float,
    walls: float,
    *,
    daemon: bool = False,
    boot_spread: float = 10.0,
    horizon: float = 3600.0,
    seed: int = 12,
) -> tuple[list[int], list[int]]:
    """Return the passes started in each second after a region-wide reboot, for the first and
    the last 10 minutes of ``horizon``.

    Timer (``daemon`` false): first pass at boot (OnBootSec=0) plus RandomizedDelaySec, then
    OnUnitInactiveSec=30 after the end of each pass, again plus a fresh random delay of up to
    ``splay``. The original's daemon: one random sleep of up to its ``splay`` at start, then
    sleeps of 1, 2, 4 ... up to 30 s between passes.
    """
    rng = random.Random(seed)
    first = [0] * 600
    last = [0] * 600
    for _ in range(instances):
        t = rng.uniform(0, boot_spread) + rng.uniform(0, splay)
        sleep = 1.0
        while t < horizon:
            second = int(t)
            if second < 600:
                first[second] += 1
            elif second >= horizon - 600:
                last[int(second - (horizon - 600))] += 1
            if daemon:
                t += walls + sleep
                sleep = min(sleep * 2, INTERVAL)
            else:
                t += walls + INTERVAL + rng.uniform(0, splay)
    return first, last


def splay_table(results: Results, size: int = 10000) -> str:
    model = fleet(results)["models"]
    headers = [
        "implementation",
        "splay s",
        "first 10 min: peak passes/s",
        "peak Heat req/s",
        "peak Keystone req/s (tokens expired)",
        "an hour later: peak passes/s",
        "mean passes/s",
    ]
    rows = []
    occ = model.get("this project, packaged launcher") or next(iter(model.values()))
    cases = [("this project (timer)", occ, splay, False) for splay in (0, 10, 30)]
    if "original, daemon" in model:
        cases.append(("original, daemon", model["original, daemon"], 0, True))
    for name, m, splay, daemon in cases:
        first, last = simulate(size, splay, m["wall"], daemon=daemon)
        peak_first, peak_last = max(first), max(last)
        keystone = m["passes_burst_keystone"]
        rows.append(
            [
                name,
                f"{splay:g}",
                f"{peak_first:,}",
                f"{peak_first * m['passes_burst_heat']:,.0f}",
                f"{peak_first * keystone:,.0f}",
                f"{peak_last:,}",
                f"{sum(last) / 600:,.0f}",
            ]
        )
    return rst_table(headers, rows)


# -- import time ---------------------------------------------------------------------------


# Modules worth naming on an idle path: present or not, and what they cost.
NOTABLE = (
    "argparse", "logging", "logging.handlers", "logging.config", "json", "enum", "typing",
    "dataclasses", "pathlib", "tempfile", "shutil", "zipfile", "importlib.resources",
    "importlib.metadata", "traceback", "urllib.parse", "locale", "hashlib", "subprocess",
    "concurrent.futures", "threading", "ssl", "http.client", "email.parser", "dateutil",
    "requests", "urllib3", "charset_normalizer", "chardet", "idna", "certifi",
)  # fmt: skip


def import_times(
    bench: Bench, case: str, impl: Impl, runs: int = 5
) -> tuple[dict[str, tuple[int, int, int]], list[str], int]:
    """Return {module: (self us, cumulative us, depth)} of an idle pass under ``python -X
    importtime`` (the least of ``runs`` runs each), the modules in import order, and the total
    import time in us (the top-level imports' cumulative times added up)."""
    best: dict[str, tuple[int, int, int]] = {}
    order: list[str] = []
    script = impl.argv[-1]
    if impl.name == OCC_VENV:
        prefix = [str(BENCH_VENV / "bin" / "python"), "-X", "importtime"]
    else:
        prefix = [bench.args.python, "-s", "-X", "importtime"]
    for _ in range(runs):
        spawn([*prefix, script, *bench.pass_args(case, impl)], impl.env, bench.errfile())
        with open(bench.errfile()) as handle:
            for line in handle:
                match = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
                if not match:
                    continue
                own, cumulative, depth = int(match[1]), int(match[2]), len(match[3]) // 2
                name = match[4]
                if name not in best:
                    order.append(name)
                    best[name] = (own, cumulative, depth)
                else:
                    old = best[name]
                    best[name] = (min(old[0], own), min(old[1], cumulative), old[2])
    total = sum(value[1] for value in best.values() if value[2] == 0)
    return best, order, total


def importtime_section(bench: Bench, impl_name: str = OCC_SYSTEM) -> str:
    impl = bench.impls[impl_name]
    parts = []
    for case in (IDLE_LOCAL, IDLE_HEAT):
        best, order, total = import_times(bench, case, impl)
        wall = bench_results_wall(bench, case, impl_name)
        largest = sorted(order, key=lambda name: -best[name][1])[:25]
        rows = [
            [
                "  " * best[name][2] + name,
                f"{best[name][1] / 1000:.1f}",
                f"{best[name][0] / 1000:.1f}",
            ]
            for name in sorted(largest, key=order.index)
        ]
        notable = [
            [name, f"{best[name][1] / 1000:.1f}" if name in best else "not imported"]
            for name in NOTABLE
        ]
        parts.append(
            para(
                f"**{case}**, {impl_name}: imports take {total / 1000:.1f} ms of a "
                f"{wall * 1000:.0f} ms pass ({len(order)} modules; least of 5 runs of ``-X "
                "importtime``). The 25 largest by cumulative time, in import order, indented "
                "as nested::"
            )
            + "\n\n"
            + indent(rst_table(["module", "cumulative ms", "self ms"], rows))
            + "\n\nNotable modules (cumulative ms, where this pass imports them first)::\n\n"
            + indent(rst_table(["module", "cumulative ms"], notable))
        )
    return "\n\n".join(parts)


def bench_results_wall(bench: Bench, case: str, impl: str) -> float:
    samples = bench.impls[impl].samples.get(case)
    return med([s.wall for s in samples]) if samples else float("nan")


# -- documents -----------------------------------------------------------------------------

COMMAND = "python3 tests/perf/bench.py --write-doc"


def environment_line(results: Results) -> str:
    cpus = os.cpu_count()
    return (
        f"{results.rounds} rounds, {results.python} "
        f"(Python {sys.version_info.major}.{sys.version_info.minor} runs the benchmark), "
        f"{cpus} CPUs, EC2 trees of {results.ec2_keys} and {results.ec2_big_keys} requests, "
        f"{time.strftime('%Y-%m-%d')}; "
        f"{results.note}"
    )


def generated_doc(results: Results, imports: str) -> str:
    model = fleet(results)
    return "\n\n".join(
        [
            para(
                f"Measured with ``{COMMAND}``: {environment_line(results)}. "
                "Every case, interleaved::"
            ),
            indent(main_table(results)),
            "Issue 12's targets::\n\n" + indent(targets_table(results)),
            "Fleet model\n~~~~~~~~~~~",
            para(
                f"Every instance polls Heat every {INTERVAL:g} s; {model['window_note']}. Figures "
                "per pass are the medians above; the daemon's are its warm polls. Resident memory "
                "of a one-shot pass is held only while it runs (the fleet column averages it over "
                "the interval); the daemon holds its memory all the time::"
            ),
            indent(fleet_table(results)),
            para(
                "After a region-wide reboot (10,000 instances booting within 10 s, every token "
                "expired: each first pass logs in). The timer's ``RandomizedDelaySec=`` "
                "(``splay``) delays every pass, the first one included, by a fresh random amount, "
                "so the instances drift apart; without it they stay in step. The original's daemon "
                "sleeps 1, 2, 4 ... 30 s between its first passes, and only its first sleep has a "
                "splay. Simulated from the measured pass times and request counts::"
            ),
            indent(splay_table(results)),
            "Import time\n~~~~~~~~~~~",
            imports or "(not measured in this run)",
        ]
    )


def para(text: str) -> str:
    return textwrap.fill(text, width=100, break_on_hyphens=False, break_long_words=False)


def indent(text: str) -> str:
    return "\n".join("    " + line if line else "" for line in text.splitlines())


def replace_between(path: Path, begin: str, end: str, text: str) -> None:
    content = path.read_text()
    start = content.index(begin) + len(begin)
    stop = content.index(end)
    path.write_text(content[:start] + "\n\n" + text.strip("\n") + "\n\n" + content[stop:])


DOC_BEGIN = ".. generated by tests/perf/bench.py: begin"
DOC_END = ".. generated by tests/perf/bench.py: end"


def readme_table(results: Results) -> str:
    return (
        para(f"``{COMMAND}`` ({environment_line(results)})::")
        + "\n\n"
        + indent(main_table(results))
        + "\n\n::\n\n"
        + indent(targets_table(results))
    )


# -- main ----------------------------------------------------------------------------------


def collect_results(bench: Bench, rounds: int, note: str) -> Results:
    rows = {}
    for impl in bench.impls.values():
        for case in CASES:
            rows[(case, impl.name)] = stats(impl.samples[case])
    baselines = {name: stats(bench.baselines[name].samples[name]) for name in BASELINES}
    return Results(
        rows, baselines, bench.daemon, bench.cold_heat, bench.services.ec2_keys,
        bench.services.ec2_big_keys, rounds,
        bench.args.python, note, med(bench.floor) if bench.floor else 0.0,
        med(bench.serial) if bench.serial else 0.0,
    )  # fmt: skip


def check_quick(results: Results) -> list[str]:
    """Return what the smoke mode finds wrong: a row that did not run, or requests per idle
    pass other than the "keep" row."""
    problems = []
    for case in CASES:
        for impl in IMPLS:
            if results.rows.get((case, impl), {}).get("n", 0) < 1:
                problems.append(f"{case}: {impl} did not run")
    for case, expected in KEEP.items():
        for impl in OCCS:
            got = results.rows[(case, impl)]["requests"]
            for key, count in expected.items():
                if got.get(key) != count:
                    problems.append(f"{case}, {impl}: {key} {got.get(key)} per pass, keep {count}")
    for impl in OCCS:
        for case in WALKS:
            row = results.rows[(case, impl)]
            least = results.ec2_big_keys if case == WALK_BIG else results.ec2_keys
            if row["requests"]["ec2"] < least:
                problems.append(f"{case}, {impl}: {row['requests']['ec2']} requests")
    if not results.daemon or results.daemon["polls"] < 1:
        problems.append("the original's daemon made no poll")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_python = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
    parser.add_argument("--rounds", type=int, default=7, help="rounds of every case (7)")
    parser.add_argument(
        "--python",
        default=default_python,
        help="the interpreter the units use, for both virtualenvs and the packaged launcher "
        f"(default {default_python})",
    )
    parser.add_argument("--latency", type=float, default=0.0, help="ms added per answer (idle)")
    parser.add_argument("--daemon-polls", type=int, default=40, help="daemon polls measured")
    parser.add_argument(
        "--quick", action="store_true", help="smoke mode for CI: 1 round, assert counts"
    )
    parser.add_argument(
        "--write-doc",
        action="store_true",
        help="rewrite the generated parts of doc/performance.rst and README.rst",
    )
    parser.add_argument("--print-doc", action="store_true", help="print doc/performance.rst's part")
    parser.add_argument("--json", help="also write the measured figures to this file")
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.daemon_polls = 1, 4
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    args.python = os.path.abspath(args.python)

    with (
        tempfile.TemporaryDirectory(prefix="occ-bench-") as directory,
        tempfile.TemporaryDirectory(prefix="occ-bench-run-", dir=volatile_parent()) as volatile,
    ):
        global VOLATILE
        VOLATILE = Path(volatile)
        work = Path(directory)
        os.chdir(work)  # nothing of the work tree on sys.path through the working directory
        try:
            original = install_original(args.python)
            locale_env, note = utf8_locale()
            script, system_path = install_project(args.python, work)
        except InstallError as error:
            if not ORIGINAL_VENV.joinpath("installed").exists() and not pypi_reachable():
                print(f"PyPI unreachable: {error}", file=sys.stderr)
                return UNREACHABLE
            raise
        print(f"{note} (installed: {elapsed()})", file=sys.stderr)
        launcher = work / "os-collect-config"
        text = LAUNCHER.read_text().split("\n", 1)[1]
        launcher.write_text(f"#!{args.python} -s\n{text}")
        launcher.chmod(0o755)
        base_env = {"PATH": "/usr/bin:/bin", "HOME": str(work), **locale_env}
        venv_python = str(BENCH_VENV / "bin" / "python")
        impls = {
            OCC_VENV: Impl(OCC_VENV, [str(script)], ["collect"], base_env),
            OCC_SYSTEM: Impl(
                OCC_SYSTEM,
                [str(launcher)],
                ["collect"],
                {**base_env, "PYTHONPATH": str(system_path)},
            ),
            ORIG: Impl(ORIG, [str(original)], ["--one-time"], base_env),
        }
        baselines = {
            PASS: Impl(PASS, [venv_python, "-c", "pass"], [], base_env),
            REQUESTS: Impl(REQUESTS, [venv_python, "-c", "import requests"], [], base_env),
            SYS_PASS: Impl(SYS_PASS, [args.python, "-s", "-c", "pass"], [], base_env),
            SYS_REQUESTS: Impl(
                SYS_REQUESTS, [args.python, "-s", "-c", "import requests"], [], base_env
            ),
        }
        global spawn
        spawn = Spawner(args.python)
        with Services(work, args.latency / 1000) as services:
            bench = Bench(args, work, services, impls, baselines)
            bench.rounds(args.rounds)
            bench.run_daemon(args.daemon_polls, warm=3)
            print(f"daemon done ({elapsed()})", file=sys.stderr)
            results = collect_results(bench, args.rounds, note)
            imports = ""
            if args.write_doc or args.print_doc:
                imports = importtime_section(bench)
        spawn.close()
    print(main_table(results))
    print()
    print(targets_table(results))
    print()
    print(fleet_table(results))
    print()
    print(splay_table(results))
    if args.json:
        dump = {
            "rows": {f"{c} | {i}": row for (c, i), row in results.rows.items()},
            "baselines": results.baselines,
            "daemon": results.daemon,
            "cold_heat": results.cold_heat,
            "fleet": fleet(results),
        }
        Path(args.json).write_text(json.dumps(dump, indent=1))
    if args.print_doc:
        print()
        print(generated_doc(results, imports))
    if args.write_doc:
        replace_between(DOC, DOC_BEGIN, DOC_END, generated_doc(results, imports))
        replace_between(README, PERF_BEGIN, PERF_END, readme_table(results))
        print(f"\nwrote {DOC.relative_to(REPO)} and {README.name}", file=sys.stderr)
    if args.quick:
        problems = check_quick(results)
        for problem in problems:
            print(f"SMOKE FAILURE: {problem}", file=sys.stderr)
        if problems:
            return 1
        print("smoke: every row ran for every implementation; requests per idle pass kept")
    return 0


PERF_BEGIN = ".. perf-table-begin"
PERF_END = ".. perf-table-end"

if __name__ == "__main__":
    sys.exit(main())
