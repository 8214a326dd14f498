"""zaqar: popping Heat's messages over HTTP and websockets against fakes on 127.0.0.1; a
popped message survives a failed hook, print mode never pops, TLS is verified by default."""

from __future__ import annotations

import json
import logging
import re
import stat
import sys
import threading
import time
from pathlib import Path

import pytest

from occ.collectors.zaqar.collector import pop_url
from occ.collectors.zaqar.protocol import first_message
from occ.core.state import state_dir
from occ.errors import SourceNotConfigured, SourceUnavailable
from tests import support
from tests.fakes import zaqar as zaqar_fakes
from tests.fakes.keystone import FakeKeystone
from tests.fakes.server import FakeServer, Reply
from tests.fakes.zaqar import FakeZaqar, FakeZaqarWebsocket, Queues

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "zaqar"
QUEUE = "q-5c2a9e41"
DOCUMENT = {
    "os-collect-config": {"zaqar": {"queue_id": QUEUE}},
    "deployments": [
        {"name": "dep-z", "group": "os-apply-config", "config": {"z": True}},
        {"name": "dep-script", "group": "script", "config": "#!/bin/sh"},
    ],
}
NEWER = {"deployments": [{"name": "dep-z", "config": {"z": False}}]}


def fixture(name: str):
    return json.loads((FIXTURES / name).read_text())


# --- pure parts --------------------------------------------------------------------------------


def test_the_first_message_body_is_the_document():
    message = first_message(fixture("pop_one.json"))
    assert message is not None
    assert message.id == "578ee000508f153f256f717d"
    assert message.body == fixture("pop_one.json")["messages"][0]["body"]


def test_an_empty_list_means_no_message():
    assert first_message(fixture("pop_empty.json")) is None


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        (fixture("pop_no_body.json"), "no body"),
        (fixture("pop_no_messages.json"), "no list of messages"),
        ({"messages": ["x"]}, "no body"),
        ([], "no list of messages"),
    ],
)
def test_malformed_pop_answers_are_unavailable(document, reason):
    with pytest.raises(SourceUnavailable, match=reason):
        first_message(document)


def test_the_pop_url_is_the_v2_queue_with_pop_1():
    assert pop_url("http://z:8888/", "q 1/x") == "http://z:8888/v2/queues/q%201%2Fx/messages?pop=1"


# --- HTTP transport ----------------------------------------------------------------------------


@pytest.fixture
def zaqar(keystone):
    with FakeZaqar(keystone) as fake:
        keystone.add_endpoint("messaging", fake.url)
        yield fake


def ini(keystone: FakeKeystone, **changes: str | None) -> str:
    return keystone.section("zaqar", {"queue_id": QUEUE, **changes})


EXPLODED = [("zaqar", DOCUMENT), ("dep-z", {"z": True})]


def test_a_message_is_popped_and_exploded(harness, keystone, zaqar):
    zaqar.queues.post(QUEUE, DOCUMENT)
    assert harness.collect("zaqar", ini(keystone)) == EXPLODED
    assert zaqar.queues.pending(QUEUE) == []
    (request,) = zaqar.requests
    assert request.method == "DELETE"
    assert request.target == f"/v2/queues/{QUEUE}/messages?pop=1"
    assert keystone.valid(request.headers["X-Auth-Token"])
    assert request.headers["X-Project-Id"] == keystone.project_id
    assert re.fullmatch("[0-9a-f]{32}", request.headers["Client-ID"])
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Content-Length"] == "0"


def test_zaqar_explodes_with_the_global_deployment_keys(harness, keystone, zaqar):
    zaqar.queues.post(QUEUE, {"mine": [{"name": "m", "config": 1}], "deployments": []})
    keys = [key for key, _ in harness.collect("zaqar", "deployment_key = mine\n" + ini(keystone))]
    assert keys == ["zaqar", "m"]


def test_the_popped_message_is_saved_at_once_in_a_private_state_file(harness, keystone, zaqar):
    zaqar.queues.post(QUEUE, DOCUMENT)
    harness.collect("zaqar", ini(keystone))
    path = Path(state_dir(str(harness.cachedir))) / "zaqar.state"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(json.loads(path.read_text())["body_json"]) == DOCUMENT


