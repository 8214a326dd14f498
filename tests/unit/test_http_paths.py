"""The two paths of occ.http: plain HTTP straight to its server through the standard library,
everything else through requests. Servers must not be able to tell them apart, and the stdlib
path must keep the promises the requests path keeps (kept-alive connections that the server
closed, compressed answers, the size cap, URL encoding)."""

from __future__ import annotations

import gzip
import os
import socket
import threading
import time
import zlib

import pytest

from occ.errors import SourceUnavailable
from occ.http.client import Http
from tests import support
from tests.fakes.server import Reply


@pytest.fixture
def http():
    client = Http(sleep=lambda seconds: None)
    yield client
    client.close()


@pytest.mark.parametrize("path", ["stdlib", "requests"])
def test_servers_see_the_same_request_on_either_path(http, fake_server, monkeypatch, path):
    if path == "requests":
        support.through_proxy(monkeypatch, fake_server.url)
    fake_server.route("/tokens", Reply.json({"ok": True}))
    answer = http.request(
        "POST",
        fake_server.url + "/tokens?a=1",
        source="test",
        timeout=5,
        headers={"X-Custom": "yes", "accept": "application/json"},
        params={"b": "two words", "c": None},
        json={"auth": "ü"},
    )
    assert answer.json() == {"ok": True}
    (seen,) = fake_server.requests
    assert seen.method == "POST"
    assert (seen.path, seen.query) == ("/tokens", {"a": ["1"], "b": ["two words"]})
    assert seen.body == b'{"auth": "\\u00fc"}'
    assert seen.headers["Content-Type"] == "application/json"
    assert seen.headers["Content-Length"] == str(len(seen.body))
    assert seen.headers.get_all("Accept") == ["application/json"]  # the caller's, not */*
    assert seen.headers["X-Custom"] == "yes"
    assert seen.headers["User-Agent"].startswith("os-collect-config/")


def test_credentials_in_the_url_are_sent_as_basic_auth_not_in_the_request_line(http, fake_server):
    fake_server.route("/doc", Reply(body=b"ok"))
    url = fake_server.url.replace("://", "://us%40er:p%3Ass@") + "/doc"
    assert http.get(url, source="test", timeout=5).body == b"ok"
    (seen,) = fake_server.requests
    assert seen.headers["Authorization"] == "Basic dXNAZXI6cDpzcw=="  # us@er:p:ss
    assert seen.target == "/doc"


def test_characters_a_url_cannot_carry_are_escaped_once(http, fake_server):
    fake_server.fallback = lambda request: Reply(body=request.target.encode())
    answer = http.get(fake_server.url + "/a b/é/%41?q=x y", source="test", timeout=5)
    assert answer.body == b"/a%20b/%C3%A9/%41?q=x%20y"


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://127.0.0.1/x", "not an http or https URL"),
        ("127.0.0.1/x", "no URL scheme"),
        ("http:///x", "no host"),
        ("http://127.0.0.1:99999/x", "invalid URL"),
        ("http://127.0.0.1:port/x", "invalid URL"),
    ],
)
def test_a_url_that_cannot_be_sent_is_a_clear_error(http, url, reason):
    with pytest.raises(SourceUnavailable, match=reason):
        http.get(url, source="test", timeout=1)


def test_a_kept_alive_connection_the_server_closed_is_not_reused(http):
    # A server that answers as if it kept the connection, then closes it while idle: a
    # request sent on it would fail, with no retry to hide that.
    with socket.create_server(("127.0.0.1", 0)) as listener:
        connections = []
        closed = threading.Event()

        def serve() -> None:
            for _ in range(2):
                sock, _ = listener.accept()
                connections.append(sock)
                sock.recv(65536)
                sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                sock.close()
                closed.set()

        server = threading.Thread(target=serve, daemon=True)
        server.start()
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/x"
        assert http.get(url, source="test", timeout=5, retries=0).body == b"ok"
        assert closed.wait(5)
        time.sleep(0.05)  # the server's close reaches this end
        assert http.get(url, source="test", timeout=5, retries=0).body == b"ok"
        server.join(5)
    assert len(connections) == 2


def test_an_answer_compressed_unasked_is_decompressed(http, fake_server):
    fake_server.route(
        "/doc", Reply(body=gzip.compress(b'{"a": 1}'), headers={"Content-Encoding": "gzip"})
    )
    assert http.get(fake_server.url + "/doc", source="test", timeout=5).json() == {"a": 1}
    assert fake_server.requests[0].headers["Accept-Encoding"] == "identity"


