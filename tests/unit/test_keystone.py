"""Keystone v3 login shared by heat and zaqar: discovery, token responses, catalog lookup,
the token cache, and re-authentication, against a fake Keystone on 127.0.0.1."""

from __future__ import annotations

import datetime
import errno
import json
import logging
import os
import stat
from pathlib import Path

import pytest

from occ import redact
from occ.collectors.keystone import token_cache
from occ.collectors.keystone.client import Keystone
from occ.collectors.keystone.token_cache import EXPIRY_MARGIN, Credentials, Login
from occ.collectors.keystone.wire import (
    discovery_url,
    fallback_url,
    find_endpoint,
    parse_login,
    password_auth,
    v3_url,
)
from occ.core.state import State
from occ.errors import SourceUnavailable
from occ.http.client import Http
from tests.fakes.keystone import FakeKeystone
from tests.fakes.server import FakeServer, Reply

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "keystone"
V3 = "https://keystone.example.net:5000/v3/"


def fixture(name: str):
    return json.loads((FIXTURES / name).read_text())


CATALOG = fixture("token.json")["token"]["catalog"]


# --- the wire format ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("auth_url", "discovery", "fallback"),
    [
        ("https://k:5000/v2.0", "https://k:5000/", "https://k:5000/v3"),
        ("https://k:5000/v2.0/", "https://k:5000//", "https://k:5000/v3/"),
        ("https://k:5000/v3", "https://k:5000/v3", "https://k:5000/v3"),
        ("https://k:5000", "https://k:5000", "https://k:5000"),
    ],
)
def test_v2_urls_are_rewritten_as_the_original_does(auth_url, discovery, fallback):
    assert discovery_url(auth_url) == discovery
    assert fallback_url(auth_url) == fallback


@pytest.mark.parametrize("name", ["versions_unversioned.json", "version_v3.json"])
def test_the_v3_self_link_is_found_in_version_documents(name):
    assert v3_url(fixture(name)) == V3


@pytest.mark.parametrize(
    "document",
    [fixture("versions_v2_only.json"), {}, [], "x", {"versions": "x"}, {"version": None}],
)
def test_documents_without_v3_give_none(document):
    assert v3_url(document) is None


def test_the_password_login_is_project_scoped_by_id():
    body = password_auth(Credentials("http://k/v3", "u1", "pw", "p1"))
    assert body == {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {"user": {"id": "u1", "password": "pw"}},
            },
            "scope": {"project": {"id": "p1"}},
        }
    }


