"""The cfn collector: resource metadata from Heat's CloudFormation-compatible API.

For every ``[cfn] path`` (``Resource.Field[.key...]``) it sends one ``DescribeStackResource``
request signed with AWS signature version 2, takes the JSON text of ``Field`` from the XML
answer, walks the sub-keys, and merges the results (shallow update) into the ``cfn`` document,
which is then exploded with ``[cfn] deployment_key`` (doc/compatibility.rst, "cfn collector").
Any malformed answer makes the source unavailable; nothing here crashes a pass
(doc/compatibility.rst, "cfn crashes"). The XML is parsed from the response bytes with a DOCTYPE
refused outright, so neither entity expansion nor external entities can be used against the parser.
"""

from __future__ import annotations

import json
import os
from urllib.parse import urlencode, urlsplit, urlunsplit

from occ import redact
from occ.collectors import deployments
from occ.collectors.base import Collector
from occ.errors import SourceNotConfigured, SourceUnavailable
from occ.log import lazy

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, NamedTuple
    from xml.etree import ElementTree

    from occ.collectors.base import Output
else:
    from occ.records import NamedTuple

LOG = lazy.logger(__name__)


class Path(NamedTuple):
    """One parsed ``[cfn] path``: ``text`` as configured, and its parts."""

    text: str
    resource: str
    field: str
    keys: tuple[str, ...]


def parse_path(text: str) -> Path:
    """Return the parts of ``Resource.Field[.key...]``.

    Raise SourceNotConfigured if there is no ``.`` or the resource or field is empty.
    """
    resource, dot, rest = text.partition(".")
    field, *keys = rest.split(".")
    if not dot or not resource or not field:
        raise SourceNotConfigured(f"path {text!r} is not in the form Resource.Field[.key...]")
    return Path(text, resource, field, tuple(keys))


def url_from_hint(text: str) -> str:
    """Return the API base for the contents of a hint file (``http://host:8000``), with
    ``/v1/`` appended once: a hint that already ends in ``/v1`` or ``/v1/`` keeps it.

    Raise SourceUnavailable if the hint does not hold an http(s) URL.
    """
    base = text.strip().rstrip("/")
    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SourceUnavailable("the heat metadata hint file does not hold an http(s) URL")
    return base + "/" if base.endswith("/v1") else base + "/v1/"


def read_xml(body: bytes) -> ElementTree.Element:
    """Return the root element of an XML document given as bytes (so an encoding declaration
    is honoured). Raise SourceUnavailable if it is malformed or has a DOCTYPE."""
    from xml.etree import (
        ElementTree,
    )  # deferred: a pass where this source is not configured must stay light
    from xml.parsers import expat

    builder = ElementTree.TreeBuilder()
    parser = expat.ParserCreate()

    def refuse(*_args: Any) -> None:
        raise SourceUnavailable("refusing an XML answer with a DOCTYPE declaration")

    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.ExternalEntityRefHandler = refuse  # type: ignore[assignment]
    parser.StartElementHandler = builder.start
    parser.EndElementHandler = builder.end
    parser.CharacterDataHandler = builder.data
    parser.buffer_text = True
    try:
        parser.Parse(body, True)
        return builder.close()
    except (expat.ExpatError, AssertionError) as exc:
        raise SourceUnavailable(f"the answer is not well-formed XML ({exc})") from None


def parse_field(body: bytes, field: str) -> Any:
    """Return the JSON value held by ``field`` in a DescribeStackResource answer; an empty
    element (Heat's empty metadata) gives ``{}``.

    Raise SourceUnavailable if the XML is malformed, lacks DescribeStackResourceResult,
    StackResourceDetail or the field, or the field's text is not JSON.
    """
    element: ElementTree.Element | None = read_xml(body)
    for name in ("DescribeStackResourceResult", "StackResourceDetail", field):
        assert element is not None
        element = element.find(name)
        if element is None:
            raise SourceUnavailable(f"the answer has no {name} element")
    assert element is not None
    text = element.text or ""
    if not text.strip():
        return {}
    try:
        return json.loads(text)
    except ValueError as exc:
        raise SourceUnavailable(f"{field} is not JSON ({exc})") from None
    except RecursionError:  # absurdly deep nesting, e.g. [[[[...]]]]
        raise SourceUnavailable(f"{field} is nested too deeply") from None


