"""One hop of a request through the standard library: the path for requests that go straight
to their server, over HTTP or TLS (``occ.http.environment.direct``).

Requests' per-request machinery (session merging, cookies, hooks, adapters) cost more than the
exchange itself, and importing it most of a pass's start-up (doc/performance.rst); a metadata
service's hundreds of requests and every 30-second poll of Heat paid for it. This path sends
the request on a kept-alive connection (``occ.http.connection``, which says why not
``http.client``) and reads the answer under the same
rules as the requests path (``occ.http.hop``, which now only proxies take): a hard deadline,
the status judged before the body is read, a size cap. TLS is the ``ssl`` module's default
context (certificate and host name verified), with requests' CA bundle (``occ.http.tls``).
"""

from __future__ import annotations

import sys
import threading

from occ import redact, urls
from occ.errors import SourceUnavailable
from occ.http import answer, redirects
from occ.http.connection import Connection
from occ.http.deadline import Deadline, Retryable, late
from occ.http.framing import Answer, ProtocolError
from occ.http.response import Headers, Response

TYPE_CHECKING = False
if TYPE_CHECKING:
    import datetime
    from collections.abc import Callable, Collection, Iterator

    from occ.http.outgoing import Outgoing
    from occ.http.tls import Verify

    _Key = tuple[str, str, int, Verify]  # scheme, host, port, verification