def test_a_token_response_gives_token_catalog_and_expiry():
    login = parse_login("tok-123", fixture("token.json"))
    assert login.token == "tok-123"
    assert login.catalog == CATALOG
    when = datetime.datetime(2030, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
    assert login.expires_at == when.timestamp()
    assert login.cached is False


def test_an_unparsable_expiry_leaves_it_unknown():
    body = {"token": {"expires_at": "tomorrow", "catalog": []}}
    assert parse_login("t", body).expires_at is None


@pytest.mark.parametrize(
    ("token", "body", "reason"),
    [
        (None, fixture("token.json"), "X-Subject-Token"),
        ("", fixture("token.json"), "X-Subject-Token"),
        ("t", {"token": {"expires_at": "2030-01-01T00:00:00Z"}}, "catalog"),
        ("t", {"token": []}, "catalog"),
        ("t", [], "catalog"),
    ],
)
def test_incomplete_token_responses_are_unavailable(token, body, reason):
    with pytest.raises(SourceUnavailable, match=reason):
        parse_login(token, body)


@pytest.mark.parametrize(
    ("service", "region", "url"),
    [
        (
            "orchestration",
            None,
            "https://heat.example.net:8004/v1/3b9e2a7c1d4f4e8a9c0b6d5e2f1a7c48",
        ),
        ("orchestration", "", "https://heat.example.net:8004/v1/3b9e2a7c1d4f4e8a9c0b6d5e2f1a7c48"),
        (
            "orchestration",
            "RegionTwo",
            "https://heat.two.example.net:8004/v1/3b9e2a7c1d4f4e8a9c0b6d5e2f1a7c48",
        ),
        ("messaging", "RegionTwo", "https://zaqar.example.net:8888"),  # "region" only
        ("messaging-websocket", None, "wss://zaqar.example.net:9000"),
    ],
)
def test_the_first_public_endpoint_of_the_type_and_region_wins(service, region, url):
    assert find_endpoint(CATALOG, service, region) == url


@pytest.mark.parametrize(
    ("service", "region", "reason"),
    [
        (
            "orchestration",
            "RegionThree",
            "no public orchestration endpoint in region 'RegionThree'",
        ),
        ("messaging", "RegionOne", "no public messaging endpoint in region"),
        ("object-store", None, "no public object-store endpoint"),
    ],
)
def test_no_matching_endpoint_is_unavailable(service, region, reason):
    with pytest.raises(SourceUnavailable, match=reason):
        find_endpoint(CATALOG, service, region)


def test_internal_endpoints_are_never_used():
    catalog = [{"type": "orchestration", "endpoints": [{"interface": "internal", "url": "u"}]}]
    with pytest.raises(SourceUnavailable):
        find_endpoint(catalog, "orchestration", None)


# --- when a cached token may be reused ---------------------------------------------------------

NOW = 1_700_000_000.0


def entry(**changes) -> dict:
    value = {"token": "t", "catalog": [], "expires_at": NOW + 3600, "stored_at": NOW - 10}
    value.update(changes)
    return value


def test_a_fresh_entry_is_reused():
    assert token_cache.from_entry(entry(), NOW, 1800) == Login("t", [], NOW + 3600, True)


@pytest.mark.parametrize(
    ("changes", "ttl"),
    [
        ({"expires_at": NOW + EXPIRY_MARGIN}, 1800),  # too close to its expiry
        ({"expires_at": NOW - 1}, 1800),  # expired
        ({"stored_at": NOW - 1800}, 1800),  # older than cache_ttl
        ({}, 0),  # cache_ttl 0: never reused
        ({"stored_at": NOW + 60}, 1800),  # stored "in the future": the clock went back
        ({"expires_at": None}, 1800),  # expiry unknown
        ({"token": ""}, 1800),
        ({"catalog": {}}, 1800),
        ({"stored_at": "yesterday"}, 1800),
        ({"expires_at": True}, 1800),
    ],
)
def test_stale_or_malformed_entries_are_not_reused(changes, ttl):
    assert token_cache.from_entry(entry(**changes), NOW, ttl) is None


def test_the_entry_just_before_the_margin_is_still_reused():
    fresh = entry(expires_at=NOW + EXPIRY_MARGIN + 1)
    assert token_cache.from_entry(fresh, NOW, 1800) == Login("t", [], NOW + EXPIRY_MARGIN + 1, True)


def test_each_set_of_credentials_has_its_own_cache_file(tmp_path):
    one = Credentials("http://k/v3", "u", "pw", "p")
    assert token_cache.cache_owner(one) == token_cache.cache_owner(one._replace(password="x"))
    others = [
        one._replace(auth_url="http://k2/v3"),
        one._replace(user_id="u2"),
        one._replace(project_id="p2"),
        Credentials("http://k/v3u", "", "pw", "p"),  # same concatenation as "one"
    ]
    owners = {token_cache.cache_owner(c) for c in [one, *others]}
    assert len(owners) == 5
    state = State(str(tmp_path / ".occ"), "heat")
    assert os.path.dirname(token_cache.token_cache(state, None, one).path) == str(tmp_path / ".occ")
    elsewhere = token_cache.token_cache(state, str(tmp_path / "tokens"), one)
    assert os.path.dirname(elsewhere.path) == str(tmp_path / "tokens")


def test_credentials_never_show_the_password():
    assert "hunter22" not in repr(Credentials("http://k/v3", "u", "hunter22", "p"))


# --- logging in against a fake Keystone ---------------------------------------------------------


@pytest.fixture
def keystone():
    with FakeKeystone() as fake:
        fake.add_endpoint("orchestration", "http://heat.invalid/v1/p")
        yield fake


@pytest.fixture
def http():
    client = Http(pass_timeout=10, sleep=lambda seconds: None)
    yield client
    client.close()


def client(http, tmp_path, fake, *, auth_url=None, password=None, writable=True, **kwargs):
    credentials = Credentials(
        auth_url or fake.auth_url, fake.user_id, password or fake.password, fake.project_id
    )
    state = State(str(tmp_path / ".occ"), "heat", writable=writable)
    cache = token_cache.token_cache(state, kwargs.pop("cache_dir", None), credentials)
    return Keystone(http, cache, credentials, source="heat", timeout=2, **kwargs)


def endpoint_and_token(endpoint: str, token: str) -> tuple[str, str]:
    return endpoint, token


def test_a_v3_auth_url_is_discovered_then_used_for_the_token(http, tmp_path, keystone):
    endpoint, token = client(http, tmp_path, keystone).call(
        "orchestration", None, endpoint_and_token
    )
    assert endpoint == "http://heat.invalid/v1/p"
    assert keystone.valid(token)
    assert [(r.method, r.path) for r in keystone.requests] == [
        ("GET", "/v3"),
        ("POST", "/v3/auth/tokens"),
    ]
    post = keystone.requests[1]
    assert post.headers["Content-Type"] == "application/json"
    assert json.loads(post.body)["auth"]["identity"]["password"]["user"]["id"] == keystone.user_id
    assert redact.redact(f"token {token}") == "token ***"


def test_a_v2_auth_url_discovers_v3_from_the_unversioned_document(http, tmp_path, keystone):
    auth_url = keystone.url + "/v2.0"
    client(http, tmp_path, keystone, auth_url=auth_url).call("orchestration", None, str.__add__)
    assert [(r.method, r.path) for r in keystone.requests] == [
        ("GET", "/"),  # answered 300 Multiple Choices
        ("POST", "/v3/auth/tokens"),
    ]


def test_failed_discovery_falls_back_to_v3_in_place_of_v2(http, tmp_path, keystone):
    keystone.server.route("/", Reply(404), method="GET")
    client(http, tmp_path, keystone, auth_url=keystone.url + "/v2.0").call(
        "orchestration", None, str.__add__
    )
    assert keystone.requests[-1].path == "/v3/auth/tokens"


def test_discovery_without_v3_uses_the_auth_url_as_given(http, tmp_path, keystone):
    keystone.server.route("/v3", Reply.json(fixture("versions_v2_only.json")), method="GET")
    client(http, tmp_path, keystone).call("orchestration", None, str.__add__)
    assert keystone.requests[-1].path == "/v3/auth/tokens"


def test_the_token_is_cached_0600_and_reused_by_the_next_pass(http, tmp_path, keystone):
    first = client(http, tmp_path, keystone).call("orchestration", None, endpoint_and_token)
    requests = len(keystone.requests)
    second = client(http, tmp_path, keystone).call("orchestration", None, endpoint_and_token)
    assert second == first
    assert len(keystone.requests) == requests  # not one more request
    (cache_file,) = (tmp_path / ".occ").iterdir()
    assert cache_file.name.startswith("keystone-")
    assert stat.S_IMODE(cache_file.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / ".occ").stat().st_mode) == 0o700
    assert json.loads(cache_file.read_text())["token"] == first[1]


