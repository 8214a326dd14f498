"""A fake Keystone v3 identity service for the heat and zaqar tests.

Usage::

    with FakeKeystone() as keystone, FakeHeat(keystone) as heat:
        keystone.add_endpoint("orchestration", heat.endpoint)
        ... [heat] auth_url = keystone.auth_url, user_id = keystone.user_id ...

It answers version discovery (``GET /`` with 300 and both versions, ``GET /v3`` and
``GET /v2.0`` with one), and ``POST /v3/auth/tokens`` for project-scoped password logins with
exactly its credentials (anything else: 401). Tokens live ``token_lifetime`` seconds;
``valid(token)`` is what the fake services built on it check, and ``revoke_all()`` makes every
issued token invalid at once (a "401 mid-use").
"""

from __future__ import annotations

import datetime
import json
import secrets
import threading
import time
from typing import Any

from tests.fakes.server import FakeServer, Recorded, Reply

USER_ID = "7d1f0c2e5a8b4c39a1e6f0b2c4d8e913"
PASSWORD = "Qw7ZpL2mXc9RtY4vBn6K"
PROJECT_ID = "3b9e2a7c1d4f4e8a9c0b6d5e2f1a7c48"


class FakeKeystone:
    def __init__(
        self,
        *,
        user_id: str = USER_ID,
        password: str = PASSWORD,
        project_id: str = PROJECT_ID,
        token_lifetime: float = 3600.0,
    ) -> None:
        self.user_id = user_id
        self.password = password
        self.project_id = project_id
        self.token_lifetime = token_lifetime
        self.catalog: list[dict[str, Any]] = []
        self.tokens: dict[str, float] = {}  # valid token -> expiry (time.time())
        self.history: list[str] = []  # every token ever issued
        self._lock = threading.Lock()
        self.server = FakeServer()
        self.server.route("/", self._versions, method="GET")
        self.server.route("/v3", self._version_v3, method="GET")
        self.server.route("/v3/", self._version_v3, method="GET")
        self.server.route("/v2.0", self._version_v2, method="GET")
        self.server.route("/v3/auth/tokens", self._issue, method="POST")

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def auth_url(self) -> str:
        """What a Heat-rendered config holds: the v3 URL."""
        return self.server.url + "/v3"

    @property
    def requests(self) -> list[Recorded]:
        return self.server.requests

    def add_endpoint(
        self, service_type: str, url: str, *, region: str = "RegionOne", interface: str = "public"
    ) -> None:
        """Add an endpoint to the catalog of the tokens issued from now on."""
        for service in self.catalog:
            if service["type"] == service_type:
                break
        else:
            service = {"type": service_type, "id": secrets.token_hex(4), "endpoints": []}
            self.catalog.append(service)
        endpoint = {"interface": interface, "region_id": region, "region": region, "url": url}
        service["endpoints"].append(endpoint)

    def valid(self, token: str | None) -> bool:
        with self._lock:
            return token is not None and self.tokens.get(token, 0.0) > time.time()

    def revoke_all(self) -> None:
        with self._lock:
            self.tokens.clear()

    def section(self, group: str, values: dict[str, str | None]) -> str:
        """Return an INI ``[group]`` (heat or zaqar) holding this Keystone's credentials plus
        ``values``; a None value drops the key, so a test can leave any credential out."""
        settings: dict[str, str | None] = {
            "auth_url": self.auth_url,
            "user_id": self.user_id,
            "password": self.password,
            "project_id": self.project_id,
            "region_name": "",
            "timeout": "1",
            **values,
        }
        lines = "".join(f"{k} = {v}\n" for k, v in settings.items() if v is not None)
        return f"[{group}]\n{lines}"

    def issued(self) -> int:
        """Return how many token requests were answered with a token."""
        return sum(1 for r in self.server.requests_to("/v3/auth/tokens") if r.method == "POST")

    def _versions(self, request: Recorded) -> Reply:
        values = [self._v3(), self._v2()]
        return Reply.json({"versions": {"values": values}}, status=300)

    def _version_v3(self, request: Recorded) -> Reply:
        return Reply.json({"version": self._v3()})

    def _version_v2(self, request: Recorded) -> Reply:
        return Reply.json({"version": self._v2()})

    def _v3(self) -> dict[str, Any]:
        link = {"rel": "self", "href": self.url + "/v3/"}
        return {"id": "v3.14", "status": "stable", "links": [link]}

    def _v2(self) -> dict[str, Any]:
        link = {"rel": "self", "href": self.url + "/v2.0/"}
        return {"id": "v2.0", "status": "deprecated", "links": [link]}

    def _issue(self, request: Recorded) -> Reply:
        if not self._accepts(request.body):
            return Reply.json({"error": {"code": 401, "title": "Unauthorized"}}, status=401)
        token = "gAAAAA" + secrets.token_urlsafe(24)
        expires = time.time() + self.token_lifetime
        with self._lock:
            self.tokens[token] = expires
            self.history.append(token)
        when = datetime.datetime.fromtimestamp(expires, datetime.timezone.utc)
        body = {
            "token": {
                "methods": ["password"],
                "expires_at": when.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                "project": {"id": self.project_id},
                "user": {"id": self.user_id},
                "catalog": self.catalog,
            }
        }
        return Reply.json(body, status=201, headers={"X-Subject-Token": token})

    def _accepts(self, body: bytes) -> bool:
        try:
            auth = json.loads(body)["auth"]
            user = auth["identity"]["password"]["user"]
            methods = auth["identity"]["methods"]
            project = auth["scope"]["project"]["id"]
        except (ValueError, KeyError, TypeError):
            return False
        return (
            methods == ["password"]
            and user.get("id") == self.user_id
            and user.get("password") == self.password
            and project == self.project_id
        )

    def __enter__(self) -> FakeKeystone:
        self.server.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.server.stop()
