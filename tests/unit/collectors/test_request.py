"""The request collector against real HTTP servers on 127.0.0.1: outputs, conditional GETs
with persisted validators, and every way the source can be unavailable."""

from __future__ import annotations

import json
import logging
import os
import socket
import stat
import time
from pathlib import Path

import pytest

from occ.errors import SourceNotConfigured, SourceUnavailable
from tests.fakes.server import FakeServer, Recorded, Reply

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "request"
RAW = (FIXTURES / "document.json").read_bytes()
DOCUMENT = json.loads(RAW)
# What request yields for that document (doc/compatibility.rst, "request collector"): the
# document, then the deployments of the os-apply-config group and without a group, in list
# order; "script" stays inside.
EXPECTED = [
    ("request", DOCUMENT),
    ("web-config", {"nginx": {"port": 80, "workers": 4}}),
    ("motd", "Welcome to web-0"),
]
ETAG = '"d41d8cd98f00b204e9800998ecf8427e"'
MODIFIED = "Wed, 25 Nov 2026 10:00:00 GMT"
SIG = "2f8c1e0d9b7a6c5e4d3f2a1b0c9d8e7f6a5b4c3d"
PATH = "/v1/AUTH_3b9e/config/5c2a9e41"


def section(url: str, **options: str) -> str:
    lines = [f"metadata_url = {url}", "timeout = 2", *(f"{k} = {v}" for k, v in options.items())]
    return "[request]\n" + "\n".join(lines) + "\n"


def swift(request: Recorded) -> Reply:
    """Like Swift: validators on every answer, 304 when either validator matches."""
    if request.headers["If-None-Match"] == ETAG or request.headers["If-Modified-Since"] == MODIFIED:
        return Reply(304, headers={"ETag": ETAG})
    return Reply(body=RAW, headers={"ETag": ETAG, "Last-Modified": MODIFIED,
                                    "Content-Type": "application/json"})  # fmt: skip


@pytest.fixture
def server(fake_server):
    fake_server.route(PATH, swift)
    return fake_server


@pytest.fixture
def url(server) -> str:
    return f"{server.url}{PATH}?temp_url_sig={SIG}&temp_url_expires=2145916800"


def conditional(request: Recorded) -> dict:
    return {
        name: request.headers[name]
        for name in ("If-None-Match", "If-Modified-Since")
        if request.headers[name] is not None
    }


def two_passes(harness, url: str, **options: str) -> list:
    """Run a pass, store request.json as the cache would, and run a second pass."""
    first = harness.collect("request", section(url, **options))
    harness.store("request", first[0][1])
    return harness.collect("request", section(url, **options))


# --- configuration -----------------------------------------------------------------------------


@pytest.mark.parametrize("ini", ["", "[request]\n", "[request]\nmetadata_url =\n"])
def test_without_metadata_url_it_is_not_configured(harness, ini):
    with pytest.raises(SourceNotConfigured):
        harness.collect("request", ini)


# --- outputs -----------------------------------------------------------------------------------


def test_document_and_its_deployments_are_the_outputs(harness, server, url):
    assert harness.collect("request", section(url)) == EXPECTED
    (request,) = server.requests
    assert request.method == "GET"
    assert request.query["temp_url_sig"] == [SIG]
    assert conditional(request) == {}


def test_global_deployment_keys_are_used(harness, fake_server):
    fake_server.route("/doc", Reply.json({"mine": [{"name": "a", "config": 1}], "deployments": []}))
    ini = "deployment_key = mine\n" + section(fake_server.url + "/doc")
    outputs = harness.collect("request", ini)
    assert outputs[1:] == [("a", 1)]


def test_validators_are_kept_privately_and_without_the_url(harness, url):
    harness.collect("request", section(url))
    path = harness.state("request").path
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    text = Path(path).read_text()
    assert SIG not in text and "127.0.0.1" not in text
    state = json.loads(text)
    assert state["etag"] == ETAG
    assert state["last_modified"] == MODIFIED


# --- conditional GET ---------------------------------------------------------------------------