@pytest.mark.parametrize("wrapped", [True, False])
def test_a_deflated_answer_is_decoded_with_or_without_its_zlib_header(http, fake_server, wrapped):
    packer = zlib.compressobj(wbits=zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)
    body = packer.compress(b'{"a": 1}') + packer.flush()
    fake_server.route("/doc", Reply(body=body, headers={"Content-Encoding": "deflate"}))
    assert http.get(fake_server.url + "/doc", source="test", timeout=5).json() == {"a": 1}


def test_the_size_cap_counts_a_compressed_answer_as_it_inflates(fake_server):
    bomb = gzip.compress(b"\0" * (64 * 1024 * 1024))  # 64 KiB on the wire
    fake_server.route("/doc", Reply(body=bomb, headers={"Content-Encoding": "gzip"}))
    http = Http(max_response_size=1024 * 1024)
    with pytest.raises(SourceUnavailable, match="larger than max_response_size"):
        http.get(fake_server.url + "/doc", source="test", timeout=5)
    http.close()


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_requests_straight_to_their_server_load_no_http_library(
    fake_server, tls_server, tls, scheme
):
    # Each pass is a new process: requests and urllib3 cost most of a start-up, http.client
    # (with the email package) and ssl a third of the rest, and a pass whose sources need no
    # proxy (the metadata services, Heat, Keystone) must not pay for them; ssl only over TLS.
    server = tls_server if scheme == "https" else fake_server
    server.route("/doc", Reply(body=b"ok"))
    heavy = ("requests", "urllib3", "http", "email") + (("ssl",) if scheme == "http" else ())
    probe = (
        "import sys\n"
        "from occ.http.client import Http\n"
        f"answer = Http().get({server.url + '/doc'!r}, source='t', timeout=5, verify={tls[1]!r})\n"
        "assert answer.body == b'ok'\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {heavy!r}))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    assert support.probe_output(probe, env).strip() == "[]"


def test_tls_connections_are_kept_alive(http, tls_server, tls):
    tls_server.route("/doc", Reply(body=b"ok"))
    for _ in range(3):
        assert http.get(tls_server.url + "/doc", source="t", timeout=5, verify=tls[1]).body == b"ok"
    assert len({r.client for r in tls_server.requests}) == 1


def test_the_ca_bundle_variables_requests_reads_are_honoured(http, tls_server, tls, monkeypatch):
    tls_server.route("/doc", Reply(body=b"ok"))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", tls[1])
    assert http.get(tls_server.url + "/doc", source="t", timeout=5).body == b"ok"


def test_a_ca_bundle_that_cannot_be_read_is_a_final_tls_failure(tls_server, tmp_path):
    attempts = []
    http = Http(sleep=attempts.append)
    missing = str(tmp_path / "no-such-ca.pem")
    with pytest.raises(SourceUnavailable, match=f"TLS failure .*CA bundle {missing}"):
        http.get(tls_server.url + "/doc", source="t", timeout=5, verify=missing)
    assert attempts == [] and tls_server.requests == []


def test_a_tls_handshake_trickled_in_byte_by_byte_ends_by_the_deadline(http):
    # A record header announcing 16 KiB of handshake, then one byte every 0.1 s: each read
    # gets something long before its socket timeout, so only the deadline can end it.
    with socket.create_server(("127.0.0.1", 0)) as listener:
        stop = threading.Event()

        def serve() -> None:
            sock, _ = listener.accept()
            with sock:
                sock.sendall(b"\x16\x03\x03\x40\x00")
                while not stop.wait(0.1):
                    try:
                        sock.sendall(b"\x00")
                    except OSError:
                        return

        server = threading.Thread(target=serve, daemon=True)
        server.start()
        url = f"https://127.0.0.1:{listener.getsockname()[1]}/doc"
        started = time.monotonic()
        with pytest.raises(SourceUnavailable, match=r"no answer within 0\.5 s"):
            http.get(url, source="test", timeout=0.5, retries=0, verify=False)
        took = time.monotonic() - started
        stop.set()
        server.join(5)
    assert took < 1.5


def test_the_stdlib_path_never_quotes_a_header_value_it_refuses(fake_server):
    # Http checks header values before any path sees them; this is the stdlib path's own
    # guard, below that check: http.client's refusal quotes the value, which may be a token.
    import datetime

    from occ.http import plain
    from occ.http.outgoing import Outgoing

    pool = plain.Pool(1)
    bad = Outgoing("GET", fake_server.url + "/doc", {"X-Auth-Token": "SECRET9\nX-Evil: 1"})
    with pytest.raises(SourceUnavailable) as caught:
        plain.exchange(
            pool, bad, what="GET /doc", budget=2, accept=(), max_size=1024,
            now=lambda: datetime.datetime.now(datetime.timezone.utc),
        )  # fmt: skip
    pool.close()
    assert "SECRET9" not in str(caught.value) and "header value" in str(caught.value)
    assert fake_server.requests == []
