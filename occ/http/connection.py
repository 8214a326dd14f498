"""HTTP/1.1 on one socket for the stdlib path (``occ.http.plain``): send a request, read the
answer's head, then its body as RFC 9112 (section 6) frames it.

Not ``http.client``: importing it loads the ``email`` package and ``ssl`` whatever the URL,
about a fifth of a network pass on the units' interpreter, and it parses every
answer's headers with the email parser, a good share of a metadata walk's CPU per request
(doc/performance.rst). A client of metadata services needs much less: one request at a time on
a kept-alive connection, no ``Expect: 100-continue``, no upgrades, no pipelining. What is here
is strict where leniency could mislead (framing, line and header limits) and lenient where
servers are known to be sloppy (bare LF line ends, folded header lines).

Raises OSError for the socket's failures and ProtocolError (``occ.http.framing``, which reads
the body) for answers that are not HTTP/1.x; the caller closes the connection after either.
"""

from __future__ import annotations

# The C module: ``socket`` adds enums for its constants and ``selectors`` (about 2 ms of a
# network pass's start on the units' interpreter) and nothing this client calls.
import _socket
import select

from occ.http.framing import Answer, ProtocolError, status_line
from occ.http.headers import valid_value
from occ.log import lazy

MAX_LINE = 65536  # the longest status, header or chunk-size line read
MAX_FIELDS = 100  # header (or trailer) fields in one answer
_RECV = 65536
_TCHAR = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")

TYPE_CHECKING = False
if TYPE_CHECKING:
    import ssl
    from collections.abc import Callable
    from typing import Any