def test_second_pass_is_conditional_and_a_304_reuses_the_stored_document(harness, server, url):
    assert two_passes(harness, url) == EXPECTED
    first, second = server.requests
    assert conditional(first) == {}
    assert conditional(second) == {"If-None-Match": ETAG, "If-Modified-Since": MODIFIED}
    assert len(server.requests) == 2


def test_304_with_request_json_overwritten_by_a_deployment_refetches(harness, server, url):
    harness.collect("request", section(url))
    harness.store("request", {"a deployment": "named request"})
    assert harness.collect("request", section(url)) == EXPECTED
    _, conditional_get, full_get = server.requests
    assert conditional(conditional_get) != {}
    assert conditional(full_get) == {}


def test_304_without_a_stored_document_refetches(harness, server, url):
    harness.collect("request", section(url))  # request.json never stored: the pass failed
    assert harness.collect("request", section(url)) == EXPECTED
    assert [conditional(r) != {} for r in server.requests] == [False, True, False]


def test_changed_document_replaces_the_validators(harness, fake_server):
    fake_server.route(
        "/doc",
        Reply.json({"v": 1}, headers={"ETag": '"one"'}),
        Reply.json({"v": 2}, headers={"ETag": '"two"'}),
        Reply(304),
    )
    url = fake_server.url + "/doc"
    assert two_passes(harness, url) == [("request", {"v": 2})]
    harness.store("request", {"v": 2})
    assert harness.collect("request", section(url)) == [("request", {"v": 2})]
    assert [r.headers["If-None-Match"] for r in fake_server.requests] == [None, '"one"', '"two"']


def test_server_without_validators_gets_plain_gets(harness, fake_server):
    fake_server.route("/doc", Reply.json({"plain": True}))
    assert two_passes(harness, fake_server.url + "/doc") == [("request", {"plain": True})]
    assert [conditional(r) for r in fake_server.requests] == [{}, {}]


@pytest.mark.parametrize(
    ("header", "sent"),
    [
        ("Sun, 06 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 1994 08:49:37 GMT"),
        ("Sunday, 06-Nov-94 08:49:37 GMT", "Sun, 06 Nov 1994 08:49:37 GMT"),
        ("Sun Nov  6 08:49:37 1994", "Sun, 06 Nov 1994 08:49:37 GMT"),
        ("Sun, 06 Nov 1994 10:49:37 +0200", "Sun, 06 Nov 1994 08:49:37 GMT"),
        ("not a date", None),
        ("", None),
    ],
)
def test_last_modified_in_any_http_date_form(harness, fake_server, header, sent):
    fake_server.route("/doc", Reply.json({}, headers={"Last-Modified": header}))
    two_passes(harness, fake_server.url + "/doc")
    assert fake_server.requests[1].headers["If-Modified-Since"] == sent


def test_another_url_does_not_use_the_old_validators(harness, server, url):
    harness.collect("request", section(url))
    harness.store("request", DOCUMENT)
    assert harness.collect("request", section(url + "&other=1")) == EXPECTED
    assert conditional(server.requests[1]) == {}


def test_print_mode_fetches_unconditionally_and_saves_nothing(harness, server, url):
    assert harness.collect("request", section(url), store=False) == EXPECTED
    assert not os.path.exists(harness.state("request").path)
    harness.collect("request", section(url))
    harness.store("request", DOCUMENT)
    saved = Path(harness.state("request").path).read_bytes()
    assert harness.collect("request", section(url), store=False) == EXPECTED
    assert conditional(server.requests[-1]) == {}
    assert Path(harness.state("request").path).read_bytes() == saved


def test_unexpected_304_to_a_plain_get_is_unavailable(harness, fake_server):
    fake_server.route("/doc", Reply(304))
    with pytest.raises(SourceUnavailable, match="304") as caught:
        harness.collect("request", section(fake_server.url + "/doc"))
    assert caught.value.http_status == 304


# --- unavailable -------------------------------------------------------------------------------


