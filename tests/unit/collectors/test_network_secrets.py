"""No secret reaches a log record or an error message: cfn, heat and zaqar run at DEBUG (urllib3
included) with planted passwords, secret keys, tokens and signatures, succeeding and failing."""

from __future__ import annotations

import contextlib
import logging
import traceback
from urllib.parse import quote, quote_plus

import pytest

from occ.errors import OccError
from tests.fakes.cfn import FakeCfn
from tests.fakes.heat import FakeHeat
from tests.fakes.keystone import FakeKeystone
from tests.fakes.server import Reply
from tests.fakes.zaqar import FakeZaqar

PASSWORD = "planted-Password-4f1c9e"
SECRET_KEY = "planted-Secret+Key/77aa"
ACCESS_KEY = "planted-AccessKeyId-90bd"


@pytest.fixture
def debug_logs(caplog):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="urllib3")
    return caplog


def forms(secret: str) -> set[str]:
    """The ways a secret could be spelt in a log line."""
    return {secret, quote(secret, safe=""), quote_plus(secret)}


def run(harness, name: str, ini: str, errors: list[str]) -> None:
    """Run one pass of ``name``; keep the whole error report (with its chain) if it fails."""
    try:
        harness.collect(name, ini)
    except OccError as exc:
        errors.append("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))


def assert_nothing_leaked(secrets: set[str], caplog, errors: list[str]) -> None:
    assert caplog.records, "the test captured no log records at all"
    text = "\n".join(r.getMessage() for r in caplog.records) + "\n" + "\n".join(errors)
    for secret in secrets:
        for form in forms(secret):
            assert form not in text, f"a secret ({form[:10]}...) leaked"


def test_cfn_leaks_no_key_or_signature(harness, debug_logs):
    errors: list[str] = []
    with FakeCfn(access_key_id=ACCESS_KEY, secret_access_key=SECRET_KEY) as cfn:
        cfn.add_resource("web", "AppServer", {"a": 1})
        ini = (
            f"[cfn]\nmetadata_url = {cfn.metadata_url}\nstack_name = web\npath = AppServer.Metadata"
            f"\naccess_key_id = {ACCESS_KEY}\nsecret_access_key = {SECRET_KEY}\ntimeout = 1\n"
        )
        run(harness, "cfn", ini, errors)  # succeeds
        cfn.server.route("/v1/", Reply(503))
        run(harness, "cfn", ini, errors)  # retried, then fails: the URL is in the message
        signatures = {r.query["Signature"][0] for r in cfn.requests}
    assert len(errors) == 1 and "Signature=***" in errors[0]
    assert_nothing_leaked({SECRET_KEY, ACCESS_KEY, *signatures}, debug_logs, errors)


@pytest.fixture
def cloud():
    """Keystone (with the planted password), Heat and Zaqar, wired through the catalog."""
    with contextlib.ExitStack() as stack:
        keystone = stack.enter_context(FakeKeystone(password=PASSWORD))
        heat = stack.enter_context(FakeHeat(keystone))
        zaqar = stack.enter_context(FakeZaqar(keystone))
        heat.add_stack("s", "i", {"R": {"a": 1}})
        keystone.add_endpoint("orchestration", heat.endpoint)
        keystone.add_endpoint("messaging", zaqar.url)
        zaqar.queues.post("q", {"b": 2})
        yield keystone, heat, zaqar


def test_heat_and_zaqar_leak_no_password_or_token(harness, debug_logs, cloud):
    keystone, heat, zaqar = cloud
    errors: list[str] = []
    common = (
        f"auth_url = {keystone.auth_url}\nuser_id = {keystone.user_id}\n"
        f"password = {PASSWORD}\nproject_id = {keystone.project_id}\ntimeout = 1\n"
    )
    heat_ini = f"[heat]\n{common}stack_id = s/i\nresource_name = R\n"
    zaqar_ini = f"[zaqar]\n{common}queue_id = q\n"
    run(harness, "heat", heat_ini, errors)  # logs in
    run(harness, "zaqar", zaqar_ini, errors)  # reuses the token
    keystone.revoke_all()
    run(harness, "heat", heat_ini, errors)  # 401, logs in again
    heat.server.fallback = lambda request: Reply.json({}, status=401)
    run(harness, "heat", heat_ini, errors)  # 401 twice: unavailable
    zaqar.server.fallback = lambda request: Reply(500, request.headers["X-Auth-Token"])
    run(harness, "zaqar", zaqar_ini, errors)  # an error page echoing the token
    run(harness, "heat", heat_ini.replace(PASSWORD, PASSWORD + "-wrong"), errors)
    tokens = set(keystone.history)
    assert len(tokens) >= 3 and len(errors) == 3
    assert_nothing_leaked({PASSWORD, *tokens}, debug_logs, errors)
