"""A scriptable HTTP server for tests: real sockets on 127.0.0.1, an ephemeral port, a thread.

Usage::

    with FakeServer() as server:
        server.route("/doc", Reply.json({"a": 1}, headers={"ETag": '"v1"'}))
        server.route("/flaky", Reply(status=503), Reply(status=503), Reply.json({}))
        server.route("/slow", Reply(hang=True))
        server.route("/echo", lambda request: Reply(body=request.body))
        ... server.url + "/doc" ...
        assert server.requests[0].headers["If-None-Match"] == '"v1"'

A route holds replies that are used in turn; the last one repeats. A callable route computes
the reply from the recorded request. Unrouted paths get 404. Every request is recorded as a
``Recorded`` (method, path, query, headers, body, client address) in ``server.requests``.
The server speaks HTTP/1.1 with keep-alive, so tests can observe connection reuse through
``Recorded.client``. Stopping the server releases hanging handlers.
"""

from __future__ import annotations

import http.server
import json
import os
import ssl
import subprocess
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from email.message import Message
from typing import Any, Callable, Union
from urllib.parse import parse_qs, urlsplit

HANG_LIMIT = 60.0  # a hanging reply gives up on its own after this long, whatever happens


@dataclass
class Reply:
    """One scripted answer.

    ``delay`` waits before answering; ``hang`` never answers (until the server stops);
    ``drop`` closes the connection without any answer; ``chunks`` sends the body with chunked
    transfer encoding (no Content-Length), one chunk after the other, ``chunk_delay`` apart.
    """

    status: int = 200
    body: bytes | str = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    hang: bool = False
    drop: bool = False
    chunks: Iterable[bytes] | None = None
    chunk_delay: float = 0.0

    @classmethod
    def json(cls, value: Any, *, status: int = 200, headers: dict | None = None) -> Reply:
        body = json.dumps(value).encode()
        return cls(status, body, {"Content-Type": "application/json", **(headers or {})})


@dataclass
class Recorded:
    """One request as the server received it."""

    method: str
    path: str  # without the query string
    target: str  # the request target as sent: path and query
    query: dict[str, list[str]]
    headers: Message  # case-insensitive .get() and [] (None when absent)
    body: bytes
    client: tuple[str, int]


Handler = Callable[[Recorded], Reply]
Route = Union[list[Reply], Handler]


class FakeServer:
    """A threaded HTTP/1.1 server on 127.0.0.1 with scripted routes; a context manager."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        latency: float = 0.0,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.latency = latency  # added before every answer
        self.scheme = "https" if tls else "http"
        self.requests: list[Recorded] = []
        self.fallback: Handler = lambda request: Reply(404, b"not found")
        self._routes: dict[tuple[str | None, str], Route] = {}
        self._lock = threading.Lock()
        self.stopping = threading.Event()
        self._httpd = http.server.ThreadingHTTPServer((host, 0), _handler_class(self))
        self._httpd.daemon_threads = True
        self._httpd.block_on_close = False  # type: ignore[attr-defined]
        if tls is not None:  # a server-side context: handshakes happen in the handler threads
            self._httpd.socket = tls.wrap_socket(
                self._httpd.socket, server_side=True, do_handshake_on_connect=False
            )
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        """The base URL, without a trailing slash."""
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def route(self, path: str, *replies: Reply | Handler, method: str | None = None) -> None:
        """Script ``path`` (for ``method`` only, if given): replies in turn, or one callable."""
        if len(replies) == 1 and callable(replies[0]):
            route: Route = replies[0]
        else:
            route = [r for r in replies if isinstance(r, Reply)] or [Reply()]
        with self._lock:
            self._routes[(method, path)] = route

    def requests_to(self, path: str, method: str | None = None) -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if r.path == path and method in (None, r.method)]

    def reply_for(self, request: Recorded) -> Reply:
        """Record ``request`` and return its scripted reply."""
        with self._lock:
            self.requests.append(request)
            route = self._routes.get((request.method, request.path))
            if route is None:
                route = self._routes.get((None, request.path))
            if isinstance(route, list):
                return route.pop(0) if len(route) > 1 else route[0]
        return (route or self.fallback)(request)

    def start(self) -> FakeServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _handler_class(server: FakeServer) -> type[http.server.BaseHTTPRequestHandler]:
    class _Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out in separate writes
        timeout = 10  # idle keep-alive connections end on their own

        def log_message(self, format: str, *args: Any) -> None:  # quiet test output
            pass

        def handle_one_request(self) -> None:
            # BaseHTTPRequestHandler dispatches to do_<METHOD>; take every method here.
            try:
                self.raw_requestline = self.rfile.readline(65537)
            except OSError:  # includes a failed TLS handshake
                self.close_connection = True
                return
            if not self.raw_requestline or not self.parse_request():
                self.close_connection = True
                return
            try:
                self._answer()
                self.wfile.flush()
            except OSError:  # the client gave up (a timeout, a size cap): nothing to tell it
                self.close_connection = True

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            parts = urlsplit(self.path)
            request = Recorded(
                self.command,
                parts.path,
                self.path,
                parse_qs(parts.query, keep_blank_values=True),
                self.headers,
                body,
                self.client_address[:2],
            )
            reply = server.reply_for(request)
            if server.latency:
                time.sleep(server.latency)
            if reply.hang:
                server.stopping.wait(HANG_LIMIT)
                self.close_connection = True
                return
            if reply.delay:
                server.stopping.wait(reply.delay)
            if reply.drop:
                self.close_connection = True
                return
            self._send(reply)

        def _send(self, reply: Reply) -> None:
            payload = reply.body.encode() if isinstance(reply.body, str) else reply.body
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            if reply.chunks is not None:
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for chunk in _nonempty(reply.chunks):
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    self.wfile.flush()
                    if reply.chunk_delay:
                        time.sleep(reply.chunk_delay)
                self.wfile.write(b"0\r\n\r\n")
                return
            if "content-length" not in {k.lower() for k in reply.headers}:
                self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)

    return _Handler


def localhost_tls(directory: str) -> tuple[ssl.SSLContext, str]:
    """Return a server TLS context for 127.0.0.1 and the path of its (self-signed) certificate,
    made with the openssl command in ``directory``. Raise FileNotFoundError without openssl."""
    key, cert = os.path.join(directory, "key.pem"), os.path.join(directory, "cert.pem")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", key, "-out", cert],
        check=True, capture_output=True,
    )  # fmt: skip
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context, cert


def _nonempty(chunks: Iterable[bytes]) -> Iterator[bytes]:
    return (c for c in chunks if c)
