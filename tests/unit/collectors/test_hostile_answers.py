"""Network collectors against answers crafted to steal credentials or crash the pass: redirects
to another origin, header values with control characters, a Keystone version document that
points elsewhere or to plain http, an oversized websocket message."""

from __future__ import annotations

import logging

import pytest

from occ.errors import SourceUnavailable
from tests.fakes import zaqar as zaqar_fakes
from tests.fakes.heat import FakeHeat
from tests.fakes.keystone import PASSWORD, FakeKeystone
from tests.fakes.server import FakeServer, Reply
from tests.fakes.zaqar import FakeZaqar, FakeZaqarWebsocket

EVIL_TOKEN = "AQAEAHostileImdsToken0123456789"


@pytest.fixture
def elsewhere():
    with FakeServer() as server:
        server.fallback = lambda request: Reply.json({"metadata": {"forged": True}})
        yield server


def no_secret_in(text: str, *secrets: str) -> None:
    for secret in secrets:
        assert secret not in text and repr(secret)[1:-1] not in text


# --- IMDSv2 token -------------------------------------------------------------------------------


HOSTILE_TOKENS = [
    EVIL_TOKEN + "\r\nX-Evil: 1",
    EVIL_TOKEN[:9] + "\r" + EVIL_TOKEN[9:],
    "a\x00b" * 4,
]


@pytest.mark.parametrize("token", HOSTILE_TOKENS)
def test_an_imds_token_with_control_characters_makes_ec2_unavailable_without_a_trace(
    harness, fake_server, caplog, token
):
    fake_server.route("/latest/api/token", Reply(body=token), method="PUT")
    section = (
        f"[ec2]\nmetadata_url = {fake_server.url}/latest/meta-data\nconfig_drive = false\n"
        "imdsv2 = required\ntimeout = 1\n"
    )
    with caplog.at_level(logging.DEBUG), pytest.raises(SourceUnavailable) as caught:
        harness.collect("ec2", section)
    assert "control characters" in str(caught.value) and "\n" not in str(caught.value)
    no_secret_in(str(caught.value) + caplog.text, token, EVIL_TOKEN)
    assert [r.method for r in fake_server.requests] == ["PUT"]  # never sent anywhere


# --- Keystone -----------------------------------------------------------------------------------


def heat_section(keystone: FakeKeystone) -> str:
    return keystone.section("heat", {"stack_id": "web/1", "resource_name": "Server"})


def test_a_subject_token_with_control_characters_makes_heat_unavailable(harness, keystone):
    keystone.server.route(
        "/v3/auth/tokens",
        Reply.json({"token": {"catalog": []}}, headers={"X-Subject-Token": "tok\x01en-42"}),
        method="POST",
    )
    with pytest.raises(SourceUnavailable, match="X-Subject-Token holds control characters"):
        harness.collect("heat", heat_section(keystone))


@pytest.mark.parametrize("where", ["another origin", "plain http"])
def test_discovery_never_sends_the_password_where_the_version_document_points(
    harness, keystone, elsewhere, caplog, where
):
    href = elsewhere.url + "/v3/" if where == "another origin" else None
    if href is None:  # the same host and port, but http where https was configured
        href = keystone.url.replace("http://", "https://") + "/v3/"
    document = {"version": {"id": "v3.14", "links": [{"rel": "self", "href": href}]}}
    keystone.server.route("/v3", Reply.json(document), method="GET")
    with FakeHeat(keystone) as heat:
        heat.add_stack("web", "1", {"Server": {"role": "db"}})
        keystone.add_endpoint("orchestration", heat.endpoint)
        with caplog.at_level(logging.INFO):
            outputs = harness.collect("heat", heat_section(keystone))
    assert outputs == [("heat", {"role": "db"})]
    assert elsewhere.requests == []
    assert keystone.issued() == 1
    lines = [r.getMessage() for r in caplog.records if "version document names" in r.getMessage()]
    assert len(lines) == 1 and f"using {keystone.auth_url}" in lines[0]


# --- redirects of authenticated requests --------------------------------------------------------


def test_a_heat_redirect_to_another_origin_is_refused_and_gets_no_token(
    harness, keystone, elsewhere
):
    with FakeHeat(keystone) as heat:
        keystone.add_endpoint("orchestration", heat.endpoint)
        path = f"/v1/{keystone.project_id}/stacks/web/1/resources/Server/metadata"
        heat.server.route(path, Reply(302, headers={"Location": elsewhere.url + "/md"}))
        with pytest.raises(SourceUnavailable, match="refusing a redirect to " + elsewhere.url):
            harness.collect("heat", heat_section(keystone))
    assert elsewhere.requests == []


def test_a_keystone_307_never_re_posts_the_password(harness, keystone, elsewhere):
    keystone.server.route(
        "/v3/auth/tokens",
        Reply(307, headers={"Location": elsewhere.url + "/v3/auth/tokens"}),
        method="POST",
    )
    with pytest.raises(SourceUnavailable) as caught:
        harness.collect("heat", heat_section(keystone))
    assert elsewhere.requests == []
    no_secret_in(str(caught.value), PASSWORD)


def test_a_zaqar_pop_redirected_elsewhere_gets_no_token(harness, keystone, elsewhere):
    with FakeZaqar(keystone) as zaqar:
        keystone.add_endpoint("messaging", zaqar.url)
        zaqar.server.route(
            "/v2/queues/q1/messages", Reply(307, headers={"Location": elsewhere.url + "/pop"})
        )
        with pytest.raises(SourceUnavailable, match="carries credentials"):
            harness.collect("zaqar", keystone.section("zaqar", {"queue_id": "q1"}))
    assert elsewhere.requests == []


# --- websocket frame cap ------------------------------------------------------------------------


def test_an_oversized_websocket_message_makes_zaqar_unavailable(harness, keystone, monkeypatch):
    pytest.importorskip("websocket")
    huge = {"request": {}, "headers": {"status": 200}, "body": "x" * 50_000}
    monkeypatch.setattr(zaqar_fakes._Connection, "_handle", lambda connection, frame: huge)
    with FakeZaqarWebsocket(keystone) as fake:
        keystone.add_endpoint("messaging-websocket", fake.url)
        section = keystone.section("zaqar", {"queue_id": "q1", "use_websockets": "true"})
        with pytest.raises(SourceUnavailable, match=r"larger than max_response_size \(10000"):
            harness.collect("zaqar", section, max_response_size=10_000)
