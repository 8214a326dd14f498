"""Keystone v3 password authentication and catalog lookup, shared by heat and zaqar.

``Keystone.call`` gives a source a service endpoint and a token, reusing a cached login when one
is still good (``occ.collectors.keystone.token_cache``), so that a pass with a valid token makes
no Keystone request at all. A token the service rejects with 401 is replaced once by a fresh
login. Discovery follows the original (doc/compatibility.rst, "Keystone"): ``/v2.0`` in the auth URL
is replaced by ``/`` to fetch the version document, the v3 entry's ``self`` link is the auth URL to
use, and when discovery fails ``/v2.0`` becomes ``/v3`` instead. The wire format is in
``occ.collectors.keystone.wire``."""

from __future__ import annotations

import time

from occ import redact
from occ.collectors.keystone import token_cache
from occ.collectors.keystone.token_cache import Credentials, Login
from occ.collectors.keystone.wire import (
    configured_v3,
    discovery_url,
    fallback_url,
    find_endpoint,
    parse_login,
    password_auth,
    trusted_v3,
    v3_url,
)
from occ.errors import CacheError, SourceNotConfigured, SourceUnavailable
from occ.log import lazy

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Callable, TypeVar

    from occ.collectors.base import Context
    from occ.config.model import Section
    from occ.core.state import State
    from occ.http.client import Http, Verify

    T = TypeVar("T")

LOG = lazy.logger(__name__)

JSON_HEADERS = {"Accept": "application/json"}


def credentials(settings: Section) -> Credentials:
    """Return the Keystone credentials in a heat or zaqar section.

    Raise SourceNotConfigured naming the first of auth_url, password, project_id and user_id
    (the original's order) that is unset or empty.
    """
    values = {}
    for key in ("auth_url", "password", "project_id", "user_id"):
        values[key] = settings.text(key)
        if not values[key]:
            raise SourceNotConfigured(f"no {key}")
    return Credentials(**values)  # type: ignore[arg-type]


def for_source(
    context: Context, settings: Section, found: Credentials, *, verify: Verify = True
) -> Keystone:
    """Return the Keystone client of the source configured by ``settings`` (heat or zaqar)
    with credentials ``found``, its token cache placed as ``[keystone]`` says."""
    options = context.config.section("keystone")
    cache_dir = options.text("cache_dir")
    return Keystone(
        context.http,
        token_cache.token_cache(context.state, cache_dir, found),
        found,
        source=settings.name,
        timeout=settings.number("timeout"),
        verify=verify,
        cache_ttl=options.integer("cache_ttl"),
    )


class Keystone:
    """Logins for one source's credentials, cached in ``cache`` between passes."""

    def __init__(
        self,
        http: Http,
        cache: State,
        credentials: Credentials,
        *,
        source: str,
        timeout: float,
        verify: Verify = True,
        cache_ttl: float = 1800,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.http = http
        self.cache = cache
        self.credentials = credentials
        self.source = source
        self.timeout = timeout
        self.verify = verify
        self.cache_ttl = cache_ttl
        self.clock = clock

    def call(self, service_type: str, region_name: str | None, use: Callable[[str, str], T]) -> T:
        """Return ``use(endpoint, token)`` for the public ``service_type`` endpoint.

        If ``use`` raises SourceUnavailable with HTTP status 401, log in again and call it
        once more. If it fails without any HTTP status (e.g. the endpoint does not answer)
        with a cached login, drop the cache so the next pass reads a fresh catalog.
        Raise SourceUnavailable if authentication, the lookup, or ``use`` fails.
        """
        login = self.login()
        try:
            return use(find_endpoint(login.catalog, service_type, region_name), login.token)
        except SourceUnavailable as exc:
            if exc.http_status != 401:
                if login.cached and exc.http_status is None:
                    self.cache.clear()
                raise
            LOG.debug("%s: the token was rejected (HTTP 401); logging in again", self.source)
        login = self.authenticate()
        return use(find_endpoint(login.catalog, service_type, region_name), login.token)

    def login(self) -> Login:
        """Return the cached login if it is still good, else a fresh one."""
        cached = token_cache.from_entry(self.cache.load(), self.clock(), self.cache_ttl)
        if cached is None:
            return self.authenticate()
        redact.register(cached.token)
        LOG.debug("%s: reusing the cached Keystone token", self.source)
        return cached

    def authenticate(self) -> Login:
        """Return a fresh login, and cache it. Raise SourceUnavailable if Keystone refuses."""
        url = self._discover().rstrip("/") + "/auth/tokens"
        response = self.http.request(
            "POST",
            url,
            source=self.source,
            timeout=self.timeout,
            verify=self.verify,
            headers=JSON_HEADERS,
            json=password_auth(self.credentials),
        )
        token = response.headers.get("X-Subject-Token")
        redact.register(token)  # before anything could log it
        login = parse_login(token, response.json())
        LOG.debug("%s: obtained a Keystone token", self.source)
        self._store(login)
        return login

    def _discover(self) -> str:
        auth_url = self.credentials.auth_url
        try:
            response = self.http.request(
                "GET",
                discovery_url(auth_url),
                source=self.source,
                timeout=self.timeout,
                verify=self.verify,
                headers=JSON_HEADERS,
            )
            found = v3_url(response.json())
        except SourceUnavailable as exc:
            LOG.debug("%s: Keystone version discovery failed (%s)", self.source, exc)
            return fallback_url(auth_url)
        if found and not trusted_v3(found, auth_url):
            # Common behind TLS-terminating proxies; following it could send the password
            # elsewhere or in clear text.
            LOG.info(
                "%s: Keystone's version document names %s, not on the configured %s; using %s",
                self.source,
                redact.redact(found),
                redact.redact(auth_url),
                configured_v3(auth_url),
            )
            return configured_v3(auth_url)
        return found or auth_url

    def _store(self, login: Login) -> None:
        if not self.cache.writable:
            return
        try:
            self.cache.save(token_cache.to_entry(login, self.clock()))
        except (OSError, CacheError) as exc:
            # Not fatal: the source still has its token; the next pass logs in again.
            LOG.warning("%s: cannot cache the Keystone token: %s", self.source, exc)
