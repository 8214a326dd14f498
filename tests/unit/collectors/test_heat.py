"""heat: resource metadata through Keystone and the Heat API, against fakes on 127.0.0.1;
token reuse across passes, re-authentication, stack lookup and every failure."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from occ.collectors.heat import metadata_url, parse_metadata, stack_from_location
from occ.errors import SourceNotConfigured, SourceUnavailable
from tests.fakes.heat import FakeHeat
from tests.fakes.keystone import FakeKeystone
from tests.fakes.server import FakeServer, Reply

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "heat"
METADATA = json.loads((FIXTURES / "metadata.json").read_text())["metadata"]
STACK, STACK_ID = "web-tier-7xk2p", "5c2a9e41-8d3b-4f7a-b6e0-91c4d2a8f375"


# --- pure parts --------------------------------------------------------------------------------


def test_the_metadata_url_quotes_names_but_keeps_slashes():
    assert metadata_url("http://h:8004/v1/P/", "stack/id-1", "Controller 0") == (
        "http://h:8004/v1/P/stacks/stack/id-1/resources/Controller%200/metadata"
    )


@pytest.mark.parametrize(
    ("location", "stack"),
    [
        ("http://h:8004/v1/P/stacks/web/5c2a", "web/5c2a"),
        ("/v1/P/stacks/web/5c2a/", "web/5c2a"),
        ("http://h:8004/v1/P/stacks/my%20web/5c2a", "my web/5c2a"),
    ],
)
def test_the_stack_is_read_from_the_redirect(location, stack):
    assert stack_from_location(location) == stack


@pytest.mark.parametrize("location", [None, "", "http://h/v1/P/", "http://h/v1/P/stacks/"])
def test_a_redirect_without_a_stack_is_unavailable(location):
    with pytest.raises(SourceUnavailable, match="redirect"):
        stack_from_location(location)


def test_the_document_is_the_metadata_object():
    assert parse_metadata(json.loads((FIXTURES / "metadata.json").read_text())) == METADATA


@pytest.mark.parametrize("name", ["no_metadata.json", "metadata_list.json"])
def test_answers_without_a_metadata_object_are_unavailable(name):
    with pytest.raises(SourceUnavailable, match="no metadata object"):
        parse_metadata(json.loads((FIXTURES / name).read_text()))


# --- against fake Keystone and Heat ------------------------------------------------------------


@pytest.fixture
def heat(keystone):
    with FakeHeat(keystone) as fake:
        fake.add_stack(STACK, STACK_ID, {"AppServer": METADATA, "Controller 0": {"c": 0}})
        keystone.add_endpoint("orchestration", fake.endpoint)
        yield fake


def ini(keystone: FakeKeystone, **changes: str | None) -> str:
    resource = {"stack_id": f"{STACK}/{STACK_ID}", "resource_name": "AppServer"}
    return keystone.section("heat", {**resource, **changes})


def all_requests(keystone: FakeKeystone, heat: FakeHeat) -> list[tuple[str, str]]:
    return [(r.method, r.path) for r in keystone.requests + heat.requests]


def test_heat_returns_the_metadata_and_explodes_deployments(harness, keystone, heat):
    outputs = harness.collect("heat", ini(keystone))
    assert outputs == [
        ("heat", METADATA),
        ("dep-oac", {"nginx": {"port": 8080}}),
        ("dep-ungrouped", ["a", "b"]),
    ]
    path = f"/v1/{keystone.project_id}/stacks/{STACK}/{STACK_ID}/resources/AppServer/metadata"
    assert all_requests(keystone, heat) == [
        ("GET", "/v3"),
        ("POST", "/v3/auth/tokens"),
        ("GET", path),
    ]
    request = heat.requests[0]
    assert keystone.valid(request.headers["X-Auth-Token"])
    assert request.headers["Accept"] == "application/json"


def test_heat_explodes_with_the_global_deployment_keys(harness, keystone, heat):
    heat.add_stack("s", "i", {"R": {"mine": [{"name": "m", "config": 1}], "deployments": []}})
    text = "deployment_key = mine\n" + ini(keystone, stack_id="s/i", resource_name="R")
    assert [key for key, _ in harness.collect("heat", text)] == ["heat", "m"]


def test_a_second_pass_with_a_valid_token_makes_exactly_one_request(harness, keystone, heat):
    first = harness.collect("heat", ini(keystone))
    before = len(all_requests(keystone, heat))
    second = harness.collect("heat", ini(keystone))
    assert second == first
    assert len(all_requests(keystone, heat)) == before + 1
    assert heat.requests[-1].path.endswith("/resources/AppServer/metadata")


def test_names_with_spaces_are_percent_encoded(harness, keystone, heat):
    outputs = harness.collect("heat", ini(keystone, resource_name="Controller 0"))
    assert outputs == [("heat", {"c": 0})]
    assert heat.requests[-1].path.endswith("/resources/Controller%200/metadata")


@pytest.mark.parametrize("stack_id", [STACK, STACK_ID])
def test_a_bare_stack_name_or_id_is_resolved_through_the_redirect(
    harness, keystone, heat, stack_id
):
    assert harness.collect("heat", ini(keystone, stack_id=stack_id))[0] == ("heat", METADATA)
    lookup, metadata = heat.requests
    assert lookup.path == f"/v1/{keystone.project_id}/stacks/{stack_id}"
    assert metadata.path.endswith(f"/stacks/{STACK}/{STACK_ID}/resources/AppServer/metadata")


def test_an_expired_token_is_replaced_on_the_next_pass(harness, keystone, heat):
    keystone.token_lifetime = 2.0  # too short-lived to be reused
    harness.collect("heat", ini(keystone))
    assert harness.collect("heat", ini(keystone))[0] == ("heat", METADATA)
    assert keystone.issued() == 2
    first, second = (r.headers["X-Auth-Token"] for r in heat.requests)
    assert first != second


def test_a_token_revoked_mid_use_is_replaced_once(harness, keystone, heat):
    harness.collect("heat", ini(keystone))
    keystone.revoke_all()
    assert harness.collect("heat", ini(keystone))[0] == ("heat", METADATA)
    assert keystone.issued() == 2
    tokens = [r.headers["X-Auth-Token"] for r in heat.requests]
    assert len(tokens) == 3 and tokens[0] == tokens[1] != tokens[2]
    # the fresh token is cached: the next pass is one request again
    before = len(all_requests(keystone, heat))
    harness.collect("heat", ini(keystone))
    assert len(all_requests(keystone, heat)) == before + 1


def test_a_token_heat_keeps_rejecting_is_unavailable_after_one_retry(harness, keystone, heat):
    heat.server.fallback = lambda request: Reply.json({"error": "no"}, status=401)
    with pytest.raises(SourceUnavailable) as caught:
        harness.collect("heat", ini(keystone))
    assert caught.value.http_status == 401
    assert keystone.issued() == 2
    assert len(heat.requests) == 2


@pytest.mark.parametrize(
    "missing", ["auth_url", "password", "project_id", "user_id", "stack_id", "resource_name"]
)
@pytest.mark.parametrize("value", [None, ""])
def test_missing_settings_mean_not_configured_and_nothing_is_sent(
    harness, keystone, heat, missing, value
):
    with pytest.raises(SourceNotConfigured, match=f"no {missing}"):
        harness.collect("heat", ini(keystone, **{missing: value}))
    assert all_requests(keystone, heat) == []


def test_the_region_selects_the_endpoint(harness, keystone, heat):
    keystone.catalog.clear()
    keystone.add_endpoint("orchestration", "http://127.0.0.1:9/nowhere", region="RegionOne")
    keystone.add_endpoint("orchestration", heat.endpoint, region="RegionTwo")
    assert harness.collect("heat", ini(keystone, region_name="RegionTwo"))[0][0] == "heat"
    with pytest.raises(SourceUnavailable, match="region 'RegionThree'"):
        harness.collect("heat", ini(keystone, region_name="RegionThree"))


def test_no_orchestration_endpoint_is_unavailable(harness, keystone, heat):
    keystone.catalog.clear()
    with pytest.raises(SourceUnavailable, match="no public orchestration endpoint"):
        harness.collect("heat", ini(keystone))


def test_wrong_credentials_are_unavailable(harness, keystone, heat):
    with pytest.raises(SourceUnavailable) as caught:
        harness.collect("heat", ini(keystone, password="not-the-password"))
    assert caught.value.http_status == 401
    assert heat.requests == []


def test_keystone_down_is_unavailable(harness, keystone, heat):
    with FakeServer() as gone:
        url = gone.url + "/v3"
    with pytest.raises(SourceUnavailable, match="POST"):
        harness.collect("heat", ini(keystone, auth_url=url))


def test_heat_down_is_unavailable(harness, keystone, heat):
    keystone.catalog.clear()
    with FakeServer() as gone:
        keystone.add_endpoint("orchestration", gone.url + "/v1/p")
    with pytest.raises(SourceUnavailable, match="GET http"):
        harness.collect("heat", ini(keystone))


def test_a_hanging_heat_is_unavailable_after_the_timeout(harness, keystone, heat):
    heat.server.fallback = lambda request: Reply(hang=True)
    with pytest.raises(SourceUnavailable, match=r"no answer within 0\.2"):
        harness.collect("heat", ini(keystone, timeout="0.2"))


def test_a_5xx_then_success_is_retried(harness, keystone, heat):
    answer = heat.server.fallback
    replies = iter([Reply(502)])
    heat.server.fallback = lambda request: next(replies, None) or answer(request)
    assert harness.collect("heat", ini(keystone))[0] == ("heat", METADATA)
    assert len(heat.requests) == 2


def test_429_with_retry_after_is_honoured(harness, keystone, heat):
    answer = heat.server.fallback
    replies = iter([Reply(429, headers={"Retry-After": "1"})])
    heat.server.fallback = lambda request: next(replies, None) or answer(request)
    assert harness.collect("heat", ini(keystone))[0] == ("heat", METADATA)
    assert harness.sleeps == [1.0]


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (Reply(200, b"<html>proxy error</html>", {"Content-Type": "text/html"}), "HTML"),
        (Reply(200, b"{not json"), "not JSON"),
        (Reply.json({"stack": 1}), "no metadata object"),
        (Reply.json({"metadata": [1]}), "no metadata object"),
    ],
)
def test_malformed_answers_are_unavailable(harness, keystone, heat, reply, reason):
    heat.server.fallback = lambda request: reply
    with pytest.raises(SourceUnavailable, match=reason):
        harness.collect("heat", ini(keystone))


def test_an_unknown_resource_or_stack_is_unavailable_with_404(harness, keystone, heat):
    for changes in ({"resource_name": "Nope"}, {"stack_id": "nope"}):
        with pytest.raises(SourceUnavailable) as caught:
            harness.collect("heat", ini(keystone, **changes))
        assert caught.value.http_status == 404


def test_a_lookup_that_does_not_redirect_is_unavailable(harness, keystone, heat):
    heat.server.route(f"/v1/{keystone.project_id}/stacks/{STACK}", Reply.json({"stack": {}}))
    with pytest.raises(SourceUnavailable, match="did not redirect"):
        harness.collect("heat", ini(keystone, stack_id=STACK))


def test_keystone_cache_dir_keeps_the_token_there(harness, keystone, heat):
    cache_dir = harness.home / "keystone-cache"
    text = ini(keystone) + f"[keystone]\ncache_dir = {cache_dir}\n"
    harness.collect("heat", text)
    harness.collect("heat", text)
    assert keystone.issued() == 1
    assert [p.name[:9] for p in cache_dir.iterdir()] == ["keystone-"]


def test_an_oversized_answer_is_unavailable(harness, keystone, heat):
    heat.add_stack("big", "1", {"R": {"blob": "x" * 5000}})
    with pytest.raises(SourceUnavailable, match="larger than max_response_size"):
        text = ini(keystone, stack_id="big/1", resource_name="R")
        harness.collect("heat", text, max_response_size=4096)
