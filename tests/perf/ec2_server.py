#!/usr/bin/env python3
"""The benchmark's EC2 metadata service: its own process, one event loop, answers held in memory.

The cold-walk cases measure a client making hundreds of requests, eight at a time. The
thread-per-connection fake of the functional tests (tests/fakes/ec2.py), run inside the
benchmark's own process, was the slower party there: every answer waited for the benchmark's
interpreter lock, and both programs' walks measured mostly that. This server answers from
memory in a process of its own, and its latency is an ``asyncio`` sleep, so eight requests in
flight really wait side by side.

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
import asyncio
import json
import os
import sys
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

    def control(self, path: str) -> bytes:
        if path.startswith("/_bench/reset"):
            query = path.partition("?")[2]
            self.latency = float(query.partition("latency=")[2] or 0)
            self.peak = self.in_flight
            return reply(200, b"{}", b"application/json")
        body = json.dumps({"requests": self.requests, "peak": self.peak}).encode()
        return reply(200, body, b"application/json")

    async def answer(self, method: str, path: str) -> bytes:
        self.requests += 1
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            if self.latency:
                await asyncio.sleep(self.latency)
            body = self.tree.get(path.partition("?")[0]) if method == "GET" else None
            return reply(404, b"Not Found") if body is None else reply(200, body)
        finally:
            self.in_flight -= 1

    async def connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path = lines[0].split(" ")[:2]
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    if name.strip().lower() == "content-length" and value.strip().isdigit():
                        await reader.readexactly(int(value))
                if path.startswith("/_bench/"):
                    writer.write(self.control(path))
                else:
                    writer.write(await self.answer(method, path))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            pass  # the client closed the connection (or sent nonsense): this one is done
        finally:
            writer.close()


async def serve(root: str) -> None:
    service = Service(root)
    server = await asyncio.start_server(service.connection, "127.0.0.1", 0, backlog=64)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--root", required=True, help="directory served as the metadata tree")
    asyncio.run(serve(parser.parse_args().root))


if __name__ == "__main__":
    main()