def test_the_last_message_stays_current_after_a_failed_hook(harness, keystone, zaqar):
    zaqar.queues.post(QUEUE, DOCUMENT)
    harness.collect("zaqar", ini(keystone))
    # The hook failed; the next pass finds the queue empty and must still offer the message.
    assert harness.collect("zaqar", ini(keystone)) == EXPLODED
    assert harness.collect("zaqar", ini(keystone)) == EXPLODED
    assert len(zaqar.requests) == 3  # it did look for newer messages every time


def test_a_newer_message_replaces_the_saved_one(harness, keystone, zaqar):
    zaqar.queues.post(QUEUE, DOCUMENT)
    harness.collect("zaqar", ini(keystone))
    zaqar.queues.post(QUEUE, NEWER)
    assert harness.collect("zaqar", ini(keystone))[0] == ("zaqar", NEWER)
    assert harness.collect("zaqar", ini(keystone))[0] == ("zaqar", NEWER)


def test_an_empty_queue_without_any_saved_message_is_unavailable(harness, keystone, zaqar):
    with pytest.raises(SourceUnavailable, match="the queue is empty"):
        harness.collect("zaqar", ini(keystone))


def test_a_message_saved_from_another_queue_is_not_offered(harness, keystone, zaqar):
    zaqar.queues.post(QUEUE, DOCUMENT)
    harness.collect("zaqar", ini(keystone))
    with pytest.raises(SourceUnavailable, match="the queue is empty"):
        harness.collect("zaqar", ini(keystone, queue_id="another-queue"))


def test_print_mode_never_pops(harness, keystone, zaqar):
    zaqar.queues.post(QUEUE, DOCUMENT)
    with pytest.raises(SourceUnavailable, match="not popping the queue in print mode"):
        harness.collect("zaqar", ini(keystone), store=False)
    assert zaqar.queues.pending(QUEUE) == [DOCUMENT]
    assert zaqar.requests == [] and keystone.requests == []


def test_print_mode_shows_the_saved_message_without_popping(harness, keystone, zaqar):
    zaqar.queues.post(QUEUE, DOCUMENT)
    harness.collect("zaqar", ini(keystone))
    zaqar.queues.post(QUEUE, NEWER)
    requests = len(zaqar.requests)
    assert harness.collect("zaqar", ini(keystone), store=False) == EXPLODED
    assert zaqar.queues.pending(QUEUE) == [NEWER]
    assert len(zaqar.requests) == requests


def test_a_message_that_is_not_an_object_is_unavailable_and_not_saved(harness, keystone, zaqar):
    zaqar.queues.post(QUEUE, DOCUMENT)
    harness.collect("zaqar", ini(keystone))
    zaqar.queues.post(QUEUE, ["not", "an", "object"])
    with pytest.raises(SourceUnavailable, match="not a JSON object"):
        harness.collect("zaqar", ini(keystone))
    assert json.loads(harness.state("zaqar").load()["body_json"]) == DOCUMENT


@pytest.mark.parametrize("missing", ["auth_url", "password", "project_id", "user_id", "queue_id"])
@pytest.mark.parametrize("value", [None, ""])
def test_missing_settings_mean_not_configured_and_nothing_is_sent(
    harness, keystone, zaqar, missing, value
):
    zaqar.queues.post(QUEUE, DOCUMENT)
    with pytest.raises(SourceNotConfigured, match=f"no {missing}"):
        harness.collect("zaqar", ini(keystone, **{missing: value}))
    assert zaqar.requests == [] and keystone.requests == []


def test_a_token_revoked_mid_use_is_replaced_once(harness, keystone, zaqar):
    zaqar.queues.post(QUEUE, DOCUMENT)
    harness.collect("zaqar", ini(keystone))
    keystone.revoke_all()
    zaqar.queues.post(QUEUE, NEWER)
    assert harness.collect("zaqar", ini(keystone))[0] == ("zaqar", NEWER)
    assert keystone.issued() == 2


