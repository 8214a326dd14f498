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

    # One node to fetch: where its answer goes (container, key), its URL, its depth.
    _Job = tuple[dict[str, Any], str, str, int]

LOG = logging.getLogger(__name__)

WORKERS = 8  # concurrent fetches: a few hundred keys in a fraction of the sequential time
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
    fetches = _Fetches(session)
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


class _Fetches:
    """``WORKERS`` threads fetching the walk's nodes; answers come back in a queue.

    Listings are fetched before values: each listing adds work, so fetching them first keeps
    every worker busy and puts the deepest branch (network interfaces) on the way early. One
    queue of answers costs the walk O(1) per node (``concurrent.futures.wait`` re-registered
    itself on every pending future, for each of hundreds of answers).
    """

    def __init__(self, session: TokenSession) -> None:
        import collections
        import queue
        import threading

        self.session = session
        self.outstanding = 0  # added, and not yet taken by next_answer
        self._ready = threading.Condition()
        self._listings: collections.deque[_Job] = collections.deque()
        self._values: collections.deque[_Job] = collections.deque()
        self._closed = False
        self._answers: queue.SimpleQueue[tuple[_Job, str | None, Exception | None]]
        self._answers = queue.SimpleQueue()
        self._threads = [
            threading.Thread(target=self._work, name=f"occ-ec2-{n}", daemon=True)
            for n in range(WORKERS)
        ]
        for thread in self._threads:
            thread.start()

    def add(self, jobs: list[_Job]) -> None:
        """Queue the children of one listing, all at once: no worker takes one of its values
        while one of its listings is still to be queued."""
        with self._ready:
            for job in jobs:
                (self._listings if job[2].endswith("/") else self._values).append(job)
            self._ready.notify(len(jobs))
        self.outstanding += len(jobs)

    def next_answer(self) -> tuple[_Job, str]:
        """Return the next fetched job and its text. Raise what its fetch raised."""
        job, text, error = self._answers.get()
        self.outstanding -= 1
        if error is not None:
            raise error
        return job, text or ""

    def close(self) -> None:
        """Drop the jobs not started and wait for the running fetches (each ends by its
        deadline)."""
        with self._ready:
            self._closed = True
            self._ready.notify_all()
        for thread in self._threads:
            thread.join()

    def _take(self) -> _Job | None:
        with self._ready:
            while not (self._closed or self._listings or self._values):
                self._ready.wait()
            if self._closed:
                return None
            return (self._listings or self._values).popleft()

    def _work(self) -> None:
        while True:
            job = self._take()
            if job is None:
                return
            try:
                self._answers.put((job, self.session.fetch(job[2]), None))
            except Exception as exc:  # noqa: BLE001 - handed to next_answer, which raises it
                self._answers.put((job, None, exc))


def _children(url: str, entries: list[tuple[str, str]]) -> dict[str, str]:
    # A key listed twice keeps its first position and its last URL, as the original's
    # sequential assignments do.
    children: dict[str, str] = {}
    for key, child in entries:
        children[key] = url + child
    return children
