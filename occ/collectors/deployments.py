"""Deployment explosion: Heat software deployments become outputs of their own.

Heat puts the deployments of a server in a top-level list (``deployments`` by default). Those in
the ``os-apply-config`` and ``Heat::Ungrouped`` groups become extra outputs named after the
deployment, with its ``config`` as the value, so that os-apply-config sees each one as a file.
Used by cfn, heat, request and zaqar; pure, no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence

from occ.log import lazy

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from occ.collectors.base import Output

LOG = lazy.logger(__name__)

EXPLODED_GROUPS = ("os-apply-config", "Heat::Ungrouped")


def explode(name: str, document: Any, deployment_keys: Sequence[str]) -> list[Output]:
    """Return ``[(name, document)]`` followed by the exploded deployments, in list order.

    Malformed elements (not an object, no string ``name``, no ``config``) are skipped with a
    warning instead of failing the source. A key listed twice is exploded twice, as the
    original does.
    """
    outputs: list[Output] = [(name, document)]
    if not isinstance(document, dict):
        return outputs
    for key in deployment_keys:
        if key not in document:
            continue
        items = document[key]
        if not isinstance(items, list):
            LOG.warning("%s: '%s' is not a list of deployments; not splitting it", name, key)
            continue
        for index, item in enumerate(items):
            output = _deployment_output(name, key, index, item)
            if output is not None:
                outputs.append(output)
    return outputs


def _deployment_output(source: str, key: str, index: int, item: Any) -> Any:
    where = f"{source}: {key}[{index}]"
    if not isinstance(item, dict):
        LOG.warning("%s is not an object; skipped", where)
        return None
    if "name" not in item:
        LOG.warning("%s has no name; skipped", where)
        return None
    if not isinstance(item["name"], str):
        LOG.warning("%s has a name that is not a string; skipped", where)
        return None
    # An absent group means Ungrouped; an explicit null is some other group.
    group = item.get("group", "Heat::Ungrouped")
    if group not in EXPLODED_GROUPS:
        return None
    if "config" not in item:
        LOG.warning("%s (%r) has no config; skipped", where, item["name"])
        return None
    return item["name"], item["config"]
