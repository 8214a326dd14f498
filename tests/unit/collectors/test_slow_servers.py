"""Every network collector against servers that trickle or stall (tests.fakes.slow): the source
is unavailable, with one line, well within 5 s given a small timeout and pass_timeout, however
the answer dribbles in. Before occ.http.transport these passes never ended."""

from __future__ import annotations

import time

import pytest

from occ.errors import SourceUnavailable
from tests.fakes.keystone import FakeKeystone
from tests.fakes.slow import BEHAVIOURS, SlowServer

PASS_TIMEOUT = 1.5  # passed to Http; the collectors' own timeout is 0.5 s
LIMIT = 5.0


def ec2(slow: SlowServer, keystone: FakeKeystone) -> str:
    return (
        f"[ec2]\nmetadata_url = {slow.url}/latest/meta-data\nconfig_drive = false\n"
        "timeout = 0.5\nimdsv2 = auto\n"
    )


def request(slow: SlowServer, keystone: FakeKeystone) -> str:
    return f"[request]\nmetadata_url = {slow.url}/doc\ntimeout = 0.5\n"


def cfn(slow: SlowServer, keystone: FakeKeystone) -> str:
    return (
        f"[cfn]\nmetadata_url = {slow.url}/v1/\nstack_name = web\naccess_key_id = AKIA1\n"
        "secret_access_key = s3cr3t-key\npath = Server.Metadata\ntimeout = 0.5\n"
    )


def keystone_itself(slow: SlowServer, keystone: FakeKeystone) -> str:
    resource = {"stack_id": "web/1", "resource_name": "Server", "timeout": "0.5"}
    return keystone.section("heat", {"auth_url": slow.url + "/v3", **resource})


def heat(slow: SlowServer, keystone: FakeKeystone) -> str:
    keystone.add_endpoint("orchestration", slow.url + "/v1/p")
    resource = {"stack_id": "web/1", "resource_name": "Server", "timeout": "0.5"}
    return keystone.section("heat", resource)


def zaqar(slow: SlowServer, keystone: FakeKeystone) -> str:
    keystone.add_endpoint("messaging", slow.url)
    return keystone.section("zaqar", {"queue_id": "q1", "timeout": "0.5"})


def zaqar_websocket(slow: SlowServer, keystone: FakeKeystone) -> str:
    pytest.importorskip("websocket")
    keystone.add_endpoint("messaging-websocket", slow.url.replace("http:", "ws:"))
    return keystone.section("zaqar", {"queue_id": "q1", "timeout": "0.5", "use_websockets": "true"})


SOURCES = {
    "ec2": ec2,
    "request": request,
    "cfn": cfn,
    "heat": heat,
    "keystone": keystone_itself,
    "zaqar": zaqar,
    "zaqar-websocket": zaqar_websocket,
}


@pytest.mark.parametrize("behaviour", BEHAVIOURS)
@pytest.mark.parametrize("source", SOURCES)
def test_a_slow_server_makes_the_source_unavailable_in_time(harness, source, behaviour):
    name = source.split("-")[0] if source != "keystone" else "heat"
    with FakeKeystone() as keystone, SlowServer(behaviour) as slow:
        section = SOURCES[source](slow, keystone)
        started = time.monotonic()
        with pytest.raises(SourceUnavailable) as caught:
            harness.collect(name, section, pass_timeout=PASS_TIMEOUT, max_response_size=10**9)
        took = time.monotonic() - started
    assert took < LIMIT, f"{source} took {took:.1f} s against {behaviour}"
    assert "\n" not in str(caught.value)
    assert slow.requests, "the slow server was never asked"
