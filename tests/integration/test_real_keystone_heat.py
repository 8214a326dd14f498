"""The heat collector against real Keystone and a Heat-shaped endpoint behind the real
keystonemiddleware auth_token filter (tests/integration/deployment.py).

Every count of requests comes from the services' own request logs, and counts only the
program's requests (its User-Agent, ``python-requests/...``): keystonemiddleware's token
validations (``python-keystoneclient``, ``keystonemiddleware.auth_token/...``) and the test
suite's own calls (``occ-integration-setup/1``) reach Keystone too.
"""

from __future__ import annotations

import re
import secrets
import time

import pytest

from tests.integration.deployment import METADATA, SHORT_EXPIRATION, STACK_ID, STACK_NAME

pytestmark = pytest.mark.integration

LOGIN = ("POST", "/v3/auth/tokens")


def program(log, mark):
    """Return the program's requests since ``mark`` as (method, path) pairs."""
    return [(r["method"], r["path"]) for r in log.program(mark)]


def metadata_path(region: str, deployment) -> str:
    return (
        f"/{region}/v1/{deployment.project_id}/stacks/{STACK_NAME}/{STACK_ID}"
        "/resources/server/metadata"
    )


def test_first_pass_logs_in_discovers_and_fetches_the_metadata(instance, deployment):
    instance.configure("heat")
    keystone_mark, heat_mark = deployment.keystone.log.mark(), deployment.heat_log.mark()

    instance.one_time()

    # One discovery GET of the configured .../v3, one login, nothing else.
    assert program(deployment.keystone.log, keystone_mark) == [("GET", "/v3"), LOGIN]
    # The stack name is resolved through Heat's redirect, then the metadata fetched.
    heat = [(r["path"], r["status"]) for r in deployment.heat_log.program(heat_mark)]
    assert heat == [
        (f"/RegionOne/v1/{deployment.project_id}/stacks/{STACK_NAME}", 302),
        (metadata_path("RegionOne", deployment), 200),
    ]
    assert instance.cached("heat") == {**METADATA, "served_by": "RegionOne"}


def test_later_passes_reuse_the_token_and_make_no_keystone_request(instance, deployment):
    instance.configure("heat", heat={"stack_id": f"{STACK_NAME}/{STACK_ID}"})
    instance.one_time()
    keystone_mark, heat_mark = deployment.keystone.log.mark(), deployment.heat_log.mark()

    for _ in range(3):
        instance.one_time()

    assert program(deployment.keystone.log, keystone_mark) == []
    fetched = [(r["path"], r["status"]) for r in deployment.heat_log.program(heat_mark)]
    assert fetched == [(metadata_path("RegionOne", deployment), 200)] * 3
    # ... and the reused token was really checked by Keystone each time, not by us.
    validations = [
        r
        for r in deployment.keystone.log.since(keystone_mark)
        if r["method"] == "GET" and r["path"] == "/v3/auth/tokens"
    ]
    assert len(validations) >= 3


def test_a_revoked_token_leads_to_exactly_one_new_login(instance, deployment):
    instance.configure("heat")
    instance.one_time()
    revoked = instance.cached_login()["token"]
    deployment.revoke(revoked)
    keystone_mark, heat_mark = deployment.keystone.log.mark(), deployment.heat_log.mark()

    result = instance.one_time("--force")

    assert program(deployment.keystone.log, keystone_mark) == [("GET", "/v3"), LOGIN]
    statuses = [r["status"] for r in deployment.heat_log.program(heat_mark)]
    assert statuses[0] == 401  # the middleware, asking Keystone, refused the revoked token
    assert statuses[-1] == 200 and 401 not in statuses[1:]
    assert instance.cached_login()["token"] != revoked
    assert "WARNING" not in result.stderr


