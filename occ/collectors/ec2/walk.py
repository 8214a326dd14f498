"""The ec2 walk: every node of the metadata tree fetched, by up to ``WORKERS`` threads, and
assembled in listing order whatever order the answers arrive in. Imported only by a walk: an
idle pass with ``ec2.json`` cached starts no thread.

Each worker fetches a node and settles it itself (a value stored, a listing's children queued),
so an answer is not handed to another thread before the walk can go on: that hand-over cost two
thread switches per request. Listings are fetched before values: each listing adds work, so
fetching them first keeps every worker busy and puts the deepest branch (network interfaces) on
the way early. The walk starts with one worker; a fetch that took ``GROW_AFTER`` or longer
means the service's latency, not this process, limits the walk, and the workers the waiting
nodes need start at once, up to ``WORKERS``: at 10 ms per answer all eight run as soon as the
root listing is in, while a service that answers at once is walked by one (eight threads taking
turns at the interpreter lock cost a quarter more CPU per request there, for nothing).
"""

from __future__ import annotations

import collections
import threading
import time

from occ.errors import SourceUnavailable

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from occ.collectors.ec2.imds import TokenSession

    # One node to fetch: where its answer goes (container, key), its URL, its depth.
    _Job = tuple[dict[str, Any], str, str, int]

WORKERS = 8  # concurrent fetches at most: a few hundred keys in a fraction of the sequential time
GROW_AFTER = 0.002  # seconds for one answer that mean latency, not this process, is the limit
MAX_DEPTH = 16  # a tree deeper than this is a loop on the server side, not metadata
MAX_NODES = 10000  # likewise for its size


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
    _Walk(session, root).run((holder, "", root, 0))
    tree: dict[str, Any] = holder[""]
    return tree


class _Walk:
    """The workers of one walk and what they share (all of it under ``_lock``)."""

    def __init__(self, session: TokenSession, root: str) -> None:
        self.session = session
        self.root = root
        self._lock = threading.Condition()
        self._listings: collections.deque[_Job] = collections.deque()
        self._values: collections.deque[_Job] = collections.deque()
        self._pending = 0  # queued or being fetched
        self._nodes = 1
        self._finished = False
        self._closed = False
        self._error: Exception | None = None
        self._wake = threading.Event()  # the walk finished, or more workers are wanted
        self._threads: list[threading.Thread] = []  # started and changed by run() alone

    def run(self, first: _Job) -> None:
        """Fetch ``first`` and everything under it. Raise what the first failed node raised."""
        self._add([first])
        self._start(1)
        try:
            while True:
                self._wake.wait()
                with self._lock:
                    self._wake.clear()
                    if self._finished:
                        break
                    waiting = len(self._listings) + len(self._values)
                    count = min(waiting, WORKERS - len(self._threads))
                self._start(count)
        finally:
            with self._lock:  # the jobs not started are dropped; running fetches end by deadline
                self._closed = True
                self._lock.notify_all()
            for thread in self._threads:
                thread.join()
        if self._error is not None:
            raise self._error

    def _start(self, count: int) -> None:
        for _ in range(count):
            name = f"occ-ec2-{len(self._threads)}"
            thread = threading.Thread(target=self._work, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def _add(self, jobs: list[_Job]) -> None:
        """Queue the children of one listing, all at once: no worker takes one of its values
        while one of its listings is still to be queued."""
        with self._lock:
            for job in jobs:
                (self._listings if job[2].endswith("/") else self._values).append(job)
            self._pending += len(jobs)
            self._lock.notify(len(jobs))

    def _take(self) -> _Job | None:
        with self._lock:
            while not (self._closed or self._listings or self._values):
                self._lock.wait()
            if self._closed:
                return None
            return (self._listings or self._values).popleft()

    def _work(self) -> None:
        while (job := self._take()) is not None:
            started = time.monotonic()
            try:
                self._settle(job, self.session.fetch(job[2]))
            except Exception as exc:  # noqa: BLE001 - the walk raises it, in run
                with self._lock:
                    self._error = self._error or exc
                    self._finished = True
                self._wake.set()
                return
            slow = time.monotonic() - started >= GROW_AFTER
            with self._lock:
                self._pending -= 1
                if not self._pending:
                    self._finished = True
                    self._wake.set()
                elif slow and len(self._threads) < WORKERS and (self._listings or self._values):
                    self._wake.set()

    def _settle(self, job: _Job, text: str) -> None:
        """Store a value, or reserve a listing's keys in order and queue its children. Raise
        SourceUnavailable if the tree grows too deep or too large."""
        container, key, url, depth = job
        if not url.endswith("/"):
            container[key] = text
            return
        children = _children(url, parse_listing(text))
        with self._lock:
            self._nodes += len(children)
            nodes = self._nodes
        if depth >= MAX_DEPTH or nodes > MAX_NODES:
            raise SourceUnavailable(f"ec2: the metadata tree under {self.root} is too large")
        node: dict[str, Any] = dict.fromkeys(children)  # reserve the listing positions
        container[key] = node
        self._add([(node, k, child_url, depth + 1) for k, child_url in children.items()])


def _children(url: str, entries: list[tuple[str, str]]) -> dict[str, str]:
    # A key listed twice keeps its first position and its last URL, as the original's
    # sequential assignments do.
    children: dict[str, str] = {}
    for key, child in entries:
        children[key] = url + child
    return children
