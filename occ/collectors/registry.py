"""The collector registry, in the original's default order.

Entries name a module and a class instead of importing them, so that configuring ``local``
never imports the HTTP stack. One line per collector.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable

from occ.collectors.base import Collector
from occ.config.model import Config
from occ.errors import ConfigError
from occ.status import SYSTEMD_MODES

REGISTRY = {
    "heat_local": "occ.collectors.heat_local:HeatLocalCollector",
    "ec2": "occ.collectors.ec2.collector:Ec2Collector",
    "cfn": "occ.collectors.cfn.collector:CfnCollector",
    "heat": "occ.collectors.heat:HeatCollector",
    "request": "occ.collectors.request:RequestCollector",
    "local": "occ.collectors.local:LocalCollector",
    "zaqar": "occ.collectors.zaqar.collector:ZaqarCollector",
}


def validate(names: Iterable[str]) -> None:
    """Raise ConfigError naming every unknown collector in ``names``."""
    problems: list[str] = []
    for name in names:
        if name in REGISTRY:
            continue
        hint = ""
        if any(c in name for c in ",[] \"'"):
            hint = " (list collectors one name per line: 'collectors = ec2', 'collectors = local')"
        elif name in SYSTEMD_MODES:
            hint = f" ('{name}' is a mode: it comes first: 'os-collect-config {name} [options]')"
        problems.append(
            f"[DEFAULT] collectors: unknown collector {name!r}{hint}; known: {', '.join(REGISTRY)}"
        )
    if problems:
        raise ConfigError(problems)


def check_requirements(config: Config) -> None:
    """Raise ConfigError if a configured collector needs a package that is not installed.

    Only collectors in the effective list count: Heat renders ``[zaqar]`` settings into files
    of instances that do not use Zaqar.
    """
    zaqar = config.section("zaqar")
    if "zaqar" in config.collectors and zaqar.flag("use_websockets"):
        from occ.collectors.zaqar import websocket

        if not websocket.available():
            raise ConfigError([f"[zaqar] {websocket.MISSING_PACKAGE}"])


def load(name: str) -> type[Collector]:
    """Return the collector class registered as ``name`` (which must be valid)."""
    module_name, _, class_name = REGISTRY[name].partition(":")
    cls: type[Collector] = getattr(importlib.import_module(module_name), class_name)
    return cls
