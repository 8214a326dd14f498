"""The ec2 collector: the EC2-style instance metadata tree (doc/compatibility.rst, "ec2 collector").

Three steps, the first that yields data wins: the cached ``ec2.json`` (frozen after the first
store, because consumers rely on ``instance-id`` staying put; ``[ec2] refresh`` turns that off),
a ``config-2`` configuration drive (``occ.collectors.ec2.config_drive``), then a walk of the HTTP
tree. The walk fetches with bounded concurrency over the pass's pooled session and assembles
the result in listing order, whatever order the answers arrive in. IMDSv2 session tokens are
used according to ``[ec2] imdsv2``; the token itself lives in ``occ.collectors.ec2.imds``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from occ.collectors.base import Collector, Output
from occ.errors import SourceUnavailable

if TYPE_CHECKING:
    from occ.collectors.ec2.imds import TokenSession

LOG = logging.getLogger(__name__)

MAX_DEPTH = 16  # a tree deeper than this is a loop on the server side, not metadata
MAX_NODES = 10000  # likewise for its size


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
        session.start()
        return [(self.name, walk(session, url.rstrip("/") + "/"))]

    def _cached(self) -> Any:
        """Return the stored ``ec2.json``, or None if it is absent or unusable (the caller
        treats that like a falsy value: fetch afresh)."""
        try:
            return self.context.cached(self.name)
        except (OSError, ValueError) as exc:
            LOG.warning("ec2: cannot reuse the cached ec2.json (%s); fetching it again", exc)
            return None


def parse_listing(text: str) -> list[tuple[str, str]]:
    """Return ``(key, child)`` pairs of an EC2 directory listing, in listing order.

    ``child`` is what to append to the listing's URL: a name ending in ``/`` is a
    subdirectory. ``N=name`` entries (public keys) become the directory ``N/``. Empty lines,
    trailing carriage returns and entries without a name are ignored (the original crashes on
    empty lines and keeps ``\\r`` in keys).
    """
    entries: list[tuple[str, str]] = []
    for raw in text.split("\n"):
        line = raw.rstrip("\r")
        if not line.strip():
            continue
        if "=" in line:
            line = line.split("=", 1)[0] + "/"
        key = line[:-1] if line.endswith("/") else line
        if key:
            entries.append((key, line))
    return entries


def walk(session: TokenSession, root: str) -> dict[str, Any]:
    """Return the tree under the listing URL ``root`` (ending in ``/``).

    Raise SourceUnavailable if any node fails, or if the tree is implausibly deep or large.
    """
    holder: dict[str, Any] = {"": None}  # the root node is holder[""]
    from occ.collectors.ec2.fetches import Fetches

    fetches = Fetches(session)
    try:
        fetches.add([(holder, "", root, 0)])
        nodes = 1
        while fetches.outstanding:
            (container, key, url, depth), text = fetches.next_answer()
            if not url.endswith("/"):
                container[key] = text
                continue
            children = _children(url, parse_listing(text))
            nodes += len(children)
            if depth >= MAX_DEPTH or nodes > MAX_NODES:
                raise SourceUnavailable(f"ec2: the metadata tree under {root} is too large")
            node: dict[str, Any] = dict.fromkeys(children)  # reserve the listing positions
            container[key] = node
            fetches.add([(node, k, child_url, depth + 1) for k, child_url in children.items()])
    finally:
        fetches.close()
    tree: dict[str, Any] = holder[""]
    return tree


def _children(url: str, entries: list[tuple[str, str]]) -> dict[str, str]:
    # A key listed twice keeps its first position and its last URL, as the original's
    # sequential assignments do.
    children: dict[str, str] = {}
    for key, child in entries:
        children[key] = url + child
    return children
