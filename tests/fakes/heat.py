"""A fake Heat orchestration API: stack lookup redirects and resource metadata.

Usage::

    with FakeKeystone() as keystone, FakeHeat(keystone) as heat:
        heat.add_stack("web", "5c2a9e41", {"AppServer": {"deployments": []}})
        keystone.add_endpoint("orchestration", heat.endpoint)

Every request needs an ``X-Auth-Token`` that the Keystone fake still considers valid (else
401). ``GET <endpoint>/stacks/<name or id>`` redirects (302) to ``stacks/<name>/<id>``;
``GET <endpoint>/stacks/<name>/<id>/resources/<resource>/metadata`` answers
``{"metadata": ...}``. Paths are percent-decoded as Heat does. ``server.route`` can still
script any path (a 500, a hang ...) over this behaviour.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from tests.fakes.keystone import FakeKeystone
from tests.fakes.server import FakeServer, Recorded, Reply


class FakeHeat:
    def __init__(self, keystone: FakeKeystone) -> None:
        self.keystone = keystone
        self.project_id = keystone.project_id
        self.stacks: dict[tuple[str, str], dict[str, Any]] = {}  # (name, id) -> resources
        self.server = FakeServer()
        self.server.fallback = self._answer

    @property
    def endpoint(self) -> str:
        return f"{self.server.url}/v1/{self.project_id}"

    @property
    def requests(self) -> list[Recorded]:
        return self.server.requests

    def add_stack(self, name: str, stack_id: str, resources: dict[str, Any]) -> None:
        """Add a stack whose resources have the given metadata documents."""
        self.stacks[(name, stack_id)] = resources

    def _answer(self, request: Recorded) -> Reply:
        if not self.keystone.valid(request.headers.get("X-Auth-Token")):
            return Reply.json({"error": {"code": 401, "title": "Unauthorized"}}, status=401)
        prefix = f"/v1/{self.project_id}/stacks/"
        if request.method != "GET" or not request.path.startswith(prefix):
            return Reply(404, b"not found")
        parts = [unquote(p) for p in request.path[len(prefix) :].split("/")]
        if len(parts) == 1:
            return self._lookup(parts[0])
        if len(parts) == 5 and parts[2] == "resources" and parts[4] == "metadata":
            resources = self.stacks.get((parts[0], parts[1]))
            if resources is not None and parts[3] in resources:
                return Reply.json({"metadata": resources[parts[3]]})
        return Reply.json({"error": {"code": 404, "title": "Not Found"}}, status=404)

    def _lookup(self, name_or_id: str) -> Reply:
        for name, stack_id in self.stacks:
            if name_or_id in (name, stack_id):
                location = f"{self.endpoint}/stacks/{name}/{stack_id}"
                return Reply(302, b"", {"Location": location})
        return Reply.json({"error": {"code": 404, "title": "Not Found"}}, status=404)

    def __enter__(self) -> FakeHeat:
        self.server.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.server.stop()