class Connection:
    """One connection to ``host``:``port``, over TLS if a ``context`` is given; ``sock`` is
    None until ``connect()`` and after ``close()``."""

    __slots__ = ("_buffer", "context", "host", "port", "sock", "timeout")

    def __init__(
        self, host: str, port: int, timeout: float, context: ssl.SSLContext | None = None
    ) -> None:
        self.host, self.port, self.timeout, self.context = host, port, timeout, context
        self.sock: _socket.socket | None = None
        self._buffer = bytearray()

    def connect(self, watch: Callable[[Any], None] | None = None) -> None:
        """Open the connection (TLS handshake included); ``watch`` is given the socket before
        anything is read from it (the request's deadline, which cuts it). Raise OSError
        (ssl.SSLError too)."""
        sock = _open(self.host, self.port, self.timeout)
        try:
            sock.setsockopt(_socket.IPPROTO_TCP, _socket.TCP_NODELAY, 1)
            if self.context is not None:
                # SSLContext takes the C socket as it takes socket.socket: it reads the
                # family, type and descriptor, and detaches it. The handshake waits until the
                # TLS socket is watched: it reads from a server that may never answer, and the
                # socket's timeout alone would let it start the request's budget afresh.
                tls = self.context.wrap_socket(
                    sock,  # type: ignore[arg-type]
                    server_hostname=self.host,
                    do_handshake_on_connect=False,
                )
                sock = tls  # closed below if the handshake fails
                if watch is not None:
                    watch(tls)
                tls.do_handshake()
            elif watch is not None:
                watch(sock)
        except BaseException:
            sock.close()
            raise
        self.sock = sock

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        self._buffer.clear()

    def reusable(self) -> bool:
        """Return True if the connection is open, nothing of an earlier answer is left unread,
        and the server has sent nothing since: only then can it carry another request."""
        if self.sock is None or self._buffer:
            return False
        pending = getattr(self.sock, "pending", None)  # what TLS decrypted and holds
        if pending and pending():
            return False
        # Something to read on an idle socket: the server closed it, or sent what no request
        # asked for. Either way the next request cannot go on it.
        poller = select.poll()
        poller.register(self.sock, select.POLLIN)
        return not poller.poll(0)

    def send(self, method: str, target: str, headers: dict[str, str], body: bytes | None) -> None:
        """Send the request, ``Host`` and ``Accept-Encoding: identity`` first unless
        ``headers`` has them. Raise ValueError (quoting no value) for a header or target that
        cannot be sent, OSError if the socket fails."""
        assert self.sock is not None, "connect() first"
        if not target.isascii() or any(c <= " " or c == "\x7f" for c in target):
            raise ValueError("the request target has characters a request line cannot carry")
        lines = [f"{method} {target} HTTP/1.1"]
        names = {name.lower() for name in headers}
        if "host" not in names:
            lines.append(f"Host: {self._host_field()}")
        if "accept-encoding" not in names:
            lines.append("Accept-Encoding: identity")  # what http.client sent: nothing packed
        for name, value in headers.items():
            if not name or not _TCHAR.issuperset(name):
                raise ValueError("a header name is not a token")
            if not valid_value(value):  # the rule occ.http.client applies to callers' headers
                raise ValueError(f"the value of the {name} header has control characters")
            lines.append(f"{name}: {value}")
        lines.append("\r\n")
        head = "\r\n".join(lines).encode("latin-1")  # UnicodeEncodeError is a ValueError
        self.sock.sendall(head + body if body else head)
        lazy.network_wait()

    def _host_field(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.context is not None else 80
        return host if self.port == default else f"{host}:{self.port}"

    def answer(self, method: str) -> Answer:
        """Read the head of the answer to a ``method`` request (interim 1xx answers skipped)."""
        while True:
            version, status, reason = status_line(self.line())
            fields = self.fields()
            if status >= 200 or status == 101:
                break
        if status == 101:
            raise ProtocolError("the server switched protocols, which no request asked for")
        return Answer(self, method, version, status, reason, fields)

    def fields(self) -> list[tuple[str, str]]:
        """Read header (or trailer) fields up to the empty line that ends them."""
        fields: list[tuple[str, str]] = []
        while True:
            line = self.line().rstrip(b"\r\n")
            if not line:
                return fields
            if line[:1] in (b" ", b"\t") and fields:  # obs-fold: a continuation line
                name, value = fields.pop()
                fields.append((name, f"{value} {line.strip().decode('latin-1')}"))
                continue
            if len(fields) >= MAX_FIELDS:
                raise ProtocolError(f"more than {MAX_FIELDS} header fields")
            name, colon, value = line.decode("latin-1").partition(":")
            if not colon or not name or not _TCHAR.issuperset(name):
                raise ProtocolError(f"malformed header field ({len(fields) + 1})")
            fields.append((name, value.strip(" \t")))

    def line(self) -> bytes:
        """Return the next line, its end included. Raise ProtocolError if it is too long or
        the connection ends before it does."""
        searched = 0
        while True:
            end = self._buffer.find(b"\n", searched, MAX_LINE + 1)
            if end >= 0:
                line = bytes(self._buffer[: end + 1])
                del self._buffer[: end + 1]
                return line
            if len(self._buffer) > MAX_LINE:
                raise ProtocolError(f"a line of the answer is longer than {MAX_LINE} bytes")
            searched = len(self._buffer)
            if not self._receive():
                raise ProtocolError("the server closed the connection mid-answer")

    def some(self, limit: int) -> bytes:
        """Return up to ``limit`` bytes, at least one unless the connection has ended."""
        if not self._buffer and not self._receive():
            return b""
        piece = bytes(self._buffer[:limit])
        del self._buffer[:limit]
        return piece

    def _receive(self) -> bool:
        assert self.sock is not None, "connect() first"
        data = self.sock.recv(_RECV)
        self._buffer += data
        return bool(data)


def _open(host: str, port: int, timeout: float) -> _socket.socket:
    """Return a socket connected to ``host``:``port``, as ``socket.create_connection`` would
    (each address in turn, ``timeout`` for each). The host goes to getaddrinfo as bytes: a str
    would go through the "idna" codec, whose import (with unicodedata) costs a pass about 3 ms,
    and occ.http.outgoing has made it ASCII already. Raise OSError."""
    failure: OSError | None = None
    for family, kind, proto, _, address in _socket.getaddrinfo(
        host.encode(), port, 0, _socket.SOCK_STREAM
    ):
        sock = _socket.socket(family, kind, proto)
        try:
            sock.settimeout(timeout)
            sock.connect(address)
        except OSError as exc:
            sock.close()
            failure = exc
            continue
        return sock
    raise failure or OSError(f"no address found for {host}")
