"""What the process environment says about a request's route: its proxy and its CA bundle.

Read as requests reads them with ``trust_env`` (``*_proxy`` and ``no_proxy`` variables,
``REQUESTS_CA_BUNDLE`` and ``CURL_CA_BUNDLE``), but once per origin instead of on every
request, and without ``~/.netrc``: a metadata service is never sent credentials the
configuration does not name. Where no proxy variable is set (most instances), requests is not
imported to find that out, so that requests can take the stdlib path (``occ.http.plain``).
"""

from __future__ import annotations

import os

from occ import urls
from occ.http import redirects, retry

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from occ.http.tls import Verify


def _proxy_variables() -> bool:
    """Return True if any proxy variable (other than ``no_proxy``) is set to something."""
    return any(
        value and name.lower().endswith("_proxy") and name.lower() != "no_proxy"
        for name, value in os.environ.items()
    )


class Environment:
    """Proxies and CA verification per origin, worked out once (the proxy choice depends only
    on the scheme, host and port)."""

    def __init__(self) -> None:
        self._known: dict[tuple[Any, Verify], dict[str, Any]] = {}

    def settings(self, url: str, verify: Verify) -> dict[str, Any]:
        """Return requests' ``proxies``, ``verify``, ``stream`` and ``cert`` for ``url``."""
        key = (redirects.origin(url), verify)
        settings = self._known.get(key)
        if settings is None:
            if retry.never_proxied(url) or not _proxy_variables():
                proxies: dict[str, str] = {}
            else:
                import requests.utils  # only where a proxy may apply: it costs most of a start

                proxies = requests.utils.get_environ_proxies(url)
            if verify is True:  # requests' variables for a CA bundle, as with trust_env
                verify = (
                    os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
                )
            settings = {"proxies": proxies, "verify": verify, "stream": True, "cert": None}
            self._known[key] = settings
        return settings


def direct(url: str, proxies: dict[str, str]) -> bool:
    """Return True if none of ``proxies`` (``Environment.settings``' for ``url``) applies to
    ``url``, so that the stdlib path (``occ.http.plain``) can take it."""
    if not proxies:
        return True
    parts = urls.split(url)
    scheme, host = parts.scheme.lower(), parts.hostname
    # The keys requests' select_proxy would look up for this URL.
    keys = (f"{scheme}://{host}", scheme, f"all://{host}", "all")
    return not any(key in proxies for key in keys)
