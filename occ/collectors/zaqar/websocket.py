"""Zaqar's websocket transport, through the optional ``websocket-client`` package.

One connection per pass: ``authenticate``, ``queue_create``, ``subscription_create``, then
``message_delete_many`` with ``pop``; when that finds the queue empty, wait for a subscription
notification, but never longer than ``[zaqar] timeout`` (and the pass deadline): the original
waited forever (doc/compatibility.rst, "zaqar collector", "No timeouts"). Every request is a
JSON text frame ``{"action", "headers", "body"}`` answered by one reply frame that echoes the
request; a frame without a ``request`` is a notification.

A server cannot hold the pass: the handshake is cut when its time is up (the socket is shut
down by a timer), each reply or notification must arrive whole within its budget however it
trickles (the deadline is re-applied before every socket read), and a message larger than
``max_response_size`` ends the source before its payload is read.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import socket
import ssl
import threading
import time
import uuid

from occ import redact
from occ.collectors.zaqar.protocol import Message, first_message
from occ.errors import SourceUnavailable

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable

MISSING_PACKAGE = (
    "use_websockets = true needs the websocket-client package, which is not installed "
    "(pip install 'os-collect-config-systemd[websockets]', or the distribution's "
    "python3-websocket)"
)
SUBSCRIPTION_TTL = 10000  # seconds, as the original asks


def available() -> bool:
    """Return True if the websocket-client package is installed (found, not yet imported)."""
    import importlib.util

    try:
        return importlib.util.find_spec("websocket") is not None
    except (ImportError, ValueError):
        return False


def ssl_options(verify: bool | str) -> dict[str, Any]:
    """Return websocket-client ``sslopt`` for a requests-style ``verify`` value."""
    if verify is False:
        return {"cert_reqs": ssl.CERT_NONE, "check_hostname": False}
    if isinstance(verify, str):
        return {"ca_certs": verify}
    return {}


def pop(
    url: str,
    token: str,
    *,
    project_id: str,
    queue: str,
    timeout: float,
    verify: bool | str,
    remaining: Callable[[], float],
    max_size: int = 4 * 1024 * 1024,
) -> Message | None:
    """Return the first queued or newly notified message of ``queue``, or None if none came
    within ``timeout`` seconds.

    Raise SourceUnavailable if the package is missing, the connection fails, a reply reports
    an error status (``http_status`` set, e.g. 401 for a rejected token), a frame is not a
    JSON object, or a message is larger than ``max_size`` bytes.
    """
    try:
        websocket: Any = importlib.import_module("websocket")
    except ImportError:
        raise SourceUnavailable(MISSING_PACKAGE) from None
    where = redact.redact(url)
    connection = websocket.WebSocket(sslopt=ssl_options(verify))
    budget = _budget(timeout, remaining)
    connection.settimeout(budget)
    cut = threading.Timer(budget, _cut, (connection,))  # a trickled handshake ends on time too
    cut.daemon = True
    cut.start()
    try:
        connection.connect(url)
    except (websocket.WebSocketException, OSError) as exc:
        late = " (no complete handshake in time)" if not cut.is_alive() else ""
        raise SourceUnavailable(f"cannot open {where}{late}: {redact.redact(str(exc))}") from None
    finally:
        cut.cancel()
    _guard(websocket, connection, max_size)
    headers = {"Client-ID": uuid.uuid4().hex, "X-Project-ID": project_id}
    try:
        session = _Session(websocket, connection, headers, lambda: _budget(timeout, remaining))
        return session.pop(token, queue)
    except websocket.WebSocketTimeoutException:
        raise SourceUnavailable(f"{where}: no reply within {timeout:g} s") from None
    except (websocket.WebSocketException, OSError) as exc:
        raise SourceUnavailable(f"{where}: {redact.redact(str(exc))}") from None
    finally:
        connection.close()


def _cut(connection: Any) -> None:
    sock = getattr(connection, "sock", None)
    if sock is not None:
        with contextlib.suppress(OSError, TypeError):  # already closed, or not a socket
            socket.socket.shutdown(sock, socket.SHUT_RDWR)


def _guard(websocket: Any, connection: Any, max_size: int) -> None:
    """Make every socket read of ``connection`` respect ``connection.ends`` (monotonic), and
    refuse a message whose frames add up to more than ``max_size`` bytes before reading it."""
    buffer = connection.frame_buffer
    read, read_exactly = buffer.recv, buffer.recv_strict
    connection.ends, connection.received = float("inf"), 0

    def recv(size: int) -> bytes:
        left = connection.ends - time.monotonic()
        if left <= 0:
            raise websocket.WebSocketTimeoutException("the reply did not arrive whole in time")
        connection.sock.settimeout(left)
        return bytes(read(size))

    def recv_strict(size: int) -> bytes:
        connection.received += size
        if connection.received > max_size:
            raise SourceUnavailable(
                f"the websocket sent a message larger than max_response_size ({max_size} bytes)"
            )
        return bytes(read_exactly(size))

    buffer.recv, buffer.recv_strict = recv, recv_strict


def _budget(timeout: float, remaining: Callable[[], float]) -> float:
    left = remaining()
    if left <= 0:
        raise SourceUnavailable("the pass deadline is over")
    return min(timeout, left)


class _Session:
    """The request/reply exchange on one open connection."""

    def __init__(
        self, websocket: Any, connection: Any, headers: dict[str, str], budget: Callable[[], float]
    ) -> None:
        self.websocket = websocket  # the module, for its exception types
        self.connection = connection
        self.headers = headers
        self.budget = budget  # seconds the next reply may take
        self.notifications: list[dict[str, Any]] = []

    def pop(self, token: str, queue: str) -> Message | None:
        self.request("authenticate", {}, {"X-Auth-Token": token})
        self.request("queue_create", {"queue_name": queue})
        self.request("subscription_create", {"queue_name": queue, "ttl": SUBSCRIPTION_TTL})
        popped = self.request("message_delete_many", {"queue_name": queue, "pop": 1})
        message = first_message(popped)
        if message is not None:
            return message
        if not self.notifications:
            try:
                self.notifications.append(self.receive())
            except self.websocket.WebSocketTimeoutException:
                return None  # nothing arrived in time: the same as an empty queue
        notification = self.notifications[0]
        if "body" not in notification:
            raise SourceUnavailable("a notification without a body arrived")
        return Message(str(notification.get("message_id", "")), notification["body"])

    def request(self, action: str, body: Any, extra: dict[str, str] | None = None) -> Any:
        """Send one request and return the body of its reply; notifications that arrive
        first are kept. Raise SourceUnavailable if the reply reports an error status."""
        frame = {"action": action, "headers": {**self.headers, **(extra or {})}, "body": body}
        self.connection.send(json.dumps(frame))
        while True:
            reply = self.receive()
            if isinstance(reply.get("request"), dict):
                break
            self.notifications.append(reply)
        headers = reply.get("headers")
        status = headers.get("status") if isinstance(headers, dict) else None
        if isinstance(status, int) and status >= 400:
            reason = f"websocket {action} failed with status {status}"
            raise SourceUnavailable(reason, http_status=status)
        return reply.get("body")

    def receive(self) -> dict[str, Any]:
        budget = self.budget()
        self.connection.settimeout(budget)
        self.connection.ends = time.monotonic() + budget  # read by _guard's recv
        self.connection.received = 0
        text = self.connection.recv()
        try:
            frame = json.loads(text)
        except ValueError:
            frame = None
        if not isinstance(frame, dict):
            raise SourceUnavailable("the websocket sent a frame that is not a JSON object")
        return frame
