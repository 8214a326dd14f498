"""A deliberately slow HTTP server: real sockets on 127.0.0.1, answers that never finish in time.

Usage::

    with SlowServer("trickle_body") as slow:
        ... slow.url + "/anything" ...   # every path, every method behaves the same

Behaviours (``BEHAVIOURS``), each sending something every ``interval`` seconds so that no
single ``recv`` ever waits long enough for a per-read timeout to fire:

* ``trickle_body``: a 200 with a large Content-Length, then the body one byte at a time;
* ``trickle_headers``: the status line, then one more header line at a time, never the end;
* ``stall_after_headers``: complete headers (Content-Length 100), then silence;
* ``endless_body``: a chunked 200 whose chunks never end (fast, to test size caps and
  deadlines together).

Every request head is recorded in ``requests`` (raw bytes). Stopping the server closes every
connection, so no handler outlives the test.
"""

from __future__ import annotations

import socket
import threading
from typing import Any

BEHAVIOURS = ("trickle_body", "trickle_headers", "stall_after_headers", "endless_body")


class SlowServer:
    def __init__(
        self, behaviour: str, *, interval: float = 0.05, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        if behaviour not in BEHAVIOURS:
            raise ValueError(f"unknown behaviour {behaviour!r}")
        self.behaviour = behaviour
        self.interval = interval
        self.requests: list[bytes] = []
        self.stopping = threading.Event()
        self._listener = socket.create_server((host, port))
        self._connections: list[socket.socket] = []
        self._lock = threading.Lock()

    @property
    def port(self) -> int:
        return self._listener.getsockname()[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> SlowServer:
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self._listener.close()
        with self._lock:
            for connection in self._connections:
                connection.close()

    def __enter__(self) -> SlowServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self._connections.append(connection)
            threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _serve(self, connection: socket.socket) -> None:
        try:
            head = b""
            while b"\r\n\r\n" not in head:
                data = connection.recv(65536)
                if not data:
                    return
                head += data
            with self._lock:
                self.requests.append(head)
            getattr(self, "_" + self.behaviour)(connection)
        except OSError:  # the client gave up, or the server stopped
            pass

    def _drip(self, connection: socket.socket, pieces: Any) -> None:
        for piece in pieces:
            if self.stopping.wait(self.interval):
                return
            connection.sendall(piece)

    def _trickle_body(self, connection: socket.socket) -> None:
        connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                           b"Content-Length: 100000\r\n\r\n{")  # fmt: skip
        self._drip(connection, iter(lambda: b" ", None))

    def _trickle_headers(self, connection: socket.socket) -> None:
        connection.sendall(b"HTTP/1.1 200 OK\r\n")
        self._drip(connection, (b"X-Slow-%d: y\r\n" % n for n in range(10**9)))

    def _stall_after_headers(self, connection: socket.socket) -> None:
        connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")
        self.stopping.wait(60)

    def _endless_body(self, connection: socket.socket) -> None:
        connection.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        chunk = b"%x\r\n%s\r\n" % (4096, b" " * 4096)
        while not self.stopping.is_set():
            connection.sendall(chunk)
