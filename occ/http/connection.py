"""HTTP/1.1 on one socket for the stdlib path (``occ.http.plain``): send a request, read the
answer's head, then its body as RFC 9112 (section 6) frames it.

Not ``http.client``: importing it loads the ``email`` package and ``ssl`` whatever the URL,
about a third of a network pass's start-up on the units' interpreter, and it parses every
answer's headers with the email parser, a good share of a metadata walk's CPU per request
(doc/performance.rst). A client of metadata services needs much less: one request at a time on
a kept-alive connection, no ``Expect: 100-continue``, no upgrades, no pipelining. What is here
is strict where leniency could mislead (framing, line and header limits) and lenient where
servers are known to be sloppy (bare LF line ends, folded header lines).

Raises OSError for the socket's failures and ProtocolError for answers that are not HTTP/1.x;
the caller closes the connection after either.
"""

from __future__ import annotations

import socket

MAX_LINE = 65536  # the longest status, header or chunk-size line read
MAX_FIELDS = 100  # header (or trailer) fields in one answer
_RECV = 65536
_TCHAR = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")

TYPE_CHECKING = False
if TYPE_CHECKING:
    import ssl


class ProtocolError(Exception):
    """The server's answer is not HTTP/1.x, or ended before its framing said it would."""


class Connection:
    """One connection to ``host``:``port``, over TLS if a ``context`` is given; ``sock`` is
    None until ``connect()`` and after ``close()``."""

    __slots__ = ("_buffer", "context", "host", "port", "sock", "timeout")

    def __init__(
        self, host: str, port: int, timeout: float, context: ssl.SSLContext | None = None
    ) -> None:
        self.host, self.port, self.timeout, self.context = host, port, timeout, context
        self.sock: socket.socket | None = None
        self._buffer = bytearray()

    def connect(self) -> None:
        """Open the connection (TLS handshake included). Raise OSError (ssl.SSLError too)."""
        sock = socket.create_connection((self.host, self.port), self.timeout)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self.context is not None:
                sock = self.context.wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            sock.close()
            raise
        self.sock = sock

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        self._buffer.clear()

    def idle(self) -> bool:
        """Return True if nothing of an earlier answer is left unread (only then can the
        connection carry another request)."""
        pending = getattr(self.sock, "pending", None)  # what TLS decrypted and holds
        return not self._buffer and not (pending and pending())

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
            if "\r" in value or "\n" in value or "\0" in value:
                raise ValueError(f"the value of the {name} header has control characters")
            lines.append(f"{name}: {value}")
        lines.append("\r\n")
        head = "\r\n".join(lines).encode("latin-1")  # UnicodeEncodeError is a ValueError
        self.sock.sendall(head + body if body else head)

    def _host_field(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.context is not None else 80
        return host if self.port == default else f"{host}:{self.port}"

    def answer(self, method: str) -> Answer:
        """Read the head of the answer to a ``method`` request (interim 1xx answers skipped)."""
        while True:
            version, status, reason = _status_line(self.line())
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


class Answer:
    """The head of an answer (``status``, ``reason``, ``fields``, ``will_close``) and its body,
    read with ``read()`` until it returns b""."""

    __slots__ = ("_chunk", "_connection", "_left", "fields", "reason", "status", "will_close")

    def __init__(
        self,
        connection: Connection,
        method: str,
        version: str,
        status: int,
        reason: str,
        fields: list[tuple[str, str]],
    ) -> None:
        self._connection, self.status, self.reason, self.fields = connection, status, reason, fields
        tokens = _tokens(fields, "connection")
        kept = "keep-alive" in tokens if version == "HTTP/1.0" else "close" not in tokens
        self.will_close = not kept
        self._chunk = -1  # bytes left in the current chunk; -1: not chunked
        self._left: int | None = 0  # bytes left of a body with a length; None: until close
        codings = _tokens(fields, "transfer-encoding")
        if method == "HEAD" or status in (204, 304):
            pass
        elif codings and codings[-1] == "chunked":
            self._chunk = 0
        elif codings:  # framed by the end of the connection (RFC 9112, 6.3, rule 4)
            self._left, self.will_close = None, True
        else:
            self._left = _length(fields)
            if self._left is None:
                self.will_close = True

    def read(self, limit: int) -> bytes:
        """Return the next piece of the body (at most ``limit`` bytes), b"" at its end. Raise
        ProtocolError if the connection ends first, OSError if it fails."""
        if self._chunk >= 0:
            return self._read_chunked(limit)
        if self._left == 0:
            return b""
        piece = self._connection.some(limit if self._left is None else min(limit, self._left))
        if self._left is not None:
            if not piece:
                raise ProtocolError(f"the answer ended {self._left} bytes short of its length")
            self._left -= len(piece)
        return piece

    def _read_chunked(self, limit: int) -> bytes:
        connection = self._connection
        if self._chunk == 0:
            size = connection.line().split(b";", 1)[0].strip()
            if not size or len(size) > 16 or not all(c in b"0123456789abcdefABCDEF" for c in size):
                raise ProtocolError("malformed chunk size")
            self._chunk = int(size, 16)
            if self._chunk == 0:
                connection.fields()  # trailers: read, not used
                self._chunk = -1
                self._left = 0
                return b""
        piece = connection.some(min(limit, self._chunk))
        if not piece:
            raise ProtocolError("the answer ended in a chunk")
        self._chunk -= len(piece)
        if self._chunk == 0 and connection.line().strip(b"\r\n"):
            raise ProtocolError("a chunk is longer than its size")
        return piece


def _status_line(line: bytes) -> tuple[str, int, str]:
    version, _, rest = line.rstrip(b"\r\n").partition(b" ")
    code, _, reason = rest.partition(b" ")
    known = len(code) == 3 and code.isdigit() and code >= b"100"
    if version not in (b"HTTP/1.0", b"HTTP/1.1") or not known:
        raise ProtocolError("the answer is not HTTP/1.x")
    return version.decode(), int(code), reason.strip().decode("latin-1")


def _tokens(fields: list[tuple[str, str]], name: str) -> list[str]:
    values = [value for key, value in fields if key.lower() == name]
    return [token.strip().lower() for value in values for token in value.split(",")]


def _length(fields: list[tuple[str, str]]) -> int | None:
    """Return the Content-Length (None if there is none); ProtocolError if the values are not
    one number (RFC 9112, 6.3: a list of the same number is that number)."""
    values = {token.strip() for key, value in fields if key.lower() == "content-length"
              for token in value.split(",")}  # fmt: skip
    if not values:
        return None
    if len(values) > 1 or not next(iter(values)).isdigit():
        raise ProtocolError("invalid Content-Length")
    return int(values.pop())
