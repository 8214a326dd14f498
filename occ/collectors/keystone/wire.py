"""The Keystone v3 wire format: version discovery, password authentication, token responses
and catalog lookup (doc/compatibility.rst, "Keystone"). Pure functions, no I/O.
"""

from __future__ import annotations

from occ import urls
from occ.collectors.keystone.token_cache import Credentials, Login
from occ.errors import SourceUnavailable
from occ.http import headers
from occ.http.redirects import origin

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def discovery_url(auth_url: str) -> str:
    """Return the URL of the version document for ``auth_url``."""
    return auth_url.replace("/v2.0", "/")


def fallback_url(auth_url: str) -> str:
    """Return the v3 URL to try when version discovery fails."""
    return auth_url.replace("/v2.0", "/v3")


def configured_v3(auth_url: str) -> str:
    """Return the v3 URL on the configured origin: the auth URL itself when it names v3 (a
    path prefix such as ``/identity/v3`` is kept), else ``<scheme>://<host:port>/v3``."""
    v3 = fallback_url(auth_url)
    try:
        if "/v3" in urls.split(v3).path:
            return v3
        parts = urls.split(auth_url)
    except ValueError:  # not a URL at all: nothing better to offer than the configured value
        return v3
    return urls.join(parts.scheme, parts.netloc, "/v3", "", "")


def trusted_v3(found: str | None, auth_url: str) -> bool:
    """Return True if discovery's v3 ``self`` link ``found`` may receive the password: it is
    on the configured origin (same scheme, so never https -> http; same host and port)."""
    return bool(found) and origin(found or "") == origin(auth_url) != ("", "", None)


def v3_url(document: Any) -> str | None:
    """Return the ``self`` link of the v3 entry of a version document (one ``version``, or a
    ``versions`` list, bare or under ``values``), or None if it offers no v3."""
    if not isinstance(document, dict):
        return None
    versions: Any = document.get("versions")
    if isinstance(versions, dict):
        versions = versions.get("values")
    if "version" in document:
        versions = [document["version"]]
    for version in versions if isinstance(versions, list) else ():
        if not isinstance(version, dict) or not str(version.get("id", "")).startswith("v3"):
            continue
        for link in version.get("links") or ():
            if isinstance(link, dict) and link.get("rel") == "self" and link.get("href"):
                return str(link["href"])
    return None


def password_auth(credentials: Credentials) -> dict[str, Any]:
    """Return the body of a project-scoped v3 password authentication request."""
    user = {"id": credentials.user_id, "password": credentials.password}
    return {
        "auth": {
            "identity": {"methods": ["password"], "password": {"user": user}},
            "scope": {"project": {"id": credentials.project_id}},
        }
    }


def parse_login(token: str | None, body: Any) -> Login:
    """Return the login from a token response: the ``X-Subject-Token`` header value and the
    parsed body. An ``expires_at`` that cannot be parsed leaves the expiry unknown.

    Raise SourceUnavailable if the token or the catalog is missing.
    """
    if not token:
        raise SourceUnavailable("Keystone answered without an X-Subject-Token header")
    if not headers.valid_value(token):  # it goes into X-Auth-Token headers
        raise SourceUnavailable("Keystone's X-Subject-Token holds control characters")
    details = body.get("token") if isinstance(body, dict) else None
    catalog = details.get("catalog") if isinstance(details, dict) else None
    if not isinstance(catalog, list):
        raise SourceUnavailable("Keystone's token response has no service catalog")
    assert isinstance(details, dict)
    return Login(token, catalog, _timestamp(details.get("expires_at")))


def _timestamp(text: Any) -> float | None:
    if not isinstance(text, str):
        return None
    import datetime

    from dateutil import (
        parser as dateparser,
    )  # deferred: a pass where this source is not configured must stay light

    try:
        when = dateparser.isoparse(text)
    except (ValueError, OverflowError):
        return None
    if when.tzinfo is None:  # Keystone's times are UTC
        when = when.replace(tzinfo=datetime.timezone.utc)
    return when.timestamp()


def find_endpoint(catalog: list[Any], service_type: str, region_name: str | None) -> str:
    """Return the URL of the first public endpoint of ``service_type`` in ``catalog``, in
    ``region_name`` unless that is empty.

    Raise SourceUnavailable if there is none.
    """
    for service in catalog:
        if not isinstance(service, dict) or service.get("type") != service_type:
            continue
        for endpoint in service.get("endpoints") or ():
            if not isinstance(endpoint, dict) or endpoint.get("interface") != "public":
                continue
            region = endpoint.get("region_id") or endpoint.get("region")
            if region_name and region != region_name:
                continue
            if isinstance(endpoint.get("url"), str) and endpoint["url"]:
                return str(endpoint["url"])
    where = f" in region {region_name!r}" if region_name else ""
    raise SourceUnavailable(f"the Keystone catalog has no public {service_type} endpoint{where}")