def test_the_token_is_shared_with_heat_for_the_same_credentials(harness, keystone, zaqar):
    zaqar.queues.post(QUEUE, DOCUMENT)
    harness.collect("zaqar", ini(keystone))
    heat_ini = ini(keystone).replace("[zaqar]", "[heat]").replace(f"queue_id = {QUEUE}\n", "")
    with pytest.raises(SourceUnavailable, match="no public orchestration endpoint"):
        harness.collect("heat", heat_ini + "stack_id = s/i\nresource_name = r\n")
    assert keystone.issued() == 1


def test_zaqar_down_is_unavailable(harness, keystone, zaqar):
    keystone.catalog.clear()
    with FakeServer() as gone:
        keystone.add_endpoint("messaging", gone.url)
    with pytest.raises(SourceUnavailable, match="DELETE http"):
        harness.collect("zaqar", ini(keystone))


def test_a_hanging_zaqar_is_unavailable_after_the_timeout(harness, keystone, zaqar):
    zaqar.server.fallback = lambda request: Reply(hang=True)
    with pytest.raises(SourceUnavailable, match="no answer within"):
        harness.collect("zaqar", ini(keystone, timeout="0.2"))


def test_a_5xx_then_success_is_retried(harness, keystone, zaqar):
    zaqar.queues.post(QUEUE, DOCUMENT)
    answer = zaqar.server.fallback
    replies = iter([Reply(503, headers={"Retry-After": "2"})])
    zaqar.server.fallback = lambda request: next(replies, None) or answer(request)
    assert harness.collect("zaqar", ini(keystone)) == EXPLODED
    assert harness.sleeps == [2.0]


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (Reply(200, b"{not json"), "not JSON"),
        (Reply.json({"queues": []}), "no list of messages"),
        (Reply(200, b"<html>captive portal</html>"), "HTML"),
    ],
)
def test_malformed_answers_are_unavailable(harness, keystone, zaqar, reply, reason):
    zaqar.server.fallback = lambda request: reply
    with pytest.raises(SourceUnavailable, match=reason):
        harness.collect("zaqar", ini(keystone))


def test_a_204_answer_is_an_empty_queue(harness, keystone, zaqar):
    zaqar.server.fallback = lambda request: Reply(204)
    with pytest.raises(SourceUnavailable, match="the queue is empty"):
        harness.collect("zaqar", ini(keystone))


# --- TLS ---------------------------------------------------------------------------------------


@pytest.fixture
def tls_zaqar(keystone, tls):
    with FakeZaqar(keystone, tls=tls[0]) as fake:
        keystone.add_endpoint("messaging", fake.url)
        fake.queues.post(QUEUE, DOCUMENT)
        yield fake


def test_tls_is_verified_by_default(harness, keystone, tls_zaqar):
    with pytest.raises(SourceUnavailable, match="TLS failure"):
        harness.collect("zaqar", ini(keystone))
    assert tls_zaqar.queues.pending(QUEUE) == [DOCUMENT]


def test_validation_on_without_ca_file_uses_the_system_cas(harness, keystone, tls_zaqar):
    with pytest.raises(SourceUnavailable, match="TLS failure"):
        harness.collect("zaqar", ini(keystone, ssl_certificate_validation="true"))


def test_ca_file_verifies_the_queue_server(harness, keystone, tls_zaqar, tls):
    assert harness.collect("zaqar", ini(keystone, ca_file=tls[1])) == EXPLODED


def test_validation_off_skips_verification_with_a_warning(harness, keystone, tls_zaqar, caplog):
    caplog.set_level(logging.WARNING, logger="occ")
    off = ini(keystone, ssl_certificate_validation="false")
    assert harness.collect("zaqar", off) == EXPLODED
    assert "TLS certificate validation is off" in caplog.text
    caplog.clear()
    harness.collect("zaqar", off)  # every pass, not once
    assert "TLS certificate validation is off" in caplog.text


# --- websocket transport -----------------------------------------------------------------------