class Pool:
    """Idle kept-alive connections by host and port, at most ``size`` each. Thread-safe."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._idle: dict[_Key, list[Connection]] = {}
        self._lock = threading.Lock()

    def take(self, key: _Key, timeout: float) -> Connection:
        """Return an idle connection to ``key`` that the server has not closed, or a new one
        (not yet connected), with ``timeout`` for each socket operation."""
        with self._lock:
            idle = self._idle.get(key, [])
            while idle:
                connection = idle.pop()
                if connection.sock is not None and connection.reusable():
                    connection.sock.settimeout(timeout)
                    return connection
                connection.close()
        scheme, host, port, verify = key
        if scheme == "https":
            from occ.http import tls

            # Raises OSError for an unusable CA bundle. Only now: plain HTTP never loads ssl.
            return Connection(host, port, timeout, tls.context(verify))
        return Connection(host, port, timeout)

    def give(self, key: _Key, connection: Connection) -> None:
        """Keep ``connection`` for the next request to ``key`` (or close it if enough are)."""
        with self._lock:
            idle = self._idle.setdefault(key, [])
            if len(idle) < self._size:
                idle.append(connection)
                return
        connection.close()

    def close(self) -> None:
        with self._lock:
            for idle in self._idle.values():
                for connection in idle:
                    connection.close()
            self._idle.clear()


def exchange(
    pool: Pool,
    outgoing: Outgoing,
    *,
    what: str,
    budget: float,
    accept: Collection[int],
    max_size: int,
    now: Callable[[], datetime.datetime],
    verify: Verify = True,
) -> Response:
    """Return the answer to ``outgoing``, all of it within ``budget`` seconds; a redirect's
    body is not read. ``verify``: True (the default CA bundle), a CA file or directory, or
    False. Raise as ``occ.http.hop.exchange`` does."""
    parts = urls.split(outgoing.url)
    scheme = parts.scheme
    key = (scheme, parts.hostname or "", parts.port or (443 if scheme == "https" else 80), verify)
    target = f"{parts.path}?{parts.query}" if parts.query else parts.path
    with Deadline(budget) as cut:
        try:
            connection = pool.take(key, budget)
        except OSError as exc:
            raise SourceUnavailable(f"{what}: TLS failure ({redact.redact(str(exc))})") from None
        reused = connection.sock is not None
        try:
            raw = _send(connection, outgoing, target, cut)
            headers = Headers(raw.fields)
            answer.check_status(what, raw.status, raw.reason, headers, accept, now)
            if raw.status in redirects.REDIRECT_STATUSES:
                body = b""
                connection.close()  # its body is unread: the connection cannot be reused
            else:
                body = _body(what, raw, headers, budget, cut, max_size)
        except (OSError, ProtocolError) as exc:
            connection.close()
            raise _failure(what, exc, budget, cut.expired, reused) from None
        except ValueError:  # a header that cannot be sent: its value is never shown
            connection.close()
            raise SourceUnavailable(f"{what}: a header value cannot be sent") from None
        except BaseException:
            connection.close()
            raise
        if cut.expired:  # a cut can look like the end of the headers or of the body
            connection.close()
            raise late(what, budget)
        if raw.will_close or connection.sock is None:
            connection.close()
        else:
            pool.give(key, connection)
    return Response(outgoing.method, outgoing.url, raw.status, headers, body)


def _send(connection: Connection, outgoing: Outgoing, target: str, cut: Deadline) -> Answer:
    if connection.sock is None:
        try:
            connection.connect(watch=cut.attach)
        except OSError as exc:
            raise _ConnectFailed(exc) from None
    else:
        cut.attach(connection.sock)
    connection.send(outgoing.method, target, outgoing.headers, outgoing.body)
    return connection.answer(outgoing.method)


class _ConnectFailed(OSError):
    """The connection could not be made (kept apart: it is reported differently)."""

    def __init__(self, cause: OSError) -> None:
        super().__init__(str(cause))
        self.cause = cause


def _body(
    what: str,
    raw: Answer,
    headers: Headers,
    budget: float,
    cut: Deadline,
    cap: int,
) -> bytes:
    chunks = _decoded(raw, headers.get("Content-Encoding", "").strip().lower(), cap)
    return answer.read_capped(
        what, chunks, status=raw.status, headers=headers, budget=budget, cut=cut, cap=cap
    )


def _decoded(raw: Answer, encoding: str, cap: int) -> Iterator[bytes]:
    """Yield the body in small pieces, decompressed if the server compressed it anyway (none
    is asked for), never inflating more than ``cap`` + 1 bytes at once: a small bomb cannot
    fill the memory before the size cap sees it."""
    if encoding not in ("gzip", "x-gzip", "deflate"):
        yield from iter(lambda: raw.read(answer.CHUNK), b"")
        return
    import zlib  # only for an answer compressed although no compression was asked for

    inflate = zlib.decompressobj(zlib.MAX_WBITS | 32)  # a gzip or zlib header, detected
    started = False
    try:
        for chunk in iter(lambda: raw.read(answer.CHUNK), b""):
            try:
                piece = inflate.decompress(inflate.unconsumed_tail + chunk, cap + 1)
            except zlib.error:
                if started or encoding != "deflate":
                    raise
                # "deflate" without the zlib header that RFC 9110 asks for: some servers
                # send the raw stream, and clients decode it anyway.
                inflate = zlib.decompressobj(-zlib.MAX_WBITS)
                piece = inflate.decompress(chunk, cap + 1)
            started = True
            yield piece
        while inflate.unconsumed_tail:
            yield inflate.decompress(inflate.unconsumed_tail, cap + 1)
    except zlib.error as exc:
        raise ProtocolError(f"cannot decompress the body ({exc})") from None


def _failure(what: str, exc: Exception, budget: float, expired: bool, reused: bool) -> Exception:
    """Return the exception for a failure below HTTP: TLS failures are final; the others (the
    time running out, a refused or broken connection) may pass, so they are retried."""
    if expired:
        return late(what, budget)
    connecting = isinstance(exc, _ConnectFailed)
    cause: Exception = exc.cause if isinstance(exc, _ConnectFailed) else exc
    reason = redact.redact(str(cause) or type(cause).__name__)
    ssl = sys.modules.get("ssl")  # loaded if the request was over TLS, the one way to fail so
    if ssl is not None and isinstance(cause, ssl.SSLError):
        return SourceUnavailable(f"{what}: TLS failure ({reason})")  # retrying cannot cure it
    if isinstance(cause, TimeoutError):
        text = f"{'could not connect' if connecting else 'no answer'} within {budget:.3g} s"
    elif connecting:
        text = reason
    else:
        text = f"the {'kept-alive ' if reused else ''}connection broke ({reason})"
    return Retryable(SourceUnavailable(f"{what}: {text}"))
