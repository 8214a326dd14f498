"""A fake Heat CloudFormation-compatible API (``heat-api-cfn``) that checks signatures.

Usage::

    with FakeCfn() as cfn:
        cfn.add_resource("web", "AppServer", {"deployments": []})
        ... [cfn] metadata_url = cfn.metadata_url, access_key_id = cfn.access_key_id ...

``GET /v1/?Action=DescribeStackResource&...`` is answered like Heat: the signature is
recomputed from the request's own Host header, method, path and parameters with the secret of
the access key (independently of occ's signer), and a mismatch or an unknown key gives 403.
A known resource gets the XML document with its metadata as JSON text; an unknown one 400.
``server.route("/v1/", Reply(...))`` scripts raw answers (malformed XML ...) instead.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any
from urllib.parse import quote
from xml.etree import ElementTree

from tests.fakes.server import FakeServer, Recorded, Reply

ACCESS_KEY_ID = "0a9b8c7d6e5f40312a3b4c5d6e7f8091"
SECRET_ACCESS_KEY = "6f0d9c3b2a8e47d1b5c4e3f2a1908d7c"


def expected_signature(secret: str, method: str, host: str, path: str, query: dict) -> str:
    """Heat's (and AWS's) SigV2 check, written from the specification."""
    pairs = sorted((k, v[0]) for k, v in query.items() if k != "Signature")
    canonical = "&".join(
        quote(k, safe="") + "=" + quote(v.encode("utf-8"), safe="-_~") for k, v in pairs
    )
    message = f"{method}\n{host}\n{path}\n{canonical}".encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def describe_xml(stack: str, resource: str, metadata: Any) -> bytes:
    """Return a DescribeStackResource answer as heat-api-cfn writes it."""
    root = ElementTree.Element("DescribeStackResourceResponse")
    result = ElementTree.SubElement(root, "DescribeStackResourceResult")
    detail = ElementTree.SubElement(result, "StackResourceDetail")
    for name, text in (
        ("StackName", stack),
        ("LogicalResourceId", resource),
        ("ResourceStatus", "CREATE_COMPLETE"),
        ("Metadata", json.dumps(metadata) if metadata is not None else None),
    ):
        ElementTree.SubElement(detail, name).text = text
    return ElementTree.tostring(root, encoding="utf-8", xml_declaration=True)


class FakeCfn:
    def __init__(
        self, *, access_key_id: str = ACCESS_KEY_ID, secret_access_key: str = SECRET_ACCESS_KEY
    ) -> None:
        self.keys = {access_key_id: secret_access_key}
        self.access_key_id = access_key_id
        self.secret_access_key = secret_access_key
        self.resources: dict[tuple[str, str], Any] = {}
        self.rejected = 0  # requests answered 403
        self.server = FakeServer()
        self.server.route("/v1/", self._answer)

    @property
    def metadata_url(self) -> str:
        return self.server.url + "/v1/"

    @property
    def requests(self) -> list[Recorded]:
        return self.server.requests

    def add_resource(self, stack: str, resource: str, metadata: Any) -> None:
        self.resources[(stack, resource)] = metadata

    def _answer(self, request: Recorded) -> Reply:
        query = request.query
        secret = self.keys.get(_one(query, "AWSAccessKeyId"))
        signature = _one(query, "Signature")
        host = request.headers.get("Host") or ""
        if secret is None or signature != expected_signature(
            secret, request.method, host, request.path, query
        ):
            self.rejected += 1
            return Reply(
                403,
                b"<ErrorResponse><Error><Code>SignatureDoesNotMatch</Code></Error></ErrorResponse>",
            )
        key = (_one(query, "StackName"), _one(query, "LogicalResourceId"))
        if _one(query, "Action") != "DescribeStackResource" or key not in self.resources:
            return Reply(
                400, b"<ErrorResponse><Error><Code>ValidationError</Code></Error></ErrorResponse>"
            )
        body = describe_xml(key[0], key[1], self.resources[key])
        return Reply(200, body, {"Content-Type": "application/xml"})

    def __enter__(self) -> FakeCfn:
        self.server.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.server.stop()


def _one(query: dict[str, list[str]], name: str) -> str:
    values = query.get(name) or [""]
    return values[0]
