"""The ec2 walk's fetching: up to ``WORKERS`` threads fetching metadata nodes, answers handed
back through one queue (``occ.collectors.ec2.collector.walk`` assembles the tree). Imported
only by a walk: an idle pass with ``ec2.json`` cached starts no thread."""

from __future__ import annotations

import collections
import queue
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from occ.collectors.ec2.imds import TokenSession

    # One node to fetch: where its answer goes (container, key), its URL, its depth.
    _Job = tuple[dict[str, Any], str, str, int]

WORKERS = 8  # concurrent fetches at most: a few hundred keys in a fraction of the sequential time
# An answer slower than this means the service's latency, not this process, limits the walk:
# then more workers help. Against an answer in well under a millisecond (a local service, or
# the first listing) they would only take turns at the interpreter lock, at a cost per request.
GROW_AFTER = 0.002  # seconds


class Fetches:
    """Up to ``WORKERS`` threads fetching the walk's nodes; answers come back in a queue.

    The walk starts with one worker and doubles them, up to ``WORKERS``, whenever an answer
    takes longer than ``GROW_AFTER`` while nodes are waiting: at 10 ms per answer all eight
    run within a few milliseconds, while a service that answers at once is walked by one or
    two (eight threads cost a quarter more CPU per request there, for nothing).

    Listings are fetched before values: each listing adds work, so fetching them first keeps
    every worker busy and puts the deepest branch (network interfaces) on the way early. One
    queue of answers costs the walk O(1) per node (``concurrent.futures.wait`` re-registered
    itself on every pending future, for each of hundreds of answers).
    """

    def __init__(self, session: TokenSession) -> None:
        self.session = session
        self.outstanding = 0  # added, and not yet taken by next_answer
        self._ready = threading.Condition()
        self._listings: collections.deque[_Job] = collections.deque()
        self._values: collections.deque[_Job] = collections.deque()
        self._closed = False
        self._answers: queue.SimpleQueue[tuple[_Job, str | None, Exception | None]]
        self._answers = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._start(1)

    def _start(self, count: int) -> None:
        for _ in range(min(count, WORKERS - len(self._threads))):
            name = f"occ-ec2-{len(self._threads)}"
            thread = threading.Thread(target=self._work, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

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
        while True:
            growing = len(self._threads) < WORKERS
            try:
                job, text, error = self._answers.get(timeout=GROW_AFTER if growing else None)
                break
            except queue.Empty:
                with self._ready:
                    waiting = len(self._listings) + len(self._values)
                if waiting:
                    self._start(min(len(self._threads), waiting))
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
