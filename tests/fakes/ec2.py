#!/usr/bin/env python3
"""A fake EC2 instance metadata service that serves a directory tree. Standard library only.

A request path maps to the same path under ``--root``: a directory is answered with an EC2
listing (its children sorted, subdirectories with a trailing ``/``, joined by newlines with no
trailing newline, as Nova does), a file with its content. Files are re-read on every request,
so a test changes the metadata by editing a file. A directory that holds a ``.listing`` file
is answered with that file verbatim instead, to serve ``0=my-key`` entries, CRLF or trailing
newlines. Other names starting with ``.`` are not listed.

IMDSv2 (``--imds``): ``v1`` knows no tokens (``PUT /latest/api/token`` is 404, as on Nova);
``v2-optional`` hands out tokens and accepts requests with a valid token or none (a wrong or
expired one is 401); ``v2-required`` answers 401 to any request without a valid token.
``--token-put silent`` never answers the token PUT, like a hop limit dropping the response;
``--token-put empty`` answers it 200 with an empty body. ``token_limit`` (attribute) answers
only that many token PUTs; later ones get 503, as a failing renewal would.

Standalone (the systemd end-to-end tests run it in a container on 169.254.169.254:80)::

    python3 tests/fakes/ec2.py --bind 169.254.169.254 --port 80 --root /srv/ec2

In tests: ``with Ec2Metadata(root, imds="v2-required") as ec2: ... ec2.url ...``.
"""

from __future__ import annotations

import argparse
import contextlib
import http.server
import os
import secrets
import socket
import threading
import time
from typing import Any

TOKEN_PATH = "/latest/api/token"
TOKEN_HEADER = "X-aws-ec2-metadata-token"
TTL_HEADER = "X-aws-ec2-metadata-token-ttl-seconds"
MODES = ("v1", "v2-optional", "v2-required")


class Ec2Metadata:
    """The fake service; ``requests`` records (method, path, token or None) per request."""

    def __init__(
        self,
        root: str,
        *,
        imds: str = "v1",
        host: str = "127.0.0.1",
        port: int = 0,
        latency: float = 0.0,
        token_put: str = "answer",
    ) -> None:
        if imds not in MODES:
            raise ValueError(f"imds must be one of {MODES}")
        self.root = os.path.realpath(root)
        self.imds = imds
        self.latency = latency  # seconds added to every answer
        self.token_put = token_put  # "answer", "silent" or "empty"
        self.token_limit: int | None = None  # answer this many token PUTs, then 503
        self.expire_after: int | None = None  # expire all tokens when this many GETs arrived
        self.requests: list[tuple[str, str, str | None]] = []
        self.tokens: dict[str, float] = {}  # token -> expiry (monotonic)
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.httpd = _server_class(host)((host, port), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.fake = self  # type: ignore[attr-defined]

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    def expire_tokens(self) -> None:
        """Make every token handed out so far invalid, as if its TTL had run out."""
        with self.lock:
            self.tokens.clear()

    def issue_token(self, ttl: int) -> str:
        token = secrets.token_urlsafe(24)
        with self.lock:
            self.tokens[token] = time.monotonic() + ttl
        return token

    def token_valid(self, token: str) -> bool:
        with self.lock:
            return self.tokens.get(token, 0.0) > time.monotonic()

    def serve_forever(self) -> None:
        self.httpd.serve_forever()

    def __enter__(self) -> Ec2Metadata:
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in separate writes
    timeout = 10

    def log_message(self, format: str, *args: Any) -> None:
        pass

    @property
    def fake(self) -> Ec2Metadata:
        return self.server.fake  # type: ignore[attr-defined,no-any-return]

    def do_PUT(self) -> None:
        self._record()
        if self.path != TOKEN_PATH or self.fake.imds == "v1":
            return self._send(404, b"Not Found")
        if self.fake.token_put == "silent":
            self.fake.stopping.wait(60)
            self.close_connection = True
            return None
        if self.fake.token_put == "empty":
            return self._send(200, b"")
        if self.fake.token_limit is not None:
            with self.fake.lock:
                puts = sum(1 for method, _, _ in self.fake.requests if method == "PUT")
            if puts > self.fake.token_limit:
                return self._send(503, b"Service Unavailable")
        ttl = self.headers.get(TTL_HEADER, "")
        if not ttl.isdigit() or not 1 <= int(ttl) <= 21600:
            return self._send(400, b"Bad Request")
        return self._send(200, self.fake.issue_token(int(ttl)).encode())

    def do_GET(self) -> None:
        token = self._record()
        with self.fake.lock:
            gets = sum(1 for method, _, _ in self.fake.requests if method == "GET")
        if gets == self.fake.expire_after:
            self.fake.expire_tokens()
        if token is not None and not self.fake.token_valid(token):
            return self._send(401, b"Unauthorized")
        if token is None and self.fake.imds == "v2-required":
            return self._send(401, b"Unauthorized")
        path = os.path.realpath(os.path.join(self.fake.root, self.path.split("?")[0].lstrip("/")))
        if path != self.fake.root and not path.startswith(self.fake.root + os.sep):
            return self._send(404, b"Not Found")
        try:
            return self._send(200, _content(path))
        except OSError:
            return self._send(404, b"Not Found")

    def _record(self) -> str | None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        token = self.headers.get(TOKEN_HEADER)
        with self.fake.lock:
            self.fake.requests.append((self.command, self.path, token))
        if self.fake.latency:
            time.sleep(self.fake.latency)
        return token

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=UTF-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def _server_class(host: str) -> type[http.server.ThreadingHTTPServer]:
    if ":" not in host:
        return http.server.ThreadingHTTPServer

    class _Server6(http.server.ThreadingHTTPServer):
        address_family = socket.AF_INET6

    return _Server6


def _content(path: str) -> bytes:
    """Return a file's bytes or a directory's listing. Raise OSError if there is neither."""
    if not os.path.isdir(path):
        with open(path, "rb") as handle:
            return handle.read()
    custom = os.path.join(path, ".listing")
    if os.path.isfile(custom):
        with open(custom, "rb") as handle:
            return handle.read()
    names = sorted(n for n in os.listdir(path) if not n.startswith("."))
    lines = [n + "/" if os.path.isdir(os.path.join(path, n)) else n for n in names]
    return "\n".join(lines).encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--bind", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8080, help="port (0: any free port)")
    parser.add_argument("--root", required=True, help="directory served as the metadata tree")
    parser.add_argument("--imds", choices=MODES, default="v1", help="IMDSv2 behaviour")
    parser.add_argument("--token-put", choices=("answer", "silent", "empty"), default="answer")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per answer")
    args = parser.parse_args()
    fake = Ec2Metadata(
        args.root,
        imds=args.imds,
        host=args.bind,
        port=args.port,
        latency=args.latency,
        token_put=args.token_put,
    )
    print(f"serving {fake.root} on {fake.url} ({args.imds})", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        fake.serve_forever()


if __name__ == "__main__":
    main()
