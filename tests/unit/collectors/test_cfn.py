"""cfn: SigV2 signing (known-answer vectors), XML parsing of Heat's answers, and the collector
against a fake heat-api-cfn that checks every signature."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import socket
from pathlib import Path

import pytest

from occ.collectors.cfn import sigv2
from occ.collectors.cfn.collector import parse_field, parse_path, select, url_from_hint
from occ.errors import SourceNotConfigured, SourceUnavailable
from tests.fakes.cfn import FakeCfn
from tests.fakes.server import Reply

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "cfn"

VECTORS = [
    # secret, host, path, AKID, StackName, LogicalResourceId, signature
    # (doc/compatibility.rst, "cfn collector")
    ("FEDCBA9876543210", "192.0.2.1:8000", "/v1/", "0123456789ABCDEF", "foo", "foo",
     "nQy/OJs22LTGH+NjGlgWVvXBCTv+mBCbw6+FXjrnZ2w="),
    ("SECRET", "127.0.0.1:18080", "/v1/", "AKID", "mystack", "server",
     "RmfEOug/oVQwHD96elzLQk8qz3J+My3OHPo5vzABkQo="),
    ("s3cr3t/key+", "heat.example.org:8000", "/v1/", "AK/ID", "my stack/ü~x", "Server 0",
     "orE8XpZQJYe+UlYVKFz/Xsn5+GJWHYoeoAbB2UTyC0A="),
]  # fmt: skip
REUSED_HMAC_SIGNATURE = "VHWuWOcff/LDxxk/wTPhk2yMmQHIcQsujK7Gf/Mqt84="


def params(akid: str, stack: str, resource: str) -> dict[str, str]:
    return {
        "Action": "DescribeStackResource",
        "StackName": stack,
        "LogicalResourceId": resource,
        "AWSAccessKeyId": akid,
        "SignatureVersion": "2",
        "SignatureMethod": "HmacSHA256",
    }


# --- signing ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("secret", "host", "path", "akid", "stack", "resource", "expected"), VECTORS
)
def test_signature_matches_the_known_answer_vectors(
    secret, host, path, akid, stack, resource, expected
):
    assert sigv2.signature(secret, "GET", host, path, params(akid, stack, resource)) == expected


def test_string_to_sign_and_canonical_query_match_the_contract():
    assert sigv2.string_to_sign("GET", "192.0.2.1:8000", "/v1/", params(*VECTORS[0][3:6])) == (
        "GET\n192.0.2.1:8000\n/v1/\nAWSAccessKeyId=0123456789ABCDEF&Action=DescribeStackResource"
        "&LogicalResourceId=foo&SignatureMethod=HmacSHA256&SignatureVersion=2&StackName=foo"
    )
    assert sigv2.canonical_query(params("AK/ID", "my stack/ü~x", "Server 0")) == (
        "AWSAccessKeyId=AK%2FID&Action=DescribeStackResource&LogicalResourceId=Server%200"
        "&SignatureMethod=HmacSHA256&SignatureVersion=2&StackName=my%20stack%2F%C3%BC~x"
    )


def test_every_signature_comes_from_a_fresh_hmac():
    secret, host, path, akid, stack, resource, expected = VECTORS[0]
    request = params(akid, stack, resource)
    # What the original's reused HMAC object produces for the second path: the vector that
    # must never come out of occ.
    reused = hmac.new(secret.encode(), digestmod=hashlib.sha256)
    message = sigv2.string_to_sign("GET", host, path, request).encode()
    reused.update(message)
    reused.digest()
    reused.update(message)
    assert base64.b64encode(reused.digest()).decode() == REUSED_HMAC_SIGNATURE
    first = sigv2.signature(secret, "GET", host, path, request)
    second = sigv2.signature(secret, "GET", host, path, request)
    assert first == second == expected


def test_the_signature_parameter_itself_is_not_signed():
    request = params("AKID", "s", "r")
    signed = sigv2.signature("k", "GET", "h", "/v1/", request)
    assert sigv2.signature("k", "GET", "h", "/v1/", {**request, "Signature": signed}) == signed


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("http://heat.example.org:8000/v1/", "heat.example.org:8000"),
        ("http://heat.example.org:80/v1/", "heat.example.org"),
        ("https://heat.example.org:443/v1/", "heat.example.org"),
        ("http://heat.example.org:443/v1/", "heat.example.org:443"),
        ("https://heat.example.org:80/v1/", "heat.example.org:80"),
        ("http://Heat.Example.ORG/v1/", "heat.example.org"),
        ("http://[2001:db8::1]:8000/v1/", "[2001:db8::1]:8000"),
        ("http://[2001:db8::1]:80/v1/", "[2001:db8::1]"),
    ],
)
def test_the_signed_host_is_the_host_header_a_client_sends(url, host):
    assert sigv2.host_header(url) == host


# --- hint, paths -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hint", "url"),
    [
        ("http://192.0.2.1:8000\n", "http://192.0.2.1:8000/v1/"),
        ("http://192.0.2.1:8000/", "http://192.0.2.1:8000/v1/"),
        ("http://192.0.2.1:8000/v1/", "http://192.0.2.1:8000/v1/"),
        ("  http://192.0.2.1:8000/v1\n", "http://192.0.2.1:8000/v1/"),
    ],
)
def test_the_hint_gets_v1_appended_once(hint, url):
    assert url_from_hint(hint) == url


@pytest.mark.parametrize("hint", ["", "\n", "192.0.2.1:8000", "file:///etc/passwd"])
def test_a_hint_that_is_not_a_url_makes_cfn_unavailable(hint):
    with pytest.raises(SourceUnavailable, match="hint"):
        url_from_hint(hint)


def test_paths_split_into_resource_field_and_sub_keys():
    assert parse_path("AppServer.Metadata") == ("AppServer.Metadata", "AppServer", "Metadata", ())
    assert parse_path("A.Metadata.x.y").keys == ("x", "y")


@pytest.mark.parametrize("path", ["AppServer", "", ".Metadata", "AppServer."])
def test_a_path_without_resource_and_field_is_not_configured(path):
    with pytest.raises(SourceNotConfigured):
        parse_path(path)


# --- parsing -----------------------------------------------------------------------------------


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def test_metadata_of_a_heat_answer_is_parsed_as_json():
    value = parse_field(fixture("describe_app_server.xml"), "Metadata")
    assert list(value) == ["os-collect-config", "deployments", "café"]
    assert value["deployments"][1]["config"] == "#!/bin/sh\necho & done"
    assert value["deployments"][2]["config"] == "plain <text>"


def test_an_encoding_declaration_is_honoured_because_bytes_are_parsed():
    assert parse_field(fixture("latin1_declared.xml"), "Metadata") == {"name": "café"}


def test_a_default_namespace_does_not_hide_the_elements():
    assert parse_field(fixture("namespaced.xml"), "Metadata") == {"role": "db"}


def test_empty_metadata_is_an_empty_object():
    assert parse_field(fixture("empty_metadata.xml"), "Metadata") == {}


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("no_result.xml", "no DescribeStackResourceResult"),
        ("no_detail.xml", "no StackResourceDetail"),
        ("no_metadata.xml", "no Metadata"),
        ("metadata_not_json.xml", "Metadata is not JSON"),
        ("malformed.xml", "not well-formed"),
        ("undeclared_entity.xml", "not well-formed"),
        ("billion_laughs.xml", "DOCTYPE"),
        ("external_entity.xml", "DOCTYPE"),
    ],
)
def test_malformed_answers_make_cfn_unavailable(name, reason):
    with pytest.raises(SourceUnavailable, match=reason):
        parse_field(fixture(name), "Metadata")


@pytest.mark.parametrize("body", [b"", b"not xml", b"<a>", "<a>é</a>".encode("latin-1")])
def test_garbage_bodies_make_cfn_unavailable(body):
    with pytest.raises(SourceUnavailable, match="not well-formed"):
        parse_field(body, "Metadata")


def test_sub_keys_select_part_of_the_metadata():
    value = {"a": {"b": {"c": 1}}, "x": 2}
    assert select(value, parse_path("R.Metadata.a.b")) == {"c": 1}
    assert select(value, parse_path("R.Metadata")) == value


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("R.Metadata.missing", "no key 'missing'"),
        ("R.Metadata.x.y", "no key 'y'"),
        ("R.Metadata.a.b.c", "not a JSON object"),
        ("R.Metadata.list", "not a JSON object"),
    ],
)
def test_missing_sub_keys_and_non_objects_make_cfn_unavailable(path, reason):
    value = {"a": {"b": {"c": 1}}, "x": 2, "list": [1]}
    with pytest.raises(SourceUnavailable, match=reason):
        select(value, parse_path(path))


def test_metadata_that_is_not_an_object_makes_cfn_unavailable():
    value = parse_field(fixture("metadata_list.xml"), "Metadata")
    with pytest.raises(SourceUnavailable, match="not a JSON object"):
        select(value, parse_path("R.Metadata"))


# --- the collector against a fake heat-api-cfn -------------------------------------------------


@pytest.fixture
def cfn():
    with FakeCfn() as server:
        server.add_resource("web", "AppServer", APP_SERVER)
        server.add_resource("web", "Db Server", {"role": "db", "deployments": []})
        yield server


APP_SERVER = {
    "os-collect-config": {"cfn": {"stack_name": "web"}},
    "deployments": [
        {"name": "dep-oac", "group": "os-apply-config", "config": {"port": 80}},
        {"name": "dep-script", "group": "script", "config": "#!/bin/sh"},
        {"name": "dep-plain", "config": "text"},
    ],
}


def settings_for(cfn: FakeCfn, **overrides) -> dict:
    values = {
        "metadata_url": cfn.metadata_url,
        "stack_name": "web",
        "access_key_id": cfn.access_key_id,
        "secret_access_key": cfn.secret_access_key,
        "path": "AppServer.Metadata",
        "timeout": "0.5",
    }
    values.update(overrides)
    return values


def ini(group: str, values: dict) -> str:
    """Return an INI section; a list value repeats the key, None leaves it out."""
    lines = [f"[{group}]"]
    for key, value in values.items():
        for item in value if isinstance(value, list) else [value]:
            if item is not None:
                lines.append(f"{key} = {item}")
    return "\n".join(lines) + "\n"


def collect(harness, cfn_settings: dict, *, default: dict | None = None) -> list:
    """Run the cfn collector once with ``[cfn]`` = ``cfn_settings``; return its outputs."""
    text = "".join(f"{k} = {v}\n" for k, v in (default or {}).items())
    return harness.collect("cfn", text + ini("cfn", cfn_settings))


def test_cfn_collects_signed_metadata_and_explodes_deployments(harness, cfn):
    outputs = collect(harness, settings_for(cfn))
    assert outputs == [
        ("cfn", APP_SERVER),
        ("dep-oac", {"port": 80}),
        ("dep-plain", "text"),
    ]
    (request,) = cfn.requests
    assert cfn.rejected == 0
    assert request.path == "/v1/"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Host"] == f"127.0.0.1:{cfn.server.port}"
    assert list(request.query) == [
        "Action",
        "StackName",
        "LogicalResourceId",
        "AWSAccessKeyId",
        "SignatureVersion",
        "SignatureMethod",
        "Signature",
    ]


def test_two_paths_are_signed_separately_and_merged(harness, cfn):
    paths = ["AppServer.Metadata.os-collect-config", "Db Server.Metadata"]
    outputs = collect(harness, settings_for(cfn, path=paths))
    assert outputs == [("cfn", {"cfn": {"stack_name": "web"}, "role": "db", "deployments": []})]
    assert cfn.rejected == 0
    assert [r.query["LogicalResourceId"] for r in cfn.requests] == [["AppServer"], ["Db Server"]]
    assert cfn.requests[1].target.count("Db+Server") == 1  # form-encoded on the wire


def test_cfn_explodes_with_its_own_deployment_key_not_the_global_one(harness, cfn):
    cfn.add_resource("web", "Other", {"mine": [{"name": "m", "config": 1}], "deployments": [
        {"name": "d", "config": 2}]})  # fmt: skip
    outputs = collect(
        harness,
        settings_for(cfn, path="Other.Metadata", deployment_key="mine"),
        default={"deployment_key": "deployments"},
    )
    assert [key for key, _ in outputs] == ["cfn", "m"]


def test_the_hint_file_gives_the_url_when_metadata_url_is_unset(harness, cfn):
    hint = harness.home / "cfn-metadata-server"
    hint.write_text(cfn.server.url + "/v1/\n")  # already ending in /v1/: not appended again
    outputs = collect(harness, settings_for(cfn, metadata_url=None, heat_metadata_hint=hint))
    assert outputs[0] == ("cfn", APP_SERVER)
    assert [r.path for r in cfn.requests] == ["/v1/"]


def test_an_empty_metadata_url_falls_back_to_the_hint(harness, cfn):
    hint = harness.home / "cfn-metadata-server"
    hint.write_text(cfn.server.url)
    outputs = collect(harness, settings_for(cfn, metadata_url="", heat_metadata_hint=hint))
    assert outputs[0] == ("cfn", APP_SERVER)


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"metadata_url": None}, "no metadata_url"),
        ({"access_key_id": None}, "no access_key_id"),
        ({"access_key_id": ""}, "no access_key_id"),
        ({"secret_access_key": None}, "no secret_access_key"),
        ({"path": None}, "no path"),
        ({"path": ""}, "not in the form"),
        ({"path": ["AppServer.Metadata", "AppServer"]}, "not in the form"),
        ({"stack_name": None}, "no stack_name"),
        ({"stack_name": ""}, "no stack_name"),
    ],
)
def test_missing_settings_mean_not_configured_and_nothing_is_sent(harness, cfn, overrides, reason):
    settings = settings_for(cfn, heat_metadata_hint=str(harness.home / "absent"), **overrides)
    with pytest.raises(SourceNotConfigured, match=reason):
        collect(harness, settings)
    assert cfn.requests == []


def test_a_wrong_secret_gets_403_and_cfn_is_unavailable(harness, cfn):
    with pytest.raises(SourceUnavailable) as caught:
        collect(harness, settings_for(cfn, secret_access_key="not-the-secret"))
    assert caught.value.http_status == 403
    assert cfn.rejected == 1


def test_the_host_signed_is_the_host_header_sent(harness, cfn):
    # The fake checks the signature against the Host header it received, as Heat does.
    url = f"http://localhost:{cfn.server.port}/v1/"
    outputs = collect(harness, settings_for(cfn, metadata_url=url))
    assert outputs[0] == ("cfn", APP_SERVER)
    assert cfn.requests[0].headers["Host"] == f"localhost:{cfn.server.port}"


def test_an_unknown_resource_makes_cfn_unavailable(harness, cfn):
    with pytest.raises(SourceUnavailable) as caught:
        collect(harness, settings_for(cfn, path="Nope.Metadata"))
    assert caught.value.http_status == 400


def test_a_server_that_is_down_makes_cfn_unavailable(harness, cfn):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(SourceUnavailable, match=r"GET http://127\.0\.0\.1"):
        collect(harness, settings_for(cfn, metadata_url=f"http://127.0.0.1:{port}/v1/"))


def test_a_hanging_server_makes_cfn_unavailable_after_the_timeout(harness, cfn):
    cfn.server.route("/v1/", Reply(hang=True))
    with pytest.raises(SourceUnavailable, match="no answer within"):
        collect(harness, settings_for(cfn, timeout="0.2"))


def test_a_5xx_then_success_is_retried(harness, cfn):
    good = cfn._answer
    replies = iter([Reply(503), None])
    cfn.server.route("/v1/", lambda request: next(replies) or good(request))
    assert collect(harness, settings_for(cfn))[0] == ("cfn", APP_SERVER)
    assert len(cfn.requests) == 2


def test_429_with_retry_after_is_retried(harness, cfn):
    good = cfn._answer
    replies = iter([Reply(429, headers={"Retry-After": "0"}), None])
    cfn.server.route("/v1/", lambda request: next(replies) or good(request))
    assert collect(harness, settings_for(cfn))[0] == ("cfn", APP_SERVER)


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("malformed.xml", "resource 'AppServer': the answer is not well-formed XML"),
        ("billion_laughs.xml", "DOCTYPE"),
        ("no_result.xml", "no DescribeStackResourceResult"),
        ("metadata_not_json.xml", "Metadata is not JSON"),
        ("metadata_list.xml", "not a JSON object"),
    ],
)
def test_malformed_answers_from_the_server_make_cfn_unavailable(harness, cfn, name, reason):
    cfn.server.route("/v1/", Reply(200, fixture(name)))
    with pytest.raises(SourceUnavailable, match=reason):
        collect(harness, settings_for(cfn))


def test_the_signature_and_key_id_never_reach_the_logs(harness, cfn, caplog):
    caplog.set_level(logging.DEBUG)
    with pytest.raises(SourceUnavailable) as caught:
        collect(harness, settings_for(cfn, secret_access_key="wrong-secret-value"))
    text = caplog.text + str(caught.value)
    assert "Signature=***" in str(caught.value)
    for secret in ("wrong-secret-value", cfn.access_key_id):
        assert secret not in text


def test_an_unreadable_hint_makes_cfn_unavailable(harness, cfn):
    hint = harness.home / "hint-directory"
    hint.mkdir()
    with pytest.raises(SourceUnavailable, match="cannot read"):
        collect(harness, settings_for(cfn, metadata_url=None, heat_metadata_hint=hint))


def test_absurdly_deep_json_makes_cfn_unavailable_instead_of_crashing():
    deep = b"[" * 100000 + b"]" * 100000
    body = b"<R><DescribeStackResourceResult><StackResourceDetail><Metadata>%s</Metadata>" % deep
    body += b"</StackResourceDetail></DescribeStackResourceResult></R>"
    with pytest.raises(SourceUnavailable, match="nested too deeply"):
        parse_field(body, "Metadata")