def test_cache_dir_holds_the_token_when_set(http, tmp_path, keystone):
    cache_dir = tmp_path / "a" / "tokens"
    client(http, tmp_path, keystone, cache_dir=str(cache_dir)).call(
        "orchestration", None, str.__add__
    )
    (cache_file,) = cache_dir.iterdir()
    assert stat.S_IMODE(cache_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE(cache_file.stat().st_mode) == 0o600
    assert not (tmp_path / ".occ").exists()


def test_print_mode_writes_no_token_cache(http, tmp_path, keystone):
    client(http, tmp_path, keystone, writable=False).call("orchestration", None, str.__add__)
    assert not (tmp_path / ".occ").exists()


def test_an_expired_cached_token_is_replaced(http, tmp_path, keystone):
    keystone.token_lifetime = EXPIRY_MARGIN - 1  # valid now, but too short-lived to reuse
    first = client(http, tmp_path, keystone).call("orchestration", None, endpoint_and_token)
    second = client(http, tmp_path, keystone).call("orchestration", None, endpoint_and_token)
    assert first[1] != second[1]
    assert keystone.issued() == 2


def test_a_token_older_than_cache_ttl_is_replaced(http, tmp_path, keystone):
    client(http, tmp_path, keystone, cache_ttl=0).call("orchestration", None, str.__add__)
    client(http, tmp_path, keystone, cache_ttl=0).call("orchestration", None, str.__add__)
    assert keystone.issued() == 2


def test_a_401_from_the_service_logs_in_again_once(http, tmp_path, keystone):
    client(http, tmp_path, keystone).call("orchestration", None, str.__add__)
    keystone.revoke_all()
    tokens = []

    def use(endpoint: str, token: str) -> str:
        tokens.append(token)
        if not keystone.valid(token):
            raise SourceUnavailable("rejected", http_status=401)
        return token

    token = client(http, tmp_path, keystone).call("orchestration", None, use)
    assert len(tokens) == 2 and token == tokens[1] != tokens[0]
    assert keystone.issued() == 2
    # ... and the new token is what the next pass reuses
    assert client(http, tmp_path, keystone).call("orchestration", None, use) == token


def test_a_second_401_is_final(http, tmp_path, keystone):
    def use(endpoint: str, token: str) -> str:
        raise SourceUnavailable("rejected", http_status=401)

    with pytest.raises(SourceUnavailable) as caught:
        client(http, tmp_path, keystone).call("orchestration", None, use)
    assert caught.value.http_status == 401
    assert keystone.issued() == 2


def test_a_dead_endpoint_with_a_cached_login_drops_the_cache(http, tmp_path, keystone):
    client(http, tmp_path, keystone).call("orchestration", None, str.__add__)

    def dead(endpoint: str, token: str) -> str:
        raise SourceUnavailable("connection refused")

    with pytest.raises(SourceUnavailable):
        client(http, tmp_path, keystone).call("orchestration", None, dead)
    client(http, tmp_path, keystone).call("orchestration", None, str.__add__)
    assert keystone.issued() == 2  # the catalog was read afresh


def test_an_http_error_from_the_service_keeps_the_cache(http, tmp_path, keystone):
    client(http, tmp_path, keystone).call("orchestration", None, str.__add__)

    def failing(endpoint: str, token: str) -> str:
        raise SourceUnavailable("HTTP 503", http_status=503)

    with pytest.raises(SourceUnavailable):
        client(http, tmp_path, keystone).call("orchestration", None, failing)
    client(http, tmp_path, keystone).call("orchestration", None, str.__add__)
    assert keystone.issued() == 1


def test_wrong_credentials_are_unavailable_with_401(http, tmp_path, keystone):
    with pytest.raises(SourceUnavailable) as caught:
        client(http, tmp_path, keystone, password="wrong-password").call(
            "orchestration", None, str.__add__
        )
    assert caught.value.http_status == 401
    assert "wrong-password" not in str(caught.value)


def test_a_missing_service_is_unavailable(http, tmp_path, keystone):
    with pytest.raises(SourceUnavailable, match="no public messaging endpoint"):
        client(http, tmp_path, keystone).call("messaging", None, str.__add__)


def test_keystone_down_is_unavailable(http, tmp_path, keystone):
    with FakeServer() as server:
        url = server.url + "/v3"  # nothing listens there once the server stopped
    with pytest.raises(SourceUnavailable, match="POST"):
        client(http, tmp_path, keystone, auth_url=url).call("orchestration", None, str.__add__)


def test_a_token_response_without_the_header_is_unavailable(http, tmp_path, keystone):
    keystone.server.route(
        "/v3/auth/tokens", Reply.json(fixture("token.json"), status=201), method="POST"
    )
    with pytest.raises(SourceUnavailable, match="X-Subject-Token"):
        client(http, tmp_path, keystone).call("orchestration", None, str.__add__)


@pytest.mark.parametrize("failing", ["mkdir", "fsync"])
def test_a_token_that_cannot_be_cached_is_still_used_and_the_next_pass_logs_in_again(
    http, tmp_path, keystone, caplog, monkeypatch, failing
):
    """A full disk when the token cache is written: creating its directory (CacheError) or
    making the file durable (OSError) fails; the pass goes on with the fresh token."""
    caplog.set_level(logging.WARNING, logger="occ")
    cache_dir = tmp_path / "tokens"

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with monkeypatch.context() as patch:
        patch.setattr(os, failing, full)
        endpoint, token = client(http, tmp_path, keystone, cache_dir=str(cache_dir)).call(
            "orchestration", None, endpoint_and_token
        )
    assert endpoint == "http://heat.invalid/v1/p"
    assert keystone.valid(token)
    (warning,) = [r for r in caplog.records if r.levelno == logging.WARNING]
    message = warning.getMessage()
    assert message.startswith("heat: cannot cache the Keystone token: ")
    assert message.endswith("No space left on device")
    assert token not in message
    assert not cache_dir.exists() or list(cache_dir.iterdir()) == []
    client(http, tmp_path, keystone, cache_dir=str(cache_dir)).call(
        "orchestration", None, endpoint_and_token
    )
    assert keystone.issued() == 2  # nothing was cached, so the next pass logged in again


@pytest.mark.parametrize("blocker", ["cache_dir_is_a_file", "token_file_is_a_directory"])
def test_an_unreadable_token_cache_is_ignored_and_the_login_still_works(
    http, tmp_path, keystone, blocker
):
    cache_dir = tmp_path / "tokens"
    if blocker == "cache_dir_is_a_file":
        cache_dir.write_text("")
    else:
        cache_dir.mkdir()
        owner = token_cache.cache_owner(
            Credentials(keystone.auth_url, keystone.user_id, "", keystone.project_id)
        )
        (cache_dir / f"{owner}.state").mkdir()
    endpoint, token = client(http, tmp_path, keystone, cache_dir=str(cache_dir)).call(
        "orchestration", None, endpoint_and_token
    )
    assert endpoint == "http://heat.invalid/v1/p"
    assert keystone.valid(token)
