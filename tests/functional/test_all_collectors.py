"""Every collector configured at once against real fake servers, through the real entry point:
outputs land in collector order, a source that is down does not stop the others, and no secret
reaches the logs or a file others can read."""

from __future__ import annotations

import os
import socket
import stat
import textwrap
from pathlib import Path

import pytest

from tests.fakes import cfn as fake_cfn
from tests.fakes import keystone as fake_keystone
from tests.fakes.cfn import FakeCfn
from tests.fakes.ec2 import Ec2Metadata
from tests.fakes.heat import FakeHeat
from tests.fakes.keystone import FakeKeystone
from tests.fakes.server import FakeServer, Reply
from tests.fakes.zaqar import FakeZaqar

STACK = "web-tier-7xk2p"
STACK_ID = "5c2a9e41-8d3b-4f7a-b6e0-91c4d2a8f375"
QUEUE = "occ-queue-1"
TEMP_URL_SIG = "2f8c1e0d9b7a6c5e4d3f2a1b0c9d8e7f6a5b4c3d"


def deployment(name: str, value: object, group: str = "os-apply-config") -> dict:
    return {"name": name, "group": group, "config": value}


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def cloud(tmp_path: Path):
    """Every metadata service an instance may talk to, on 127.0.0.1."""
    tree = tmp_path / "ec2" / "latest" / "meta-data"
    (tree / "placement").mkdir(parents=True)
    (tree / "instance-id").write_text("i-0001")
    (tree / "placement" / "availability-zone").write_text("nova")
    keystone = FakeKeystone()
    heat = FakeHeat(keystone)
    heat.add_stack(
        STACK,
        STACK_ID,
        {"Server": {"heat": True, "deployments": [deployment("heat-dep", {"h": 1})]}},
    )
    cfn = FakeCfn()
    cfn.add_resource(
        STACK,
        "Server",
        {
            "cfn": True,
            "deployments": [
                deployment("cfn-dep", [1, 2]),
                deployment("skipped", {}, group="script"),
            ],
        },
    )
    zaqar = FakeZaqar(keystone)
    zaqar.queues.post(QUEUE, {"zaqar": True, "deployments": [deployment("zaqar-dep", "text")]})
    swift = FakeServer()
    swift.route(
        "/v1/AUTH_p/c/obj",
        Reply.json({"request": True, "deployments": [deployment("request-dep", {"r": 1})]}),
    )
    with Ec2Metadata(str(tmp_path / "ec2")) as ec2, keystone.server, heat.server, cfn, zaqar, swift:
        keystone.add_endpoint("orchestration", heat.endpoint)
        keystone.add_endpoint("messaging", zaqar.url)
        yield {
            "ec2": ec2,
            "keystone": keystone,
            "heat": heat,
            "cfn": cfn,
            "zaqar": zaqar,
            "swift": swift,
        }


def configure(instance, cloud, *, request_url: str) -> None:
    keystone = cloud["keystone"]
    heat = keystone.section("heat", {"stack_id": f"{STACK}/{STACK_ID}", "resource_name": "Server"})
    zaqar = keystone.section("zaqar", {"queue_id": QUEUE})
    # The instance's own file already lists heat_local and local; these are appended.
    instance.write_config(
        extra=textwrap.dedent("""
        [DEFAULT]
        collectors = ec2
        collectors = cfn
        collectors = heat
        collectors = request
        collectors = zaqar

        [ec2]
        metadata_url = {ec2}/latest/meta-data/
        config_drive = false

        [cfn]
        metadata_url = {cfn}
        stack_name = {STACK}
        access_key_id = {key_id}
        secret_access_key = {secret}
        path = Server.Metadata

        [request]
        metadata_url = {request_url}
        """).format(
            ec2=cloud["ec2"].url,
            cfn=cloud["cfn"].metadata_url,
            STACK=STACK,
            request_url=request_url,
            key_id=fake_cfn.ACCESS_KEY_ID,
            secret=fake_cfn.SECRET_ACCESS_KEY,
        )
        + heat
        + zaqar
    )


def names(files: str) -> list[str]:
    return [os.path.basename(path) for path in files.split(":")]


def request_url(cloud) -> str:
    return (
        f"{cloud['swift'].url}/v1/AUTH_p/c/obj?temp_url_sig={TEMP_URL_SIG}"
        "&temp_url_expires=2145916800"
    )


def test_all_sources_land_in_collector_order(occ, instance, cloud):
    instance.set_heat_local({"os-collect-config": {"collectors": ["heat"]}})
    instance.set_local("local.json", {"l": 1})
    configure(instance, cloud, request_url=request_url(cloud))
    occ(*instance.args("--one-time"), check=0)
    assert names(instance.hook_runs()[0]["files"]) == [
        "heat_local.json",
        "local.json.json",
        "ec2.json",
        "cfn.json",
        "cfn-dep.json",
        "heat.json",
        "heat-dep.json",
        "request.json",
        "request-dep.json",
        "zaqar.json",
        "zaqar-dep.json",
    ]
    assert instance.cached("ec2.json") == (
        b'{\n "instance-id": "i-0001",\n "placement": {\n  "availability-zone": "nova"\n }\n}'
    )
    assert instance.cached("cfn-dep.json") == b"[\n 1,\n 2\n]"
    assert instance.cached("zaqar-dep.json") == b'"text"'
    # Nothing changed: no hook, and the zaqar message popped last time stays current.
    occ(*instance.args("--one-time"), check=0)
    assert len(instance.hook_runs()) == 1
    assert (instance.cachedir / "zaqar.json").exists()


def test_a_source_that_is_down_does_not_stop_the_others(occ, instance, cloud):
    configure(instance, cloud, request_url=f"http://127.0.0.1:{closed_port()}/doc")
    instance.set_local("local.json", {"l": 1})
    result = occ(*instance.args("--one-time"), check=0)
    files = names(instance.hook_runs()[0]["files"])
    assert "request.json" not in files
    assert {"ec2.json", "cfn.json", "heat.json", "zaqar.json", "local.json.json"} <= set(files)
    assert "request: source unavailable" in result.stderr


def test_no_secret_reaches_the_logs_or_a_readable_file(occ, instance, cloud):
    configure(instance, cloud, request_url=request_url(cloud))
    log_file = instance.root / "occ.log"
    result = occ(*instance.args("--one-time", "--debug", "--log-file", str(log_file)), check=0)
    secrets = [
        fake_keystone.PASSWORD,
        fake_cfn.SECRET_ACCESS_KEY,
        fake_cfn.ACCESS_KEY_ID,
        TEMP_URL_SIG,
        *cloud["keystone"].history,
    ]
    signatures = [r.query["Signature"][0] for r in cloud["cfn"].requests if "Signature" in r.query]
    assert signatures and cloud["keystone"].history
    logs = result.stderr + log_file.read_text()
    assert "DEBUG" in logs
    for secret in secrets + signatures:
        assert secret not in logs, f"secret leaked into the logs: {secret[:6]}..."
    # Files holding credentials (tokens, metadata with transport settings) are private.
    for directory, _, files in os.walk(instance.cachedir):
        for name in files:
            mode = stat.S_IMODE(os.stat(os.path.join(directory, name)).st_mode)
            assert mode & 0o077 == 0, f"{name} is readable by others: {oct(mode)}"