def needs_websocket() -> None:
    """websocket-client is in the test extra: without it, skip loudly (fail under CI)."""
    try:
        import websocket  # noqa: F401
    except ImportError:
        support.skip_or_fail(
            "websocket-client is not installed (pip install -e '.[test]', or tools/bootstrap)",
            label="ZAQAR WEBSOCKET TESTS",
        )


@pytest.fixture
def websocket_zaqar(keystone):
    needs_websocket()
    with FakeZaqarWebsocket(keystone, Queues()) as fake:
        keystone.add_endpoint("messaging-websocket", fake.url)
        yield fake


WEBSOCKETS = {"use_websockets": "true"}


def test_websocket_pops_a_queued_message(harness, keystone, websocket_zaqar):
    websocket_zaqar.queues.post(QUEUE, DOCUMENT)
    assert harness.collect("zaqar", ini(keystone, **WEBSOCKETS)) == EXPLODED
    assert websocket_zaqar.queues.pending(QUEUE) == []
    frames = websocket_zaqar.frames
    assert [f["action"] for f in frames] == [
        "authenticate",
        "queue_create",
        "subscription_create",
        "message_delete_many",
    ]
    assert keystone.valid(frames[0]["headers"]["X-Auth-Token"])
    assert frames[2]["body"] == {"queue_name": QUEUE, "ttl": 10000}
    assert frames[3]["body"] == {"queue_name": QUEUE, "pop": 1}
    assert {f["headers"]["Client-ID"] for f in frames} == {frames[0]["headers"]["Client-ID"]}
    assert all(f["headers"]["X-Project-ID"] == keystone.project_id for f in frames)


def test_websocket_waits_for_a_notification(harness, keystone, websocket_zaqar):
    timer = threading.Timer(0.3, websocket_zaqar.queues.post, (QUEUE, DOCUMENT))
    timer.start()
    try:
        assert harness.collect("zaqar", ini(keystone, timeout="5", **WEBSOCKETS)) == EXPLODED
    finally:
        timer.cancel()


def test_websocket_wait_is_bounded_by_the_timeout(harness, keystone, websocket_zaqar):
    started = time.monotonic()
    with pytest.raises(SourceUnavailable, match="the queue is empty"):
        harness.collect("zaqar", ini(keystone, timeout="0.5", **WEBSOCKETS))
    assert 0.4 < time.monotonic() - started < 3


def test_websocket_keeps_the_last_message_current(harness, keystone, websocket_zaqar):
    websocket_zaqar.queues.post(QUEUE, DOCUMENT)
    harness.collect("zaqar", ini(keystone, **WEBSOCKETS))
    assert harness.collect("zaqar", ini(keystone, timeout="0.2", **WEBSOCKETS)) == EXPLODED


def test_websocket_server_that_never_replies_is_unavailable(harness, keystone):
    needs_websocket()
    with FakeZaqarWebsocket(keystone, silent=True) as fake:
        keystone.add_endpoint("messaging-websocket", fake.url)
        with pytest.raises(SourceUnavailable, match="no reply within"):
            harness.collect("zaqar", ini(keystone, timeout="0.3", **WEBSOCKETS))


def test_websocket_rejected_token_is_replaced_once(harness, keystone, websocket_zaqar):
    websocket_zaqar.queues.post(QUEUE, DOCUMENT)
    harness.collect("zaqar", ini(keystone, **WEBSOCKETS))
    keystone.revoke_all()
    websocket_zaqar.queues.post(QUEUE, NEWER)
    assert harness.collect("zaqar", ini(keystone, **WEBSOCKETS))[0] == ("zaqar", NEWER)
    assert keystone.issued() == 2


def test_websocket_server_down_is_unavailable(harness, keystone):
    needs_websocket()
    with FakeZaqarWebsocket(keystone) as fake:
        keystone.add_endpoint("messaging-websocket", fake.url)
    with pytest.raises(SourceUnavailable, match=r"cannot open ws://127\.0\.0\.1"):
        harness.collect("zaqar", ini(keystone, **WEBSOCKETS))


def test_websocket_print_mode_never_connects(harness, keystone, websocket_zaqar):
    websocket_zaqar.queues.post(QUEUE, DOCUMENT)
    with pytest.raises(SourceUnavailable, match="not popping"):
        harness.collect("zaqar", ini(keystone, **WEBSOCKETS), store=False)
    assert websocket_zaqar.frames == []