def select(value: Any, path: Path) -> dict[str, Any]:
    """Return the object reached from ``value`` by the sub-keys of ``path``.

    Raise SourceUnavailable if a sub-key is missing or the result is not an object.
    """
    for key in path.keys:
        if not isinstance(value, dict) or key not in value:
            raise SourceUnavailable(f"path {path.text!r}: no key {key!r}")
        value = value[key]
    if not isinstance(value, dict):
        raise SourceUnavailable(f"path {path.text!r} is not a JSON object")
    return value


class Target(NamedTuple):
    """What every request of one pass needs."""

    url: str
    host: str
    stack_name: str
    access_key_id: str
    secret: str


class CfnCollector(Collector):
    name = "cfn"

    def collect(self) -> list[Output]:
        paths = self._paths()
        target = self._target()
        document: dict[str, Any] = {}
        for path in paths:
            body = self._describe(target, path)
            try:
                value = parse_field(body, path.field)
            except SourceUnavailable as exc:
                raise SourceUnavailable(f"resource {path.resource!r}: {exc}") from None
            document.update(select(value, path))
        return deployments.explode(self.name, document, self.settings.items_of("deployment_key"))

    def _paths(self) -> list[Path]:
        """Return the configured paths. Raise SourceNotConfigured if anything required is
        unset, in the original's order (URL or hint, key id, secret, path), then stack_name."""
        settings = self.settings
        hint = settings.text("heat_metadata_hint")
        if not settings.text("metadata_url") and not (hint and os.path.exists(hint)):
            raise SourceNotConfigured("no metadata_url, and no heat_metadata_hint file")
        for key in ("access_key_id", "secret_access_key"):
            if not settings.text(key):
                raise SourceNotConfigured(f"no {key}")
        if not settings.items_of("path"):
            raise SourceNotConfigured("no path")
        paths = [parse_path(text) for text in settings.items_of("path")]
        if not settings.text("stack_name"):
            raise SourceNotConfigured("no stack_name")
        return paths

    def _target(self) -> Target:
        # deferred: a pass where this source is not configured must stay light
        from occ.collectors.cfn import sigv2

        settings = self.settings
        url = settings.text("metadata_url") or self._url_from_hint()
        access_key_id = settings.text("access_key_id") or ""
        redact.register(access_key_id)  # it identifies the credential; keep it out of logs
        try:
            host = sigv2.host_header(url)
        except ValueError as exc:
            raise SourceUnavailable(f"unusable metadata_url ({exc})") from None
        secret = settings.text("secret_access_key") or ""
        return Target(url, host, settings.text("stack_name") or "", access_key_id, secret)

    def _url_from_hint(self) -> str:
        hint = self.settings.text("heat_metadata_hint") or ""
        try:
            with open(hint, encoding="utf-8") as handle:
                text = handle.read()
        except (OSError, UnicodeDecodeError) as exc:
            raise SourceUnavailable(f"cannot read {hint}: {exc}") from None
        return url_from_hint(text)

    def _describe(self, target: Target, path: Path) -> bytes:
        """Return the body of a signed DescribeStackResource request for ``path``'s resource.
        Raise SourceUnavailable on any HTTP failure (403: signature or key rejected)."""
        from occ.collectors.cfn import sigv2

        parts = urlsplit(target.url)
        params = {
            "Action": "DescribeStackResource",
            "StackName": target.stack_name,
            "LogicalResourceId": path.resource,
            "AWSAccessKeyId": target.access_key_id,
            "SignatureVersion": sigv2.SIGNATURE_VERSION,
            "SignatureMethod": sigv2.SIGNATURE_METHOD,
        }
        url_path = parts.path or "/"
        params["Signature"] = sigv2.signature(target.secret, "GET", target.host, url_path, params)
        url = urlunsplit((parts.scheme, parts.netloc, url_path, urlencode(params), ""))
        LOG.debug("cfn: describing resource %s of stack %s", path.resource, target.stack_name)
        response = self.context.http.request(
            "GET",
            url,
            source=self.name,
            timeout=self.settings.number("timeout"),
            # The signed host must be the Host header sent, so send it explicitly.
            headers={"Host": target.host, "Content-Type": "application/json"},
            verify=self.tls_verify("ca_certificate"),
        )
        return response.body
