"""occ.http.client against real HTTP servers on 127.0.0.1: timeouts, retries, deadline, size
cap, TLS, proxies and redaction, as a collector would experience them."""

from __future__ import annotations

import datetime
import ipaddress
import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import hypothesis
import hypothesis.strategies as st
import pytest

import occ
from occ import redact
from occ.errors import SourceUnavailable
from occ.http import retry
from occ.http.client import Http
from occ.http.response import Response
from tests import support
from tests.fakes.server import FakeServer, Reply


class Sleeps(list):
    """Records the sleeps Http asks for instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def http(sleeps: Sleeps):
    client = Http(sleep=sleeps, random=lambda: 0.5)
    yield client
    client.close()


def get(http: Http, url: str, **kwargs) -> Response:
    kwargs.setdefault("timeout", 2.0)
    return http.get(url, source="test", **kwargs)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- answers ---------------------------------------------------------------------------------


def test_response_carries_status_headers_and_body(http, fake_server):
    fake_server.route("/doc", Reply.json({"a": [1, 2]}, headers={"ETag": '"v1"'}))
    response = get(http, fake_server.url + "/doc")
    assert response.status == 200
    assert response.headers["etag"] == '"v1"'
    assert response.body == b'{"a": [1, 2]}'
    assert response.json() == {"a": [1, 2]}


def test_requests_share_one_kept_alive_connection(http, fake_server):
    fake_server.route("/x", Reply(body=b"x"))
    for _ in range(3):
        get(http, fake_server.url + "/x")
    assert len({r.client for r in fake_server.requests}) == 1


def test_headers_params_and_json_body_reach_the_server(http, fake_server):
    fake_server.route("/post", Reply(status=201))
    http.request(
        "POST",
        fake_server.url + "/post",
        source="test",
        timeout=2,
        headers={"X-Test": "1"},
        params={"a": "b c"},
        json={"k": "v"},
    )
    (request,) = fake_server.requests
    assert request.method == "POST"
    assert request.query == {"a": ["b c"]}
    assert request.headers["X-Test"] == "1"
    assert request.body == b'{"k": "v"}'
    assert request.headers["User-Agent"] == f"os-collect-config/{occ.__version__} (occ)"


def test_text_uses_declared_charset(http, fake_server):
    fake_server.route(
        "/l1",
        Reply(
            body="café".encode("latin-1"),
            headers={"Content-Type": "text/plain; charset=ISO-8859-1"},
        ),
    )
    fake_server.route("/u8", Reply(body="café".encode()))
    assert get(http, fake_server.url + "/l1").text == "café"
    assert get(http, fake_server.url + "/u8").text == "café"


@pytest.mark.parametrize(
    ("body", "headers", "reason"),
    [
        (b"<html><body>Proxy error</body></html>", {"Content-Type": "text/html"}, "HTML"),
        (b"  <!DOCTYPE html><p>portal</p>", {}, "HTML"),
        (b"{not json", {"Content-Type": "application/json"}, "not JSON"),
        (b"", {}, "not JSON"),
    ],
)
def test_html_or_invalid_json_is_unavailable(http, fake_server, body, headers, reason):
    fake_server.route("/doc", Reply(body=body, headers=headers))
    response = get(http, fake_server.url + "/doc")
    with pytest.raises(SourceUnavailable, match=reason) as caught:
        response.json()
    assert caught.value.http_status == 200


# --- statuses and retries ----------------------------------------------------------------------


def test_5xx_then_success_is_retried_with_jittered_backoff(http, fake_server, sleeps):
    fake_server.route("/doc", Reply(503), Reply(502), Reply.json({"ok": True}))
    assert get(http, fake_server.url + "/doc").json() == {"ok": True}
    assert len(fake_server.requests) == 3
    # full jitter with random() = 0.5: half of 0.5 s, then half of 1 s
    assert sleeps == [0.25, 0.5]


def test_persistent_5xx_gives_up_after_the_retry_limit(http, fake_server, sleeps):
    fake_server.route("/doc", Reply(500))
    with pytest.raises(SourceUnavailable, match="HTTP 500") as caught:
        get(http, fake_server.url + "/doc")
    assert caught.value.http_status == 500
    assert len(fake_server.requests) == 1 + http.retries
    assert len(sleeps) == http.retries


def test_429_waits_as_long_as_retry_after_says(http, fake_server, sleeps):
    fake_server.route("/doc", Reply(429, headers={"Retry-After": "7"}), Reply.json({}))
    assert get(http, fake_server.url + "/doc").json() == {}
    assert sleeps == [7.0]


def test_retry_after_as_http_date(fake_server, sleeps):
    now = datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
    http = Http(sleep=sleeps, now=lambda: now)
    fake_server.route(
        "/doc", Reply(503, headers={"Retry-After": "Fri, 02 Jan 2026 03:04:17 GMT"}), Reply()
    )
    assert get(http, fake_server.url + "/doc").status == 200
    assert sleeps == [12.0]


def test_retry_after_beyond_the_deadline_gives_up_at_once(fake_server, sleeps):
    http = Http(pass_timeout=30, sleep=sleeps)
    fake_server.route("/doc", Reply(503, headers={"Retry-After": "120"}), Reply())
    with pytest.raises(SourceUnavailable, match="HTTP 503") as caught:
        get(http, fake_server.url + "/doc")
    assert caught.value.http_status == 503
    assert sleeps == []
    assert len(fake_server.requests) == 1


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410, 501])
def test_terminal_statuses_are_not_retried(http, fake_server, sleeps, status):
    fake_server.route("/doc", Reply(status))
    with pytest.raises(SourceUnavailable, match=f"HTTP {status}") as caught:
        get(http, fake_server.url + "/doc")
    assert caught.value.http_status == status
    assert len(fake_server.requests) == 1
    assert sleeps == []


def test_accepted_statuses_are_returned(http, fake_server):
    fake_server.route("/doc", Reply(401, b"who are you"))
    assert get(http, fake_server.url + "/doc", accept=(401,)).status == 401


def test_redirects_are_followed_unless_disabled(http, fake_server):
    fake_server.route("/old", Reply(302, headers={"Location": "/new"}))
    fake_server.route("/new", Reply(body=b"here"))
    assert get(http, fake_server.url + "/old").body == b"here"
    response = get(http, fake_server.url + "/old", allow_redirects=False)
    assert response.status == 302
    assert response.headers["Location"] == "/new"


def test_connection_refused_is_retried_then_unavailable(http, sleeps):
    with pytest.raises(SourceUnavailable, match="refused"):
        get(http, f"http://127.0.0.1:{free_port()}/doc")
    assert len(sleeps) == http.retries


def test_dropped_connection_then_success(http, fake_server):
    fake_server.route("/doc", Reply(drop=True), Reply.json([1]))
    assert get(http, fake_server.url + "/doc").json() == [1]


# --- timeouts and the deadline -----------------------------------------------------------------


def test_hanging_server_times_out_per_request(http, fake_server):
    fake_server.route("/doc", Reply(hang=True))
    started = time.monotonic()
    with pytest.raises(SourceUnavailable, match=r"no answer within 0\.3 s"):
        get(http, fake_server.url + "/doc", timeout=0.3, retries=0)
    assert time.monotonic() - started < 2


def test_a_shorter_deadline_ends_on_time_while_a_longer_one_is_running(http):
    # One watcher thread ends every request's time; a request with a short timeout, started
    # while one with a long timeout is trickling along, must not wait for the long one's.
    import threading

    from tests.fakes.slow import SlowServer

    ended: list[str] = []

    def long_request() -> None:
        try:
            get(http, slow.url, timeout=2, retries=0)
        except SourceUnavailable as exc:
            ended.append(str(exc))

    with SlowServer("trickle_body") as slow:
        long_one = threading.Thread(target=long_request)
        long_one.start()
        time.sleep(0.2)
        started = time.monotonic()
        with pytest.raises(SourceUnavailable, match=r"no answer within 0\.4 s"):
            get(http, slow.url + "/short", timeout=0.4, retries=0)
        assert time.monotonic() - started < 1.5
        long_one.join()
    assert len(ended) == 1 and "no answer within 2 s" in ended[0]


def test_slow_answer_then_success_within_timeout(http, fake_server):
    fake_server.route("/doc", Reply(body=b"late", delay=0.2))
    assert get(http, fake_server.url + "/doc", timeout=2).body == b"late"


def test_deadline_shortens_timeouts_and_then_refuses_requests(fake_server, sleeps):
    http = Http(pass_timeout=0.6, sleep=sleeps)
    fake_server.route("/hang", Reply(hang=True))
    fake_server.route("/ok", Reply())
    started = time.monotonic()
    with pytest.raises(SourceUnavailable):
        get(http, fake_server.url + "/hang", timeout=30)
    assert time.monotonic() - started < 3  # the deadline, not 30 s (or 90 with retries)
    time.sleep(max(0.0, http.remaining()))
    with pytest.raises(SourceUnavailable, match="deadline"):
        get(http, fake_server.url + "/ok", timeout=30)
    assert fake_server.requests_to("/ok") == []


def test_deadline_comes_from_the_configuration():
    from occ.config.model import Config, Section

    general = Section("DEFAULT", {"pass_timeout": 12.0, "max_response_size": 2048})
    http = Http.for_config(Config((), {"DEFAULT": general}))
    assert 11 < http.remaining() <= 12
    assert http.max_response_size == 2048


# --- size cap ----------------------------------------------------------------------------------


def test_declared_oversized_body_is_refused(fake_server):
    http = Http(max_response_size=1024)
    fake_server.route("/big", Reply(body=b"x" * 1025))
    fake_server.route("/fits", Reply(body=b"x" * 1024))
    with pytest.raises(SourceUnavailable, match="max_response_size"):
        get(http, fake_server.url + "/big")
    assert len(get(http, fake_server.url + "/fits").body) == 1024


def test_error_status_is_reported_even_with_a_huge_error_page(fake_server):
    http = Http(max_response_size=1024)
    fake_server.route("/doc", Reply(404, body=b"<html>" + b"x" * 100_000))
    with pytest.raises(SourceUnavailable, match="HTTP 404") as caught:
        get(http, fake_server.url + "/doc")
    assert caught.value.http_status == 404


def test_streamed_oversized_body_stops_reading_early(fake_server):
    http = Http(max_response_size=200_000)
    # 100 chunks of 64 KiB, 20 ms apart: reading all of it would take 2 s
    fake_server.route("/big", Reply(chunks=[b"x" * 65536] * 100, chunk_delay=0.02))
    started = time.monotonic()
    with pytest.raises(SourceUnavailable, match="larger than max_response_size"):
        get(http, fake_server.url + "/big")
    assert time.monotonic() - started < 1.5


# --- TLS ---------------------------------------------------------------------------------------


def test_tls_is_verified_by_default(http, tls_server, sleeps):
    tls_server.route("/doc", Reply())
    with pytest.raises(SourceUnavailable, match="TLS failure"):
        get(http, tls_server.url + "/doc")
    assert sleeps == []  # a certificate problem is not transient


def test_tls_with_a_ca_file(http, tls_server, tls):
    tls_server.route("/doc", Reply.json({"secure": True}))
    assert get(http, tls_server.url + "/doc", verify=tls[1]).json() == {"secure": True}


def test_unverified_tls_when_asked_for_adds_no_stderr_warning(http, tls_server, recwarn):
    tls_server.route("/doc", Reply.json({"insecure": True}))
    assert get(http, tls_server.url + "/doc", verify=False).json() == {"insecure": True}
    assert [str(w.message) for w in recwarn if "Unverified" in str(w.message)] == []


# --- proxies -----------------------------------------------------------------------------------


def test_ordinary_endpoints_follow_the_proxy_variables(http, fake_server, monkeypatch):
    with FakeServer() as proxy:
        proxy.fallback = lambda request: Reply(body=b"via proxy")
        support.through_proxy(monkeypatch, proxy.url)
        assert get(http, fake_server.url + "/doc").body == b"via proxy"
        assert proxy.requests[0].target == fake_server.url + "/doc"
        assert fake_server.requests == []


NAMESPACE_CHILD = """
import json, os, sys
sys.path.insert(0, os.environ["REPO"])
from occ.http.client import Http
from tests.fakes.ec2 import Ec2Metadata
from tests.fakes.server import FakeServer, Reply

