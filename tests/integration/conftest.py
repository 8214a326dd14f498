"""Fixtures of the integration stage: one real deployment per session (Keystone, the
Heat-shaped endpoint, redis, Zaqar; tests/integration/deployment.py), and a throw-away instance
of the program per test that runs the real entry point against it."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Run
from tests.integration.deployment import RESOURCE, STACK_NAME, Deployment
from tests.integration.services import redis_server, service_python


@pytest.fixture(scope="session")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    """Keystone and the Heat-shaped endpoint, started once per session."""
    python = service_python()
    deployment = Deployment(python, tmp_path_factory.mktemp("services"))
    try:
        deployment.start_keystone()
        deployment.start_heat()
        yield deployment
    finally:
        deployment.stop()


@pytest.fixture(scope="session")
def zaqar(deployment: Deployment) -> Deployment:
    """The deployment with redis and Zaqar (HTTP and websocket) running too."""
    deployment.start_zaqar(redis_server())
    return deployment


class Instance:
    """One instance of the program: its configuration, cache and logs under ``root``."""

    def __init__(self, root: Path, deployment: Deployment) -> None:
        self.root = root
        self.deployment = deployment
        self.cachedir = root / "cache"
        self.config = root / "os-collect-config.conf"
        self.log_file = root / "occ.log"
        self.run = Run(root / "home")
        self.run.home.mkdir(parents=True)

    def configure(
        self,
        *collectors: str,
        heat: dict[str, Any] | None = None,
        zaqar: dict[str, Any] | None = None,
        extra: str = "",
    ) -> None:
        """Write the configuration: ``collectors`` with the deployment's credentials,
        overridden by ``heat`` and ``zaqar``."""
        deployment = self.deployment
        credentials = {
            "auth_url": deployment.keystone.url + "/v3",
            "user_id": deployment.user_id,
            "password": deployment.password,
            "project_id": deployment.project_id,
        }
        lines = [
            "[DEFAULT]",
            "command = true",
            f"cachedir = {self.cachedir}",
            f"backup_cachedir = {self.root / 'backup'}",
            f"hook_env_file = {self.root / 'run' / 'hook.env'}",
            f"log_file = {self.log_file}",
            *(f"collectors = {name}" for name in collectors),
        ]
        sections = {
            "heat": {
                **credentials,
                "stack_id": STACK_NAME,
                "resource_name": RESOURCE,
                "region_name": "RegionOne",
                **(heat or {}),
            },
            "zaqar": {**credentials, "queue_id": "occ-queue", "timeout": 5, **(zaqar or {})},
        }
        for name, values in sections.items():
            lines.append(f"[{name}]")
            lines.extend(f"{key} = {value}" for key, value in values.items() if value is not None)
        self.config.write_text("\n".join(lines) + "\n" + textwrap.dedent(extra))

    def one_time(self, *more: str, check: int | None = 0, timeout: float = 60):
        """Run one pass (``--one-time``) and return the completed process."""
        return self.run(
            "--config-file", str(self.config), "--one-time", *more, check=check, timeout=timeout
        )

    def cached(self, key: str) -> Any:
        return json.loads((self.cachedir / f"{key}.json").read_text())

    def token_caches(self) -> list[Path]:
        return sorted(p for p in (self.cachedir / ".occ").rglob("*keystone-*") if p.is_file())

    def cached_login(self) -> dict[str, Any]:
        (path,) = self.token_caches()
        return json.loads(path.read_text())


@pytest.fixture
def instance(tmp_path: Path, deployment: Deployment) -> Instance:
    return Instance(tmp_path / "instance", deployment)
