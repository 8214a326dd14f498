"""How an HTTP/1.x answer is delimited (RFC 9112, section 6), for ``occ.http.connection``: its
status line, whether the connection stays open after it, and its body, by length, by chunks or
by the end of the connection. An answer whose framing contradicts itself is an error, never
guessed at: a body read too short or too long would be taken for the next answer's start.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Protocol

    class Connection(Protocol):
        """What an answer reads from: ``occ.http.connection.Connection``."""

        def line(self) -> bytes: ...
        def some(self, limit: int) -> bytes: ...
        def fields(self) -> list[tuple[str, str]]: ...


class ProtocolError(Exception):
    """The server's answer is not HTTP/1.x, or ended before its framing said it would."""


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


def status_line(line: bytes) -> tuple[str, int, str]:
    """Return (version, status, reason) of a status line; ProtocolError if it is not one."""
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
