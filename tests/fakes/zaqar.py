"""Fake Zaqar messaging services: the v2 HTTP API and the websocket API, sharing queues.

Usage::

    with FakeKeystone() as keystone, FakeZaqar(keystone) as zaqar:
        keystone.add_endpoint("messaging", zaqar.url)
        zaqar.queues.post("q1", {"deployments": []})
        ... after a pass: assert zaqar.queues.pending("q1") == [] ...

``FakeZaqar`` answers ``DELETE /v2/queues/<q>/messages?pop=N`` (and nothing else) after
checking the token with the Keystone fake, ``X-Project-Id`` and a 32-hex ``Client-ID``.
``FakeZaqarWebsocket`` is a minimal RFC 6455 server (stdlib sockets: handshake, unmasking of
client text frames, unfragmented server text frames) implementing ``authenticate``,
``queue_create``, ``subscription_create`` and ``message_delete_many``; a message posted while
a connection is subscribed is also pushed to it as a notification frame.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import re
import secrets
import socket
import ssl
import struct
import threading
from typing import Any, Callable

from tests.fakes.keystone import FakeKeystone
from tests.fakes.server import FakeServer, Recorded, Reply

_QUEUE_PATH = re.compile(r"^/v2/queues/([^/]+)/messages$")
_CLIENT_ID = re.compile(r"^[0-9a-f]{32}$")
_WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 section 1.3


class Queues:
    """Messages per queue, thread-safe; ``listeners`` hear every post."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._messages: dict[str, list[dict[str, Any]]] = {}
        self.listeners: list[Callable[[str, dict[str, Any]], None]] = []

    def post(self, queue: str, body: Any, *, ttl: int = 3600) -> str:
        message = {"id": secrets.token_hex(12), "ttl": ttl, "age": 0, "body": body}
        with self._lock:
            self._messages.setdefault(queue, []).append(message)
            listeners = list(self.listeners)
        for listener in listeners:
            listener(queue, message)
        return message["id"]

    def pop(self, queue: str, count: int) -> list[dict[str, Any]]:
        with self._lock:
            pending = self._messages.get(queue, [])
            popped, self._messages[queue] = pending[:count], pending[count:]
        return popped

    def pending(self, queue: str) -> list[Any]:
        """Return the bodies still queued."""
        with self._lock:
            return [m["body"] for m in self._messages.get(queue, [])]


