"""occ.http.client against servers that misbehave on purpose: redirects that try to take
credentials elsewhere, answers that trickle in for ever, header values that would split a
request. Real servers on 127.0.0.1 (tests.fakes.server, tests.fakes.slow)."""

from __future__ import annotations

import logging
import time

import pytest

from occ.errors import SourceUnavailable
from occ.http import redirects
from occ.http.client import Http
from tests import support
from tests.fakes.server import FakeServer, Reply
from tests.fakes.slow import BEHAVIOURS, SlowServer

TOKEN = "gAAAAABtoken-9f8e7d6c5b4a"
PASSWORD = "Qw7ZpL2mXc9RtY4vBn6K"


@pytest.fixture
def http():
    client = Http(sleep=lambda seconds: None, random=lambda: 0.5)
    yield client
    client.close()


@pytest.fixture
def home():
    with FakeServer() as server:
        yield server


@pytest.fixture
def elsewhere():
    """Another origin (another port): nothing with a credential may ever reach it."""
    with FakeServer() as server:
        server.fallback = lambda request: Reply.json({"forged": True})
        yield server


def request(http: Http, method: str, url: str, **kwargs):
    kwargs.setdefault("timeout", 2.0)
    return http.request(method, url, source="test", **kwargs)


# --- redirects ---------------------------------------------------------------------------------


def test_a_same_origin_redirect_is_followed_with_the_token_and_logged_by_its_url(
    http, home, caplog
):
    home.route("/stacks/web", Reply(302, headers={"Location": "/stacks/web/1"}))
    home.route("/stacks/web/1", Reply.json({"ok": 1}))
    with caplog.at_level(logging.DEBUG, logger="occ.http"):
        response = request(http, "GET", home.url + "/stacks/web", headers={"X-Auth-Token": TOKEN})
    assert response.json() == {"ok": 1}
    assert response.url == home.url + "/stacks/web/1"
    assert home.requests_to("/stacks/web/1")[0].headers["X-Auth-Token"] == TOKEN
    assert f"GET {home.url}/stacks/web/1 -> 200" in caplog.text


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_token_is_never_sent_to_another_origin(http, home, elsewhere, status):
    home.route("/metadata", Reply(status, headers={"Location": elsewhere.url + "/steal?x=1"}))
    with pytest.raises(SourceUnavailable) as caught:
        request(http, "GET", home.url + "/metadata", headers={"X-Auth-Token": TOKEN})
    assert elsewhere.requests == []
    message = str(caught.value)
    assert "refusing a redirect to " + elsewhere.url + "/steal?x=1" in message
    assert "\n" not in message and TOKEN not in message
    assert caught.value.http_status == status


def test_a_password_body_is_never_re_posted_to_another_origin(http, home, elsewhere):
    home.route("/v3/auth/tokens", Reply(307, headers={"Location": elsewhere.url + "/v3/auth"}))
    body = {"auth": {"identity": {"password": {"user": {"password": PASSWORD}}}}}
    with pytest.raises(SourceUnavailable, match="carries credentials") as caught:
        request(http, "POST", home.url + "/v3/auth/tokens", json=body)
    assert elsewhere.requests == []
    assert PASSWORD not in str(caught.value)


def test_a_signed_query_is_not_redirected_to_another_origin_and_stays_redacted(
    http, home, elsewhere
):
    home.route("/doc", Reply(302, headers={"Location": elsewhere.url + "/doc?temp_url_sig=abc"}))
    with pytest.raises(SourceUnavailable) as caught:
        request(http, "GET", home.url + "/doc?temp_url_sig=0123456789abcdef&temp_url_expires=9")
    assert elsewhere.requests == []
    assert "0123456789abcdef" not in str(caught.value)
    assert "temp_url_sig=abc" not in str(caught.value)


def test_a_credential_free_get_may_follow_a_redirect_to_another_origin(http, home, elsewhere):
    home.route("/doc", Reply(302, headers={"Location": elsewhere.url + "/doc"}))
    response = request(http, "GET", home.url + "/doc", headers={"Accept": "application/json"})
    assert response.json() == {"forged": True}
    assert response.url == elsewhere.url + "/doc"


