"""heat_local: Heat's boot-time server metadata from local JSON files.

Heat's cloud-init part writes the server metadata (including the ``os-collect-config`` transport
settings) to ``/var/lib/heat-cfntools/cfn-init-data``. Every configured path is read in order;
later objects are merged over earlier ones key by key (a shallow update).
"""

from __future__ import annotations

import json

from occ.collectors.base import Collector
from occ.core import fsutil
from occ.errors import SourceUnavailable
from occ.log import lazy

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from occ.collectors.base import Output

LOG = lazy.logger(__name__)


def read_document(path: str) -> Any:
    """Return the parsed JSON of the regular file ``path`` (never blocking on a FIFO, never
    reading more than fsutil.READ_LIMIT_BYTES).

    Raise FileNotFoundError if it does not exist, OSError if it cannot be read or is not a
    regular file, ValueError if it is not JSON.
    """
    data = fsutil.read_bytes(path)
    if data is None:
        raise FileNotFoundError(path)
    return json.loads(data)


def merge(documents: list[tuple[str, Any]]) -> Any:
    """Return the shallow merge of ``(path, document)`` pairs, in order.

    The first document is the base. A later document that cannot be merged (either side is not
    an object) is skipped with a warning instead of failing the whole source.
    """
    result: Any = None
    for path, document in documents:
        if result is None:
            result = document
        elif isinstance(result, dict) and isinstance(document, dict):
            result.update(document)
        else:
            LOG.warning("heat_local: %s skipped: only JSON objects can be merged", path)
    return result


class HeatLocalCollector(Collector):
    name = "heat_local"
    settled_by_files = True

    def collect(self) -> list[Output]:
        documents = []
        for path in self.settings.items_of("path"):
            self.context.depends_on(path)
            try:
                documents.append((path, read_document(path)))
            except FileNotFoundError:
                LOG.debug("heat_local: %s does not exist", path)
            except (ValueError, RecursionError) as exc:
                LOG.info("heat_local: %s is not valid JSON (%s); skipped", path, exc)
            except OSError as exc:
                LOG.warning("heat_local: cannot read %s: %s; skipped", path, exc.strerror)
        merged = merge(documents)
        if not merged:
            raise SourceUnavailable(
                "no usable metadata in " + ", ".join(self.settings.items_of("path"))
            )
        return [(self.name, merged)]