class FakeZaqar:
    def __init__(
        self,
        keystone: FakeKeystone,
        queues: Queues | None = None,
        *,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.keystone = keystone
        self.queues = queues or Queues()
        self.server = FakeServer(tls=tls)
        self.server.fallback = self._answer

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def requests(self) -> list[Recorded]:
        return self.server.requests

    def _answer(self, request: Recorded) -> Reply:
        if not self.keystone.valid(request.headers.get("X-Auth-Token")):
            return Reply.json({"error": "Unauthorized"}, status=401)
        match = _QUEUE_PATH.match(request.path)
        pop = request.query.get("pop", [""])[0]
        if request.method != "DELETE" or not match or not pop.isdigit():
            return Reply(404, b"not found")
        if request.headers.get("X-Project-Id") != self.keystone.project_id:
            return Reply.json({"error": "wrong or missing X-Project-Id"}, status=400)
        if not _CLIENT_ID.match(request.headers.get("Client-ID") or ""):
            return Reply.json({"error": "malformed or missing Client-ID"}, status=400)
        return Reply.json({"messages": self.queues.pop(match.group(1), int(pop))})

    def __enter__(self) -> FakeZaqar:
        self.server.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.server.stop()


class FakeZaqarWebsocket:
    """``silent``: complete the handshake, then never answer a frame. ``tls``: serve wss://."""

    def __init__(
        self,
        keystone: FakeKeystone,
        queues: Queues | None = None,
        *,
        silent: bool = False,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.keystone = keystone
        self.queues = queues or Queues()
        self.silent = silent
        self.tls = tls
        self.frames: list[dict[str, Any]] = []  # every request frame received
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._connections: list[_Connection] = []
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self.queues.listeners.append(self._notify)

    @property
    def url(self) -> str:
        scheme = "wss" if self.tls else "ws"
        return f"{scheme}://127.0.0.1:{self._listener.getsockname()[1]}"

    def _notify(self, queue: str, message: dict[str, Any]) -> None:
        for connection in list(self._connections):
            if queue in connection.subscribed:
                note = {  # as real Zaqar notifies (tests/integration/test_zaqar.py)
                    "ttl": message["ttl"],
                    "body": message["body"],
                    "queue_name": queue,
                    "Message_Type": "Notification",
                }
                connection.send(note)

    def _serve(self) -> None:
        while not self._stopping.is_set():
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            if self.tls:  # the handshake happens on the connection's thread, at its first read
                sock = self.tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
            connection = _Connection(self, sock)
            self._connections.append(connection)
            threading.Thread(target=connection.run, daemon=True).start()

    def __enter__(self) -> FakeZaqarWebsocket:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stopping.set()
        # close() alone would leave the socket listening while accept() blocks on it.
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        self._thread.join(5)
        for connection in self._connections:
            connection.close()


class _Connection:
    def __init__(self, server: FakeZaqarWebsocket, sock: socket.socket) -> None:
        self.server = server
        self.sock = sock
        self.reader = sock.makefile("rb")
        self.lock = threading.Lock()
        self.subscribed: set[str] = set()
        self.authenticated = False

    def run(self) -> None:
        try:
            self._handshake()
            while True:
                opcode, payload = self._read_frame()
                if opcode == 8:  # close
                    self._write_frame(8, payload[:2])
                    return
                if opcode == 9:  # ping
                    self._write_frame(10, payload)
                elif opcode == 1 and not self.server.silent:
                    self.send(self._handle(json.loads(payload)))
        except (OSError, ValueError, struct.error):
            return
        finally:
            self.close()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()

    def send(self, value: dict[str, Any]) -> None:
        self._write_frame(1, json.dumps(value).encode())

    def _handle(self, frame: dict[str, Any]) -> dict[str, Any]:
        self.server.frames.append(frame)
        action, headers, body = frame.get("action"), frame.get("headers") or {}, frame.get("body")
        status, answer = self._act(action, headers, body if isinstance(body, dict) else {})
        return {"request": frame, "headers": {"status": status}, "body": answer}

    def _act(self, action: Any, headers: dict[str, Any], body: dict[str, Any]) -> tuple[int, Any]:
        if action == "authenticate":
            self.authenticated = self.server.keystone.valid(headers.get("X-Auth-Token"))
            if self.authenticated:
                return 200, {"message": "Authentified."}
            return 401, {"error": "Authentication failed."}
        if not self.authenticated:
            return 403, {"error": "Not authentified."}
        if headers.get("X-Project-ID") != self.server.keystone.project_id:
            return 400, {"error": "wrong or missing X-Project-ID"}
        if not _CLIENT_ID.match(str(headers.get("Client-ID", ""))):
            return 400, {"error": "malformed or missing Client-ID"}
        queue = str(body.get("queue_name", ""))
        # Reply bodies as real Zaqar 23 sends them (tests/integration/test_zaqar.py checks).
        if action == "queue_create":
            return 201, f"Queue {queue} created."
        if action == "subscription_create":
            self.subscribed.add(queue)
            answer = {"subscription_id": secrets.token_hex(12)}
            return 201, {**answer, "message": f"Subscription {queue} created."}
        if action == "message_delete_many" and body.get("pop"):
            return 200, {"messages": self.server.queues.pop(queue, int(body["pop"]))}
        return 400, {"error": f"unsupported action {action!r}"}

    def _handshake(self) -> None:
        lines = []
        while True:
            line = self.reader.readline(65537)
            if not line:
                raise OSError("connection closed during the handshake")
            if line in (b"\r\n", b"\n"):
                break
            lines.append(line.decode("latin-1").strip())
        headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
        key = {k.lower(): v for k, v in headers.items()}["sec-websocket-key"]
        accept = base64.b64encode(hashlib.sha1((key + _WS_GUID).encode()).digest()).decode()
        self.sock.sendall(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept.encode() + b"\r\n\r\n"
        )

    def _read_frame(self) -> tuple[int, bytes]:
        first, second = self._read(2)
        length = second & 0x7F
        if length == 126:
            (length,) = struct.unpack("!H", self._read(2))
        elif length == 127:
            (length,) = struct.unpack("!Q", self._read(8))
        mask = self._read(4) if second & 0x80 else b"\0\0\0\0"
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(self._read(length)))
        return first & 0x0F, payload

    def _read(self, size: int) -> bytes:
        data = self.reader.read(size)
        if len(data) < size:
            raise OSError("connection closed")
        return data

    def _write_frame(self, opcode: int, payload: bytes) -> None:
        size = len(payload)
        if size < 126:
            header = struct.pack("!BB", 0x80 | opcode, size)
        elif size < 65536:
            header = struct.pack("!BBH", 0x80 | opcode, 126, size)
        else:
            header = struct.pack("!BBQ", 0x80 | opcode, 127, size)
        with self.lock:
            self.sock.sendall(header + payload)