with FakeServer() as proxy, FakeServer() as plain, Ec2Metadata(
    os.environ["TREE"], host="169.254.169.254"
) as ec2:
    proxy.fallback = lambda request: Reply(body=b"via proxy")
    for name in ("http_proxy", "HTTP_PROXY", "all_proxy"):
        os.environ[name] = proxy.url
    os.environ["no_proxy"] = ""
    http = Http()
    direct = http.get(ec2.url + "/latest/meta-data/instance-id", source="t", timeout=5).text
    proxied = http.get(plain.url + "/x", source="t", timeout=5).text
    print(json.dumps({"direct": direct, "proxied": proxied,
                      "proxy_saw": [r.target for r in proxy.requests]}))
"""


def test_link_local_metadata_bypasses_a_proxy_in_a_private_network_namespace(tmp_path):
    """169.254.169.254 on the loopback device of a network namespace made for this test."""
    label = "LINK-LOCAL PROXY-BYPASS TEST"
    if os.geteuid() != 0:
        support.skip_or_fail("needs root to make a private network namespace", label=label)
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        packages = support.install_command("util-linux", "iproute2")
        support.skip_or_fail(f"needs unshare and ip: {packages}", label=label)
    setup = "ip link set lo up && ip addr add 169.254.169.254/32 dev lo"
    made = subprocess.run(["unshare", "--net", "sh", "-c", setup], capture_output=True, text=True)
    if made.returncode:
        reason = f"cannot create a network namespace here: {made.stderr.strip()}"
        support.skip_or_fail(reason, label=label)
    repo = Path(__file__).resolve().parents[2]
    script = tmp_path / "child.py"
    script.write_text(NAMESPACE_CHILD)
    done = subprocess.run(
        ["unshare", "--net", "sh", "-c", f'{setup} && exec "$0" "$1"', sys.executable, script],
        env={**os.environ, "REPO": str(repo), "TREE": str(repo / "tests/fixtures/ec2/nova")},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["direct"] == "i-0000002a"
    assert result["proxied"] == "via proxy"
    assert len(result["proxy_saw"]) == 1 and result["proxy_saw"][0].endswith("/x")


@pytest.mark.parametrize(
    ("url", "direct"),
    [
        ("http://169.254.169.254/latest/meta-data/", True),
        ("http://169.254.10.1:8080/", True),
        ("http://[fd00:ec2::254]/latest/", True),
        ("http://[fe80::a9fe:a9fe%25eth0]/", True),
        ("http://127.0.0.1/", False),
        ("https://keystone.example.net:5000/v3", False),
        ("http://10.0.0.1/", False),
        ("http://[fd00:ec2::253]/", False),
    ],
)
def test_link_local_metadata_addresses_are_never_proxied(url, direct):
    assert retry.never_proxied(url) is direct


@hypothesis.settings(max_examples=1000, deadline=None)
@hypothesis.given(
    st.lists(
        st.sampled_from(["169", "254", "0", "00", "010", "255", "256", "1", "", "x", "+1", " 1"]),
        min_size=1,
        max_size=5,
    ).map(".".join)
)
def test_dotted_hosts_are_link_local_exactly_when_ipaddress_says_so(host):
    # The check reads IPv4 with inet_pton instead of ipaddress: they must agree on any host.
    try:
        expected = ipaddress.ip_address(host) in ipaddress.ip_network("169.254.0.0/16")
    except ValueError:
        expected = False
    assert retry.never_proxied(f"http://{host}/latest/") is expected


# --- policy helpers ----------------------------------------------------------------------------

NOW = datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("5", 5.0),
        (" 0 ", 0.0),
        ("Fri, 02 Jan 2026 03:05:05 GMT", 60.0),
        ("Friday, 02-Jan-26 03:05:05 GMT", 60.0),
        ("Fri Jan  2 03:05:05 2026", 60.0),
        ("Fri, 02 Jan 2026 04:05:05 +0100", 60.0),
        ("Thu, 01 Jan 2026 00:00:00 GMT", 0.0),
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after_forms(header, seconds):
    assert retry.retry_after(header, NOW) == seconds


def test_full_jitter_is_bounded_by_an_exponential_cap():
    top = [retry.backoff_delay(i, base=0.5, cap=8, random=lambda: 1.0) for i in range(6)]
    assert top == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]
    assert retry.backoff_delay(3, base=0.5, cap=8, random=lambda: 0.0) == 0.0


# --- redaction ---------------------------------------------------------------------------------

SECRETS = ("SIGSECRETabc123", "AKIDSECRET0042", "TEMPURLSIG77", "TOKENSECRET9")


@pytest.mark.parametrize("path", ["stdlib", "requests"])
def test_secrets_in_urls_and_headers_never_reach_logs_or_errors(
    http, fake_server, caplog, monkeypatch, path
):
    if path == "requests":  # a proxy sends plain HTTP through requests and urllib3 instead
        support.through_proxy(monkeypatch, fake_server.url)
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="urllib3")  # even if someone turns urllib3 up
    redact.register("TOKENSECRET9")  # as a collector does with a token it obtains
    query = "?Signature=SIGSECRETabc123&AWSAccessKeyId=AKIDSECRET0042&temp_url_sig=TEMPURLSIG77"
    fake_server.route("/flaky", Reply(503), Reply(404))
    fake_server.route("/html", Reply(body=b"<html>TOKENSECRET9</html>"))
    errors = []
    for url in (
        fake_server.url + "/flaky" + query,
        f"http://127.0.0.1:{free_port()}/down{query}",
        fake_server.url + "/TOKENSECRET9" + query,
    ):
        with pytest.raises(SourceUnavailable) as caught:
            get(http, url, headers={"X-Auth-Token": "TOKENSECRET9"})
        errors.append(str(caught.value))
    with pytest.raises(SourceUnavailable) as caught:
        get(http, fake_server.url + "/html" + query).json()
    errors.append(str(caught.value))
    # the real request carried the real values
    assert fake_server.requests[0].query["Signature"] == ["SIGSECRETabc123"]
    assert fake_server.requests[0].headers["X-Auth-Token"] == "TOKENSECRET9"
    text = caplog.text + "\n".join(errors)
    assert "Signature=***" in text
    if path == "requests":
        assert "urllib3" in caplog.text  # its records were captured, and redacted
    for secret in SECRETS:
        assert secret not in text


def test_the_pass_deadline_runs_from_the_start_of_the_pass_not_the_first_request(fake_server):
    fake_server.route("/doc", Reply.json({"a": 1}))
    # A pass that began 11 s ago (local sources ran first) has no time left of its 10 s.
    http = Http(pass_timeout=10, started=time.monotonic() - 11)
    assert http.remaining() < 0
    with pytest.raises(SourceUnavailable, match="pass deadline"):
        http.get(fake_server.url + "/doc", source="test", timeout=2)
    assert fake_server.requests == []


def test_collectors_share_a_deadline_that_started_with_their_context(tmp_path):
    from occ.collectors.base import Context
    from occ.config import loader
    from occ.core.state import State

    cfg = loader.load(loader.CommandLine(config_files=(), config_dirs=()), {"HOME": str(tmp_path)})
    context = Context(cfg, state=State(str(tmp_path), "x", writable=False), store=False)
    context.started -= 1000  # as if the local sources before had taken that long
    try:
        assert context.http.remaining() < 0
    finally:
        context.close()
