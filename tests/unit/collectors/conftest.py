"""Shared fixtures for collector tests: build and run a collector the way a pass does.

``harness.collect("ec2", ini)`` loads a real configuration file (cachedir inside tmp_path),
gives the collector a real ``State`` and an ``Http`` whose sleeps are recorded instead of
slept (``harness.sleeps``), runs it and closes the HTTP session.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from occ.collectors import registry
from occ.collectors.base import Context
from occ.config import loader
from occ.config.model import Config
from occ.core.state import State, state_dir
from occ.http.client import Http
from tests.fakes.keystone import FakeKeystone

if TYPE_CHECKING:
    from occ.collectors.base import Output


class Harness:
    def __init__(self, tmp_path: Path) -> None:
        self.home = tmp_path
        self.cachedir = tmp_path / "cache"
        self.cachedir.mkdir()
        self.sleeps: list[float] = []

    def config(self, ini: str = "") -> Config:
        path = self.home / "os-collect-config.conf"
        path.write_text(f"[DEFAULT]\ncachedir = {self.cachedir}\n{ini}")
        cmdline = loader.CommandLine(config_files=(str(path),), config_dirs=())
        return loader.load(cmdline, environ={"HOME": str(self.home)})

    def state(self, name: str, *, store: bool = True) -> State:
        return State(state_dir(str(self.cachedir)), name, writable=store)

    def context(self, name: str, ini: str = "", *, store: bool = True, **http: Any) -> Context:
        http.setdefault("sleep", self.sleeps.append)
        http.setdefault("random", lambda: 0.5)
        return Context(
            self.config(ini),
            state=self.state(name, store=store),
            store=store,
            http_factory=lambda: Http(**http),
        )

    def collect(self, name: str, ini: str = "", *, store: bool = True, **http: Any) -> list[Output]:
        """Run collector ``name`` once; ``http`` are keyword arguments for ``Http``."""
        context = self.context(name, ini, store=store, **http)
        try:
            cls = registry.load(name)
            return cls(context.config.section(name), context).collect()
        finally:
            context.close()

    def store(self, key: str, value: Any) -> None:
        """Write ``<key>.json`` as the cache does (json.dumps indent=1, no newline)."""
        (self.cachedir / f"{key}.json").write_text(json.dumps(value, indent=1))


@pytest.fixture
def harness(tmp_path: Path) -> Harness:
    return Harness(tmp_path)


@pytest.fixture
def keystone():
    with FakeKeystone() as fake:
        yield fake