def test_a_303_after_a_post_becomes_a_get_without_the_body(http, home):
    home.route("/form", Reply(303, headers={"Location": "/done"}))
    home.route("/done", lambda r: Reply.json({"method": r.method, "body": r.body.decode()}))
    response = request(http, "POST", home.url + "/form", json={"a": 1})
    assert response.json() == {"method": "GET", "body": ""}


def test_endless_redirects_end_after_a_few_hops(http, home):
    home.route("/loop", Reply(302, headers={"Location": "/loop"}))
    with pytest.raises(SourceUnavailable, match="more than 5 redirects"):
        request(http, "GET", home.url + "/loop")
    assert len(home.requests) == redirects.MAX_REDIRECTS + 1


def test_a_redirect_is_returned_as_is_when_not_followed(http, home):
    home.route("/stacks/web", Reply(302, headers={"Location": "http://elsewhere.invalid/x"}))
    response = request(http, "GET", home.url + "/stacks/web", allow_redirects=False)
    assert response.status == 302


@pytest.mark.parametrize(
    ("first", "location", "credentials", "allowed"),
    [
        ("https://h/a", "https://h:443/b", True, True),  # the default port is the same origin
        ("https://h/a", "http://h/b", False, False),  # never downgraded, even without credentials
        ("http://h/a", "https://h/b", True, False),  # another scheme is another origin
        ("http://h:5000/a", "http://h:5001/b", True, False),
        ("http://h/a", "http://H/b", True, True),  # host names are case-insensitive
        ("http://h/a", "file:///etc/shadow", False, False),
    ],
)
def test_the_origin_policy(first, location, credentials, allowed):
    try:
        redirects.next_hop(first, first, "GET", 302, location, credentials=credentials)
    except SourceUnavailable:
        assert not allowed
    else:
        assert allowed


# --- deadlines ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["stdlib", "requests"])
@pytest.mark.parametrize("behaviour", BEHAVIOURS)
def test_each_request_ends_by_its_timeout_whatever_the_server_does(behaviour, path, monkeypatch):
    client = Http(max_response_size=10**9, sleep=lambda s: None, random=lambda: 0.5)
    with SlowServer(behaviour) as slow:
        if path == "requests":
            support.through_proxy(monkeypatch, slow.url)
        started = time.monotonic()
        with pytest.raises(SourceUnavailable, match=r"no answer within 0\.5 s"):
            client.get(slow.url + "/doc", source="test", timeout=0.5, retries=0)
        took = time.monotonic() - started
        client.close()
    assert took < 1.5


@pytest.mark.parametrize("behaviour", ["trickle_body", "trickle_headers"])
def test_the_pass_deadline_bounds_every_attempt_together(behaviour):
    client = Http(pass_timeout=1.0, sleep=lambda s: None, random=lambda: 0.0)
    with SlowServer(behaviour) as slow:
        started = time.monotonic()
        with pytest.raises(SourceUnavailable):
            for _ in range(3):  # several requests of a pass, each allowed 10 s
                client.get(slow.url + "/doc", source="test", timeout=10)
        took = time.monotonic() - started
        client.close()
    assert took < 1.8


@pytest.mark.parametrize("path", ["stdlib", "requests"])
def test_an_endless_body_hits_the_size_cap(http, path, monkeypatch):
    with SlowServer("endless_body") as slow, pytest.raises(SourceUnavailable, match="larger than"):
        if path == "requests":
            support.through_proxy(monkeypatch, slow.url)
        http.get(slow.url + "/doc", source="test", timeout=5, retries=0)


# --- header values -----------------------------------------------------------------------------


@pytest.mark.parametrize("value", [TOKEN + "\r\nX-Evil: 1", TOKEN + "\n", "\x00" + TOKEN])
def test_a_header_value_with_control_characters_is_not_sent_nor_shown(http, home, value, caplog):
    with caplog.at_level(logging.DEBUG), pytest.raises(SourceUnavailable) as caught:
        request(http, "GET", home.url + "/x", headers={"X-Auth-Token": value})
    assert home.requests == []
    assert "X-Auth-Token" in str(caught.value)
    for text in (str(caught.value), caplog.text):
        assert TOKEN not in text and repr(value)[1:-1] not in text
    assert caught.value.__cause__ is None
    assert caught.value.__context__ is None or caught.value.__suppress_context__
