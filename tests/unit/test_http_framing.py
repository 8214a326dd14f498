"""How the stdlib path (occ.http.connection) reads what servers send: every way RFC 9112 frames a
body, the sloppiness servers are known for, and answers that are not HTTP at all. Each server
here is a real socket on 127.0.0.1 that sends exactly the bytes a test gives it."""

from __future__ import annotations

import socket
import ssl
import threading
import time

import pytest

from occ.errors import SourceUnavailable
from occ.http.client import Http
from occ.http.connection import Connection
from occ.http.deadline import Deadline


class RawServer:
    """Answers the n-th request it reads (on whatever connection) with ``answers[n]`` as is;
    an answer ending in ``None`` closes that connection after it. Records each request's head
    and the connection (its number) it came on."""

    def __init__(self, *answers: bytes | tuple[bytes, None]) -> None:
        self.answers = list(answers)
        self.heads: list[tuple[int, bytes]] = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> RawServer:
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.listener.close()
        self.thread.join(5)

    def _serve(self) -> None:
        number = 0
        while self.answers:
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            number += 1
            with sock:
                self._converse(sock, number)

    def _converse(self, sock: socket.socket, number: int) -> None:
        pending = b""
        while self.answers:
            while b"\r\n\r\n" not in pending:
                data = sock.recv(65536)
                if not data:
                    return
                pending += data
            head, _, pending = pending.partition(b"\r\n\r\n")
            self.heads.append((number, head))
            answer = self.answers.pop(0)
            sock.sendall(answer[0] if isinstance(answer, tuple) else answer)
            if isinstance(answer, tuple):
                return


OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


@pytest.fixture
def http():
    client = Http(sleep=lambda seconds: None)
    yield client
    client.close()


def get(http: Http, server: RawServer, path: str = "/doc") -> bytes:
    return http.get(server.url + path, source="test", timeout=5, retries=0).body


def test_a_chunked_body_is_joined_and_its_trailers_do_not_end_the_connection(http):
    chunked = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5;name=value\r\nhello\r\n7\r\n, world\r\n0\r\nX-Checksum: 1\r\n\r\n"
    )
    with RawServer(chunked, OK) as server:
        assert get(http, server) == b"hello, world"
        assert get(http, server) == b"ok"
    assert [number for number, _ in server.heads] == [1, 1]


def test_interim_answers_and_folded_header_lines_are_understood(http):
    answer = (
        b"HTTP/1.1 100 Continue\r\n\r\n"
        b"HTTP/1.1 200 OK\r\nX-Note: first\r\n second\r\nContent-Length: 2\n\nok"
    )
    with RawServer(answer) as server:
        response = http.get(server.url + "/doc", source="test", timeout=5)
    assert response.body == b"ok"
    assert response.headers["X-Note"] == "first second"


@pytest.mark.parametrize(
    ("method", "status"),
    [("GET", b"304 Not Modified"), ("GET", b"204 No Content"), ("HEAD", b"200 OK")],
)
def test_answers_without_a_body_leave_the_connection_ready(http, method, status):
    # A Content-Length on these describes what a GET would have got: no body follows it.
    with RawServer(b"HTTP/1.1 " + status + b"\r\nContent-Length: 5\r\n\r\n", OK) as server:
        http.request(method, server.url + "/doc", source="test", timeout=5, retries=0)
        assert get(http, server) == b"ok"
    assert [number for number, _ in server.heads] == [1, 1]


def test_a_body_without_a_length_ends_with_the_connection(http):
    with RawServer((b"HTTP/1.0 200 OK\r\n\r\nuntil the end", None), OK) as server:
        assert get(http, server) == b"until the end"
        assert get(http, server) == b"ok"
    assert [number for number, _ in server.heads] == [1, 2]


def test_bytes_left_after_an_answer_are_not_taken_for_the_next_one(http):
    with RawServer(OK + b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nfake", OK) as server:
        assert get(http, server) == b"ok"
        assert get(http, server) == b"ok"
    assert [number for number, _ in server.heads] == [1, 2]


def test_the_request_names_its_host_and_asks_for_no_compression(http):
    with RawServer(OK) as server:
        get(http, server, "/a?b=c")
    ((_, head),) = server.heads
    lines = head.decode().split("\r\n")
    assert lines[0] == "GET /a?b=c HTTP/1.1"
    assert f"Host: {server.url.removeprefix('http://')}" in lines
    assert "Accept-Encoding: identity" in lines


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ((b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", None), "ended 5 bytes short"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok", "Content-Length"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: -2\r\n\r\nok", "Content-Length"),
        (b"SSH-2.0-OpenSSH_9.2\r\n\r\n", "not HTTP/1.x"),
        (b"HTTP/1.1 OK\r\n\r\n", "not HTTP/1.x"),
        (b"HTTP/1.1 099 Early\r\n\r\n", "not HTTP/1.x"),
        (b"HTTP/1.1 2000 OK\r\n\r\n", "not HTTP/1.x"),
        (b"HTTP/1.1 1a0 OK\r\n\r\n", "not HTTP/1.x"),
        (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n", "switched protocols"),
        (b"HTTP/1.1 200 OK\r\n" + b"X-A: 1\r\n" * 101 + b"\r\n", "more than 100 header fields"),
        (b"HTTP/1.1 200 OK\r\nX-A: " + b"a" * 70000 + b"\r\n\r\n", "longer than 65536 bytes"),
        (b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", "malformed header field"),
        (b"HTTP/1.1 200 OK\r\nBad Name: 1\r\n\r\n", "malformed header field"),
        ((b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", None), "chunk size"),
        ((b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n9\r\nabc", None), "in a chunk"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n", "longer"),
        ((b"HTTP/1.1 200 OK\r\nContent-Len", None), "closed the connection mid-answer"),
    ],
)
def test_an_answer_that_is_not_well_formed_http_is_a_clear_error(http, answer, reason):
    with RawServer(answer) as server, pytest.raises(SourceUnavailable, match=reason) as caught:
        get(http, server)
    assert "Traceback" not in str(caught.value)


def test_a_server_that_closes_without_answering_is_reported_as_such(http):
    with RawServer((b"", None)) as server, pytest.raises(SourceUnavailable, match="closed"):
        get(http, server)


def test_a_tls_handshake_is_cut_at_the_request_deadline_not_at_the_socket_timeout():
    # A server that takes the connection and never answers the client's hello. The socket's
    # own timeout would start afresh for the handshake: the deadline watches it from the start.
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    thread = threading.Thread(target=lambda: held.append(listener.accept()[0]), daemon=True)
    thread.start()
    port = listener.getsockname()[1]
    connection = Connection("127.0.0.1", port, 10.0, ssl.create_default_context())
    started = time.monotonic()
    try:
        with Deadline(0.3) as cut, pytest.raises(OSError):
            connection.connect(watch=cut.attach)
        took = time.monotonic() - started
    finally:
        connection.close()
        thread.join(5)
        for sock in held:
            sock.close()
        listener.close()
    assert took < 3.0, f"{took:.1f} s"
