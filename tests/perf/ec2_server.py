#!/usr/bin/env python3
"""The benchmark's EC2 metadata service: its own process, a thread per connection, answers held
in memory.

The cold-walk cases measure a client making hundreds of requests, eight at a time. The
thread-per-connection fake of the functional tests (tests/fakes/ec2.py), run inside the
benchmark's own process, was the slower party there: every answer waited for the benchmark's
interpreter lock, and both programs' walks measured mostly that. This server answers from
memory in a process of its own, and each connection's thread sleeps out the latency itself.
(Until 7 December 2026 it was one ``asyncio`` loop. Its timers wake on whole milliseconds:
the selector rounds every wait up to the next one, so a request due 0.1 ms after another was
answered up to 1 ms late, and requests in flight together came out about 11.3 ms after they
went in, 10.5 ms with this server. That taxed a client with 8 in flight on every request and
one with 1 in flight hardly at all; a thread's sleep ends within about 0.1 ms of its time.)

What it serves is what tests/fakes/ec2.py serves for the same tree (the same ``_content``:
values, generated listings, ``.listing`` overrides), as an IMDSv1 service: the token ``PUT``
gets 404, as from Nova. Two control paths are not counted as requests:

* ``GET /_bench/stats``: ``{"requests": N, "peak": P}``, the requests answered since start and
  the most in flight at once since the last reset;
* ``GET /_bench/reset?latency=S``: the peak starts again from the requests in flight now, and
  every later answer is delayed by ``S`` seconds.

Usage: ec2_server.py --root DIR  (prints the port it listens on, then serves until killed)
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))

from tests.fakes.ec2 import _content

_REASONS = {200: b"OK", 400: b"Bad Request", 404: b"Not Found"}


def answers(root: str) -> dict[str, bytes]:
    """Return every path the tree under ``root`` answers, with its body."""
    out: dict[str, bytes] = {}
    for directory, names, files in os.walk(root):
        url = "/" + os.path.relpath(directory, root).replace(os.sep, "/")
        url = "/" if url == "/." else url + "/"
        out[url] = out[url.rstrip("/") or "/"] = _content(directory)
        for name in files:
            if not name.startswith("."):
                out[url + name] = _content(os.path.join(directory, name))
        names[:] = [n for n in names if not n.startswith(".")]
    return out


def reply(status: int, body: bytes, content_type: bytes = b"text/plain") -> bytes:
    return b"HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n%s" % (
        status,
        _REASONS[status],
        content_type,
        len(body),
        body,
    )


class Service:
    def __init__(self, root: str) -> None:
        self.tree = answers(root)
        self.latency = 0.0
        self.requests = 0
        self.in_flight = 0
        self.peak = 0
        self.lock = threading.Lock()

    def control(self, path: str) -> bytes:
        with self.lock:
            if path.startswith("/_bench/reset"):
                query = path.partition("?")[2]
                self.latency = float(query.partition("latency=")[2] or 0)
                self.peak = self.in_flight
                return reply(200, b"{}", b"application/json")
            body = json.dumps({"requests": self.requests, "peak": self.peak}).encode()
        return reply(200, body, b"application/json")

    def answer(self, method: str, path: str) -> bytes:
        with self.lock:
            self.requests += 1
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
            latency = self.latency
        try:
            if latency:
                time.sleep(latency)
            body = self.tree.get(path.partition("?")[0]) if method == "GET" else None
            return reply(404, b"Not Found") if body is None else reply(200, body)
        finally:
            with self.lock:
                self.in_flight -= 1

    def connection(self, sock: socket.socket) -> None:
        pending = b""
        with sock:
            try:
                while True:
                    while b"\r\n\r\n" not in pending:
                        data = sock.recv(65536)
                        if not data:
                            return  # the client closed the connection: this one is done
                        pending += data
                    head, _, pending = pending.partition(b"\r\n\r\n")
                    lines = head.decode("latin-1").split("\r\n")
                    method, path = lines[0].split(" ")[:2]
                    for line in lines[1:]:
                        name, _, value = line.partition(":")
                        if name.strip().lower() == "content-length" and value.strip().isdigit():
                            while len(pending) < int(value):
                                data = sock.recv(65536)
                                if not data:
                                    return
                                pending += data
                            pending = pending[int(value) :]
                    if path.startswith("/_bench/"):
                        sock.sendall(self.control(path))
                    else:
                        sock.sendall(self.answer(method, path))
            except (ConnectionError, ValueError):
                pass  # a broken connection or nonsense: this one is done


def serve(root: str) -> None:
    service = Service(root)
    listener = socket.create_server(("127.0.0.1", 0), backlog=64)
    print(listener.getsockname()[1], flush=True)
    while True:
        sock, _ = listener.accept()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=service.connection, args=(sock,), daemon=True).start()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--root", required=True, help="directory served as the metadata tree")
    serve(parser.parse_args().root)


if __name__ == "__main__":
    main()
