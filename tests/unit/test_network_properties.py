"""Property-based tests over what network servers answer: EC2 listings and trees, Keystone
version documents, tokens and catalogs, Heat and Zaqar answers, CFN XML, any body as JSON, any
redirect Location and any header value. Whatever arrives, the parsers return or raise the
program's own errors (OccError), never anything else (issue 9).

Examples are derandomized and bounded by the "ci" profile in tests/conftest.py.
"""

from __future__ import annotations

from typing import Any

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from occ.collectors import heat  # noqa: E402
from occ.collectors.cfn import collector as cfn  # noqa: E402
from occ.collectors.ec2 import walk as ec2  # noqa: E402
from occ.collectors.keystone import wire  # noqa: E402
from occ.collectors.zaqar import protocol  # noqa: E402
from occ.errors import OccError, SourceUnavailable  # noqa: E402
from occ.http import headers, redirects  # noqa: E402
from occ.http.response import Response  # noqa: E402

text = st.text(st.characters(codec=None, exclude_categories=()), max_size=40)
WIRE_KEYS = "id links rel self href version versions values token catalog metadata messages body"
keys = text | st.sampled_from([*WIRE_KEYS.split(), "type", "endpoints", "interface", "url"])
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | text | st.just("v3.14"),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
    max_leaves=20,
)
urls = text | st.from_regex(r"\A(https?|ftp|file)://[a-z0-9.:\[\]@%-]{0,20}(/[^\s]{0,20})?\Z")


def only_own_errors(function: Any, *args: Any) -> Any:
    try:
        return function(*args)
    except OccError:
        return None


@given(text)
def test_ec2_listings_parse_to_keys_and_children(listing):
    for key, child in ec2.parse_listing(listing):
        assert key and "\n" not in key and child.startswith(key)


class _Tree:
    """A session that answers every URL from a generated table (unknown URLs: empty)."""

    def __init__(self, answers: dict[str, str]) -> None:
        self.answers = answers

    def fetch(self, url: str) -> str:
        return self.answers.get(url.rsplit("/", 2)[-2] if url.endswith("/") else url, "")


@given(st.dictionaries(text, text, max_size=6))
def test_an_ec2_tree_of_any_listings_is_walked_or_refused(answers):
    tree = only_own_errors(ec2.walk, _Tree(answers), "http://169.254.169.254/latest/meta-data/")
    assert tree is None or isinstance(tree, dict)


@given(json_values, urls)
def test_keystone_version_documents(document, auth_url):
    found = wire.v3_url(document)
    assert found is None or isinstance(found, str)
    if wire.trusted_v3(found, auth_url):
        assert redirects.origin(found or "") == redirects.origin(auth_url)
    assert isinstance(wire.configured_v3(auth_url), str)


@given(st.one_of(st.none(), text), json_values, text, st.one_of(st.none(), text))
def test_keystone_token_answers_and_catalogs(token, body, service_type, region):
    login = only_own_errors(wire.parse_login, token, body)
    if login is not None:
        assert headers.valid_value(login.token)
        only_own_errors(wire.find_endpoint, login.catalog, service_type, region)


@given(json_values, st.one_of(st.none(), text))
def test_heat_answers(body, location):
    only_own_errors(heat.parse_metadata, body)
    only_own_errors(heat.stack_from_location, location)


@given(json_values)
def test_zaqar_answers(document):
    message = only_own_errors(protocol.first_message, document)
    assert message is None or isinstance(message, protocol.Message)


@given(st.binary(max_size=200) | text.map(lambda t: t.encode("utf-8", "surrogatepass")), text)
def test_cfn_answers(body, field):
    only_own_errors(cfn.parse_field, body, field or "Metadata")


@given(st.binary(max_size=200), st.sampled_from(["application/json", "text/html", "", "x"]))
def test_any_body_is_json_or_unavailable(body, content_type):
    response = Response("GET", "http://h/x", 200, {"Content-Type": content_type}, body)
    only_own_errors(response.json)
    assert isinstance(response.text, str)


@given(urls, urls, text, st.sampled_from(sorted(redirects.REDIRECT_STATUSES)), st.booleans())
def test_a_credential_never_follows_a_redirect_off_its_origin(first, url, location, status, cred):
    hop = only_own_errors(
        lambda: redirects.next_hop(first, url, "GET", status, location, credentials=cred)
    )
    if hop is not None and cred:
        assert redirects.origin(hop.url) == redirects.origin(first)


@given(st.dictionaries(text, text, max_size=3))
def test_header_values_are_sent_or_refused_without_being_shown(values):
    try:
        headers.check(values, "GET http://h/")
    except SourceUnavailable as exc:
        for value in values.values():
            assert len(value) < 4 or value not in str(exc)