def test_server_down_is_unavailable(harness):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(SourceUnavailable, match="refused"):
        harness.collect("request", section(f"http://127.0.0.1:{port}/doc"))


def test_hanging_server_times_out(harness, fake_server):
    fake_server.route("/doc", Reply(hang=True))
    started = time.monotonic()
    with pytest.raises(SourceUnavailable, match="no answer"):
        harness.collect("request", section(fake_server.url + "/doc", timeout="0.2"))
    assert time.monotonic() - started < 3


def test_5xx_then_success(harness, fake_server):
    fake_server.route("/doc", Reply(502), Reply(503), Reply.json({"ok": 1}))
    assert harness.collect("request", section(fake_server.url + "/doc")) == [("request", {"ok": 1})]
    assert len(harness.sleeps) == 2


def test_429_with_retry_after(harness, fake_server):
    fake_server.route("/doc", Reply(429, headers={"Retry-After": "3"}), Reply.json({"ok": 1}))
    assert harness.collect("request", section(fake_server.url + "/doc")) == [("request", {"ok": 1})]
    assert harness.sleeps == [3.0]


@pytest.mark.parametrize("status", [401, 403, 404])
def test_client_errors_are_unavailable_without_retries(harness, fake_server, status):
    fake_server.route("/doc", Reply(status))
    with pytest.raises(SourceUnavailable) as caught:
        harness.collect("request", section(fake_server.url + "/doc"))
    assert caught.value.http_status == status
    assert len(fake_server.requests) == 1


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (Reply(body=b"x" * 3000), "max_response_size"),
        (Reply(chunks=[b"[" + b"1," * 2000 + b"1]"]), "max_response_size"),
        (Reply(body=b'{"truncated": '), "not JSON"),
        (Reply(body=b"<html><h1>502 Bad Gateway</h1></html>"), "HTML"),
        (Reply(body=b"[1, 2]"), "JSON list, not an object"),
        (Reply(body=b'"text"'), "JSON str, not an object"),
        (Reply(body=b"null"), "not an object"),
    ],
)
def test_bad_bodies_are_unavailable(harness, fake_server, reply, reason):
    fake_server.route("/doc", reply)
    with pytest.raises(SourceUnavailable, match=reason):
        harness.collect("request", section(fake_server.url + "/doc"), max_response_size=2048)
    assert not os.path.exists(harness.state("request").path)


# --- TLS ---------------------------------------------------------------------------------------


def test_tls_needs_the_ca_file(harness, tls):
    context, cert = tls
    with FakeServer(tls=context) as server:
        server.route("/doc", Reply.json({"tls": True}))
        with pytest.raises(SourceUnavailable, match="TLS"):
            harness.collect("request", section(server.url + "/doc"))
        outputs = harness.collect("request", section(server.url + "/doc", ca_file=cert))
    assert outputs == [("request", {"tls": True})]


# --- secrets -----------------------------------------------------------------------------------


def test_temp_url_signature_never_reaches_logs_or_errors(harness, fake_server, caplog):
    caplog.set_level(logging.DEBUG)
    fake_server.route(PATH, Reply(500), Reply(500), Reply(500))
    url = f"{fake_server.url}{PATH}?temp_url_sig={SIG}&temp_url_expires=2145916800"
    with pytest.raises(SourceUnavailable) as caught:
        harness.collect("request", section(url))
    assert fake_server.requests[0].query["temp_url_sig"] == [SIG]
    assert "temp_url_sig=***" in str(caught.value)
    assert SIG not in caplog.text and SIG not in str(caught.value)


def test_an_etag_with_control_characters_is_not_kept_so_later_passes_still_work(
    harness, fake_server
):
    fake_server.route("/doc", Reply.json({"v": 1}, headers={"ETag": '"a\x01b"'}))
    section = f"[request]\nmetadata_url = {fake_server.url}/doc\n"
    for _ in range(2):
        assert harness.collect("request", section) == [("request", {"v": 1})]
    assert fake_server.requests[1].headers["If-None-Match"] is None
