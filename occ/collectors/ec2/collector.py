"""The ec2 collector: the EC2-style instance metadata tree (doc/compatibility.rst, "ec2 collector").

Three steps, the first that yields data wins: the cached ``ec2.json`` (frozen after the first
store, because consumers rely on ``instance-id`` staying put; ``[ec2] refresh`` turns that off),
a ``config-2`` configuration drive (``occ.collectors.ec2.config_drive``), then a walk of the HTTP
tree (``occ.collectors.ec2.walk``). The walk fetches with bounded concurrency and assembles
the result in listing order, whatever order the answers arrive in. IMDSv2 session tokens are
used according to ``[ec2] imdsv2``; the token itself lives in ``occ.collectors.ec2.imds``.
"""

from __future__ import annotations

from occ.collectors.base import Collector
from occ.log import lazy

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from occ.collectors.base import Output

LOG = lazy.logger(__name__)


class Ec2Collector(Collector):
    name = "ec2"
    settled_by_files = True  # with a cached ec2.json; the drive and the walk unsettle the pass

    def collect(self) -> list[Output]:
        """Return ``[("ec2", tree)]``. Raise SourceUnavailable if no step yields data."""
        if not self.settings.flag("refresh"):
            cached = self._cached()
            if cached:
                return [(self.name, cached)]
        # Deferred imports: once ec2.json is cached (every pass but the first) they are unused.
        from occ.collectors.ec2 import config_drive
        from occ.collectors.ec2.imds import TokenSession

        if self.settings.flag("config_drive"):
            self.context.unsettled()  # a drive can appear or change without a file changing
            drive = config_drive.read_metadata()
            if drive:
                return [(self.name, drive)]
        url = self.settings.text("metadata_url") or ""
        session = TokenSession(
            self.context.http,
            url,
            policy=self.settings.text("imdsv2") or "auto",
            timeout=self.settings.number("timeout"),
        )
        if not self.settings.flag("refresh"):
            # A first walk always ends in a record (the tree is new, or the walk failed), and
            # the token request leaves the process idle for a round trip: set logging up then.
            lazy.prepare()
        session.start()
        from occ.collectors.ec2.walk import walk

        return [(self.name, walk(session, url.rstrip("/") + "/"))]

    def _cached(self) -> Any:
        """Return the stored ``ec2.json``, or None if it is absent or unusable (the caller
        treats that like a falsy value: fetch afresh)."""
        try:
            return self.context.cached(self.name)
        except (OSError, ValueError) as exc:
            LOG.warning("ec2: cannot reuse the cached ec2.json (%s); fetching it again", exc)
            return None
