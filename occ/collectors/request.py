"""The request collector: one JSON document at a URL, usually a Swift temporary URL that Heat
rewrites on every deployment change (doc/compatibility.rst, "request collector").

Between passes it keeps the response's validators (``ETag``, ``Last-Modified``) in its state
and sends a conditional GET; a 304 reuses the stored ``request.json``. That file can have been
overwritten by a deployment that happens to be named ``request`` (doc/compatibility.rst,
"Key collisions"), so the state also keeps a digest of the document and a mismatch means an
unconditional GET. The state holds digests, never the URL itself, which carries a signature.
In print mode every GET is unconditional and nothing is saved.
"""

from __future__ import annotations

from occ import jsonio
from occ.collectors import deployments
from occ.collectors.base import Collector
from occ.core.digest import sha256_hex
from occ.errors import SourceNotConfigured, SourceUnavailable
from occ.http.response import Response
from occ.log import lazy

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from occ.collectors.base import Output

LOG = lazy.logger(__name__)


def digest(value: Any) -> str:
    """Return a digest of a JSON value that ignores key order and formatting."""
    return sha256_hex(jsonio.dumps(value, sort_keys=True).encode())


def validators(headers: Any) -> dict[str, str]:
    """Return the validators worth keeping from response ``headers``: the ETag verbatim, and
    Last-Modified as an RFC 7231 date if it parses in any HTTP-date form (else it is dropped).
    An ETag with control characters is dropped: sent back, it would fail every later pass."""
    import datetime  # deferred: a pass where this source is not configured must stay light
    import email.utils

    from occ.http import headers as header_policy
    from occ.http import retry

    kept: dict[str, str] = {}
    etag = (headers.get("ETag") or "").strip()
    if etag and header_policy.valid_value(etag):  # it is sent back in If-None-Match
        kept["etag"] = etag
    modified = retry.http_date(headers.get("Last-Modified"))
    if modified is not None:
        utc = modified.astimezone(datetime.timezone.utc)
        kept["last_modified"] = email.utils.format_datetime(utc, usegmt=True)
    return kept


def conditional_headers(state: dict[str, Any]) -> dict[str, str]:
    """Return the If-None-Match / If-Modified-Since headers for the stored validators."""
    headers: dict[str, str] = {}
    if state.get("etag"):
        headers["If-None-Match"] = state["etag"]
    if state.get("last_modified"):
        headers["If-Modified-Since"] = state["last_modified"]
    return headers


class RequestCollector(Collector):
    name = "request"

    def collect(self) -> list[Output]:
        """Return ``[("request", document)]`` followed by its exploded deployments.

        Raise SourceNotConfigured without ``metadata_url``; raise SourceUnavailable on a
        transport or HTTP failure, or a body that is not a JSON object.
        """
        url = self.settings.text("metadata_url")
        if not url:
            raise SourceNotConfigured("[request] metadata_url is not set")
        url_digest = sha256_hex(url.encode())
        stored = self.context.state.load() if self.context.store else {}
        if stored.get("url") != url_digest:
            stored = {}
        document = self._fetch(url, conditional_headers(stored), stored.get("document"))
        return deployments.explode(self.name, document, self.context.config.deployment_keys)

    def _fetch(self, url: str, headers: dict[str, str], known: str | None) -> Any:
        """Return the document, reusing the stored one on 304 when it is still ours."""
        response = self._get(url, headers)
        if response.status == 304:
            cached = self._stored_document() if headers else None
            if cached is not None and digest(cached) == known:
                LOG.debug("request: not modified; reusing the stored document")
                return cached
            LOG.info("request: stored request.json is not the fetched document; fetching it again")
            response = self._get(url, {})
            if response.status == 304:
                raise SourceUnavailable(
                    f"{response.what()}: HTTP 304 to an unconditional request", http_status=304
                )
        document = response.json()
        if not isinstance(document, dict):
            raise SourceUnavailable(
                f"{response.what()}: the document is a JSON {type(document).__name__}, "
                "not an object",
                http_status=response.status,
            )
        self._save(url, validators(response.headers), digest(document))
        return document

    def _get(self, url: str, headers: dict[str, str]) -> Response:
        return self.context.http.get(
            url,
            source=self.name,
            timeout=self.settings.number("timeout"),
            headers=headers,
            verify=self.tls_verify(),
        )

    def _stored_document(self) -> Any:
        try:
            return self.context.cached(self.name)
        except (OSError, ValueError):
            return None

    def _save(self, url: str, kept: dict[str, str], document_digest: str) -> None:
        if not self.context.store:
            return
        state = {"url": sha256_hex(url.encode()), "document": document_digest}
        state.update(kept)
        try:
            self.context.state.save(state)
        except OSError as exc:  # validators are an optimisation; the document is still good
            LOG.warning("request: cannot save HTTP validators (%s); next pass fetches in full", exc)
