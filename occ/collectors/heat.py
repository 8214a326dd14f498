"""The heat collector: a server's resource metadata from the Heat orchestration API.

It logs in to Keystone (``occ.collectors.keystone.client``, with token reuse between passes),
finds the public ``orchestration`` endpoint, and GETs
``stacks/<stack_id>/resources/<resource_name>/metadata``. A ``stack_id`` without ``/`` (a bare
name or id) is first resolved to ``name/id`` through the redirect Heat answers for
``stacks/<stack_id>``. The ``metadata`` object of the answer is the ``heat`` document, exploded
with the global ``deployment_key`` (doc/compatibility.rst, "heat collector")."""

from __future__ import annotations

from occ import urls
from occ.collectors import deployments
from occ.collectors.base import Collector
from occ.collectors.keystone.client import credentials, for_source
from occ.errors import SourceNotConfigured, SourceUnavailable
from occ.http.response import Response
from occ.log import lazy

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from occ.collectors.base import Output

LOG = lazy.logger(__name__)


def metadata_url(endpoint: str, stack_id: str, resource_name: str) -> str:
    """Return the metadata URL of a resource; both names percent-encoded with ``/`` kept."""
    stack, resource = urls.quote(stack_id), urls.quote(resource_name)
    return f"{endpoint.rstrip('/')}/stacks/{stack}/resources/{resource}/metadata"


def stack_from_location(location: str | None) -> str:
    """Return ``name/id`` from the Location of Heat's redirect for a bare stack name or id.

    Raise SourceUnavailable if there is no Location or it names no stack.
    """
    from urllib.parse import unquote  # only when a stack is looked up by name

    path = urls.split(location or "").path
    _, found, stack = path.partition("/stacks/")
    stack = unquote(stack).strip("/")
    if not found or not stack:
        raise SourceUnavailable("Heat did not redirect the stack lookup to a stack")
    return stack


def parse_metadata(body: Any) -> dict[str, Any]:
    """Return the document in a metadata answer (``{"metadata": {...}}``).

    Raise SourceUnavailable if it has no ``metadata`` object.
    """
    metadata = body.get("metadata") if isinstance(body, dict) else None
    if not isinstance(metadata, dict):
        raise SourceUnavailable("Heat's answer has no metadata object")
    return metadata


class HeatCollector(Collector):
    name = "heat"

    def collect(self) -> list[Output]:
        settings = self.settings
        found = credentials(settings)
        for key in ("stack_id", "resource_name"):
            if not settings.text(key):
                raise SourceNotConfigured(f"no {key}")
        client = for_source(self.context, settings, found, verify=self.tls_verify())
        document = client.call("orchestration", settings.text("region_name"), self._metadata)
        return deployments.explode(self.name, document, self.context.config.deployment_keys)

    def _metadata(self, endpoint: str, token: str) -> dict[str, Any]:
        """Return the resource's metadata. Raise SourceUnavailable on any failure."""
        stack_id = self.settings.text("stack_id") or ""
        resource_name = self.settings.text("resource_name") or ""
        if "/" not in stack_id:
            stack_id = self._resolve(endpoint, token, stack_id)
        url = metadata_url(endpoint, stack_id, resource_name)
        return parse_metadata(self._get(url, token, allow_redirects=True).json())

    def _resolve(self, endpoint: str, token: str, stack_id: str) -> str:
        url = f"{endpoint.rstrip('/')}/stacks/{urls.quote(stack_id)}"
        response = self._get(url, token, allow_redirects=False)
        stack = stack_from_location(response.headers.get("Location"))
        LOG.debug("heat: stack %s is %s", stack_id, stack)
        return stack

    def _get(self, url: str, token: str, *, allow_redirects: bool) -> Response:
        return self.context.http.request(
            "GET",
            url,
            source=self.name,
            timeout=self.settings.number("timeout"),
            verify=self.tls_verify(),
            headers={"X-Auth-Token": token, "Accept": "application/json"},
            allow_redirects=allow_redirects,
        )