def test_a_token_that_expires_between_passes_is_renewed(instance, deployment):
    # A second Keystone process over the same database and keys issues tokens that expire
    # after SHORT_EXPIRATION seconds; the program stops reusing a token 300 s before expiry.
    short = deployment.short_keystone()
    instance.configure("heat", heat={"auth_url": short.url + "/v3"})
    mark = short.log.mark()
    instance.one_time()
    first = instance.cached_login()
    assert abs(first["expires_at"] - (first["stored_at"] + SHORT_EXPIRATION)) < 5

    instance.one_time("--force")  # still well before expiry: reused
    assert len(short.program_logins(mark)) == 1

    time.sleep(max(0.0, first["expires_at"] - 300 - time.time() + 0.5))
    mark = short.log.mark()
    instance.one_time("--force")

    assert len(short.program_logins(mark)) == 1
    assert instance.cached_login()["token"] != first["token"]
    assert instance.cached("heat")["served_by"] == "RegionOne"


def test_a_wrong_password_warns_once_and_leaks_nowhere(instance, deployment):
    wrong = "Wr0ng" + secrets.token_urlsafe(12)
    instance.configure("heat", heat={"password": wrong})
    keystone_mark = deployment.keystone.log.mark()

    result = instance.one_time(check=None)

    logins = deployment.keystone.program_logins(keystone_mark)
    assert [r["status"] for r in logins] == [401]  # refused by Keystone, not retried
    warnings = [line for line in result.stderr.splitlines() if "WARNING" in line]
    assert len(warnings) == 1, result.stderr
    assert "heat" in warnings[0] and "401" in warnings[0], warnings
    assert not (instance.cachedir / "heat.json").exists()
    assert instance.token_caches() == []
    for secret in (wrong, deployment.password):
        assert secret not in result.stdout + result.stderr
        for path in instance.root.rglob("*"):
            if path.is_file() and path != instance.config:
                assert secret.encode() not in path.read_bytes(), path


@pytest.mark.parametrize(
    ("region", "served_by"),
    [("RegionOne", {"RegionOne"}), ("RegionTwo", {"RegionTwo"}), ("", {"RegionOne", "RegionTwo"})],
)
def test_the_public_endpoint_of_the_region_is_chosen_from_the_real_catalog(
    instance, deployment, region, served_by
):
    instance.configure("heat", heat={"region_name": region})
    instance.one_time()
    # Keystone's catalog has internal and admin orchestration endpoints too (Heat-shaped
    # endpoints under /internal and /admin); only a public one may be used.
    catalog = instance.cached_login()["catalog"]
    (orchestration,) = [s for s in catalog if s["type"] == "orchestration"]
    interfaces = {e["interface"] for e in orchestration["endpoints"]}
    assert interfaces == {"public", "internal", "admin"}
    assert instance.cached("heat")["served_by"] in served_by


def test_a_region_without_the_service_makes_the_source_unavailable(instance, deployment):
    instance.configure("heat", heat={"region_name": "RegionOne"})
    instance.one_time()
    instance.configure("heat", heat={"region_name": "RegionThree"})
    heat_mark = deployment.heat_log.mark()

    result = instance.one_time(check=None)

    assert deployment.heat_log.program(heat_mark) == []
    assert "no public orchestration endpoint in region 'RegionThree'" in result.stderr


@pytest.mark.parametrize(
    ("suffix", "discovery"),
    [
        ("", ""),  # GET http://host:port: Keystone's root answers 300 with the versions
        ("/", "/"),
        ("/v2.0", "/"),  # the original's rule: /v2.0 becomes / for discovery
        ("/v3", "/v3"),
        ("/v3/", "/v3/"),
    ],
)
def test_every_auth_url_form_logs_in(instance, deployment, suffix, discovery):
    instance.configure("heat", heat={"auth_url": deployment.keystone.url + suffix})
    mark = deployment.keystone.log.mark()

    instance.one_time()

    requests = deployment.keystone.log.program(mark)
    assert [(r["method"], r["path"] or "/") for r in requests] == [("GET", discovery or "/"), LOGIN]
    assert requests[0]["status"] in (200, 300)
    assert requests[1]["status"] == 201
    assert instance.cached("heat")["served_by"] == "RegionOne"


def test_an_auth_url_without_a_scheme_is_a_configuration_error(instance, deployment):
    hostport = deployment.keystone.url.removeprefix("http://")
    instance.configure("heat", heat={"auth_url": hostport})
    mark = deployment.keystone.log.mark()

    result = instance.one_time(check=78)

    assert re.search(r"\[heat\] auth_url", result.stderr), result.stderr
    assert deployment.keystone.log.program(mark) == []