def test_websocket_without_the_package_says_what_to_install(harness, keystone, zaqar, monkeypatch):
    monkeypatch.setitem(sys.modules, "websocket", None)  # makes "import websocket" fail
    with pytest.raises(SourceUnavailable, match="websocket-client"):
        harness.collect("zaqar", ini(keystone, **WEBSOCKETS))
    assert keystone.requests == []


def test_an_oversized_message_is_unavailable(harness, keystone, zaqar):
    zaqar.queues.post(QUEUE, {"blob": "x" * 5000})
    with pytest.raises(SourceUnavailable, match="larger than max_response_size"):
        harness.collect("zaqar", ini(keystone), max_response_size=4096)


# --- websocket transport: TLS and frames -------------------------------------------------------


@pytest.fixture
def wss_zaqar(keystone, tls):
    needs_websocket()
    with FakeZaqarWebsocket(keystone, Queues(), tls=tls[0]) as fake:
        keystone.add_endpoint("messaging-websocket", fake.url)
        fake.queues.post(QUEUE, DOCUMENT)
        yield fake


def test_websocket_tls_is_verified_by_default(harness, keystone, wss_zaqar):
    with pytest.raises(SourceUnavailable, match=r"^cannot open wss://127\.0\.0\.1:\d+: .*certif"):
        harness.collect("zaqar", ini(keystone, **WEBSOCKETS))
    assert wss_zaqar.frames == []
    assert wss_zaqar.queues.pending(QUEUE) == [DOCUMENT]


def test_websocket_ca_file_verifies_the_queue_server(harness, keystone, wss_zaqar, tls):
    assert harness.collect("zaqar", ini(keystone, ca_file=tls[1], **WEBSOCKETS)) == EXPLODED
    assert wss_zaqar.queues.pending(QUEUE) == []


def test_websocket_validation_off_connects_without_verification(harness, keystone, wss_zaqar):
    off = ini(keystone, ssl_certificate_validation="false", **WEBSOCKETS)
    assert harness.collect("zaqar", off) == EXPLODED
    assert wss_zaqar.queues.pending(QUEUE) == []


@pytest.mark.parametrize("reply", [[], ["request"], "text", 42, None])
def test_websocket_frame_that_is_json_but_not_an_object_is_unavailable(
    harness, keystone, websocket_zaqar, monkeypatch, reply
):
    websocket_zaqar.queues.post(QUEUE, DOCUMENT)
    monkeypatch.setattr(zaqar_fakes._Connection, "_handle", lambda connection, frame: reply)
    not_an_object = r"^the websocket sent a frame that is not a JSON object$"
    with pytest.raises(SourceUnavailable, match=not_an_object):
        harness.collect("zaqar", ini(keystone, **WEBSOCKETS))
    assert websocket_zaqar.queues.pending(QUEUE) == [DOCUMENT]


def test_the_kept_message_keeps_its_key_order_so_zaqar_json_keeps_its_bytes(
    harness, keystone, zaqar
):
    body = {"zebra": 1, "apple": {"y": 2, "b": 3}}  # not in sorted order
    zaqar.queues.post(QUEUE, body)
    popped = harness.collect("zaqar", ini(keystone))
    kept = harness.collect("zaqar", ini(keystone))  # the queue is empty now
    assert json.dumps(kept[0][1], indent=1) == json.dumps(popped[0][1], indent=1)
    assert list(kept[0][1]) == ["zebra", "apple"]


def test_a_message_kept_by_an_earlier_version_is_still_offered(harness, keystone, zaqar):
    zaqar.queues.post(QUEUE, DOCUMENT)
    harness.collect("zaqar", ini(keystone))
    path = Path(state_dir(str(harness.cachedir))) / "zaqar.state"
    state = json.loads(path.read_text())
    state["body"] = json.loads(state.pop("body_json"))
    path.write_text(json.dumps(state))
    assert harness.collect("zaqar", ini(keystone)) == EXPLODED
