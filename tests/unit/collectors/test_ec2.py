"""The ec2 collector against a real fake metadata service on 127.0.0.1 (tests/fakes/ec2.py)."""

from __future__ import annotations

import json
import logging
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from occ.collectors.ec2.walk import WORKERS, parse_listing
from occ.errors import SourceUnavailable
from occ.log import logfields
from tests.fakes.ec2 import TOKEN_HEADER, Ec2Metadata
from tests.fakes.server import Reply

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "ec2"
NOVA = json.loads((FIXTURES / "nova.json").read_text())
META = "/latest/meta-data"


def ini(url: str, **options: str) -> str:
    """The [ec2] section for a fake at ``url``; config drive off (the host's blkid is not
    ours to query), IMDSv2 as given."""
    lines = [f"metadata_url = {url}{META}", "config_drive = false", "timeout = 2"]
    lines += [f"{key} = {value}" for key, value in options.items()]
    return "[ec2]\n" + "\n".join(lines) + "\n"


def fallback_warnings(caplog) -> list[logging.LogRecord]:
    return [
        r
        for r in caplog.records
        if logfields.of(r).get("MESSAGE_ID") == logfields.MESSAGE_IMDSV2_FALLBACK
    ]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def nova():
    """A Nova-like service: IMDSv1 only."""
    with Ec2Metadata(str(FIXTURES / "nova")) as ec2:
        yield ec2


# --- the walk ----------------------------------------------------------------------------------


def test_walk_of_a_nova_service_gives_the_whole_tree_in_listing_order(harness, nova, caplog):
    outputs = harness.collect("ec2", ini(nova.url, imdsv2="off"))
    assert outputs == [("ec2", NOVA)]
    assert json.dumps(outputs[0][1], indent=1) == (FIXTURES / "nova.json").read_text().strip()
    assert all(token is None for _, _, token in nova.requests)
    assert ("GET", META + "/public-keys/0/openssh-key", None) in nova.requests
    assert caplog.records == [] or all(r.levelno < logging.WARNING for r in caplog.records)


def test_quirky_listings_crlf_trailing_newlines_empty_and_numbered_entries(harness):
    with Ec2Metadata(str(FIXTURES / "quirky")) as ec2:
        outputs = harness.collect("ec2", ini(ec2.url, imdsv2="off"))
    assert outputs == [("ec2", json.loads((FIXTURES / "quirky.json").read_text()))]
    assert list(outputs[0][1]) == ["instance-id", "empty", "keys", "local-ipv4"]
    paths = [path for _, path, _ in ec2.requests]
    assert META + "/keys/0/" in paths and META + "/keys/1/openssh-key" in paths
    assert not any("\r" in path or "//" in path for path in paths)


def test_trailing_slash_in_metadata_url_does_not_double_it(harness, nova):
    section = ini(nova.url, imdsv2="off").replace(META, META + "/")
    assert harness.collect("ec2", section) == [("ec2", NOVA)]
    assert nova.requests[0][1] == META + "/"
    assert not any("//" in path for _, path, _ in nova.requests)


@pytest.mark.parametrize(
    ("listing", "entries"),
    [
        ("a\nb/", [("a", "a"), ("b", "b/")]),
        ("a\nb/\n", [("a", "a"), ("b", "b/")]),
        ("a\r\nb/\r\n", [("a", "a"), ("b", "b/")]),
        ("", []),
        ("\n\n", []),
        ("0=my-key\n1=other", [("0", "0/"), ("1", "1/")]),
        ("x=y=z", [("x", "x/")]),
        ("=nameless\n/", []),
    ],
)
def test_parse_listing(listing, entries):
    assert parse_listing(listing) == entries


def test_output_order_is_listing_order_whatever_the_completion_order(harness, fake_server):
    names = [f"k{i:02d}" for i in range(12)]
    fake_server.route(META + "/", Reply(body="\n".join(names)))
    for rank, name in enumerate(names):  # the first keys answer last
        fake_server.route(f"{META}/{name}", Reply(body=name.upper(), delay=0.01 * (12 - rank)))
    outputs = harness.collect("ec2", ini(fake_server.url, imdsv2="off"))
    assert outputs == [("ec2", {name: name.upper() for name in names})]
    assert list(outputs[0][1]) == names


def test_cold_walk_of_300_keys_runs_concurrently_over_pooled_connections(harness, tmp_path):
    root = tmp_path / "big" / "latest" / "meta-data"
    for directory in range(10):
        for leaf in range(30):
            path = root / f"d{directory}" / f"leaf{leaf:02d}"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f"{directory}-{leaf}")
    with Ec2Metadata(str(tmp_path / "big"), latency=0.02) as ec2:
        started = time.monotonic()
        ((_, tree),) = harness.collect("ec2", ini(ec2.url, imdsv2="off"))
        elapsed = time.monotonic() - started
    assert len(ec2.requests) == 1 + 10 + 300
    assert tree["d9"]["leaf29"] == "9-29" and list(tree) == [f"d{i}" for i in range(10)]
    sequential = len(ec2.requests) * 0.02
    assert elapsed < 0.5 * sequential, f"{elapsed:.2f} s for {len(ec2.requests)} requests"


def test_walk_fetches_a_listing_before_the_values_listed_ahead_of_it(
    harness, fake_server, monkeypatch
):
    # One worker makes the order visible. A listing adds work: fetched first, the deep branch
    # (network interfaces, on a real service) starts at once instead of behind every value.
    monkeypatch.setattr("occ.collectors.ec2.walk.WORKERS", 1)
    names = [f"k{i}" for i in range(30)]
    fake_server.route(META + "/", Reply(body="\n".join([*names, "deep/"])))
    fake_server.route(META + "/deep/", Reply(body="leaf"))
    fake_server.route(META + "/deep/leaf", Reply(body="bottom"))
    for name in names:
        fake_server.route(f"{META}/{name}", Reply(body=name))
    ((_, tree),) = harness.collect("ec2", ini(fake_server.url, imdsv2="off"))
    paths = [r.path for r in fake_server.requests]
    assert paths[:2] == [META + "/", META + "/deep/"], paths
    assert list(tree) == [*names, "deep"] and tree["deep"] == {"leaf": "bottom"}


def test_walk_reuses_a_bounded_number_of_connections(harness, fake_server):
    names = [f"k{i}" for i in range(40)]
    fake_server.route(META + "/", Reply(body="\n".join(names)))
    for name in names:
        fake_server.route(f"{META}/{name}", Reply(body=name, delay=0.005))
    harness.collect("ec2", ini(fake_server.url, imdsv2="off"))
    assert len({r.client for r in fake_server.requests}) <= WORKERS + 1


def test_walk_of_a_service_that_answers_at_once_does_not_start_idle_workers(
    harness, fake_server, monkeypatch
):
    # Threads that would only take turns at the interpreter lock cost CPU on every request.
    # (The threshold is raised so that a loaded test machine's stall cannot look like latency.)
    monkeypatch.setattr("occ.collectors.ec2.walk.GROW_AFTER", 0.5)
    names = [f"k{i}" for i in range(40)]
    fake_server.route(META + "/", Reply(body="\n".join(names)))
    for name in names:
        fake_server.route(f"{META}/{name}", Reply(body=name))
    ((_, tree),) = harness.collect("ec2", ini(fake_server.url, imdsv2="off"))
    assert list(tree) == names
    assert len({r.client for r in fake_server.requests}) == 1


def test_walk_starts_the_workers_it_needs_together_once_an_answer_shows_latency(
    harness, fake_server, monkeypatch
):
    # A late root listing means the service's latency limits the walk: the workers the waiting
    # nodes need start at once, instead of one more every GROW_AFTER.
    monkeypatch.setattr("occ.collectors.ec2.walk.GROW_AFTER", 0.05)
    names = [f"k{i}" for i in range(2 * WORKERS)]
    fake_server.route(META + "/", Reply(body="\n".join(names), delay=0.1))
    asked: list[float] = []

    def late(request):
        asked.append(time.monotonic())
        return Reply(body=request.path.rsplit("/", 1)[1], delay=0.2)

    for name in names:
        fake_server.route(f"{META}/{name}", late)
    ((_, tree),) = harness.collect("ec2", ini(fake_server.url, imdsv2="off"))
    assert tree == {name: name for name in names}
    first = sorted(asked)[:WORKERS]
    assert first[-1] - first[0] < 0.04, [round(t - first[0], 3) for t in first]


def test_fake_service_runs_standalone_with_the_standard_library_only(tmp_path):
    script = Path(__file__).resolve().parents[2] / "fakes" / "ec2.py"
    argv = [sys.executable, "-I", str(script), "--bind", "127.0.0.1", "--port", "0",
            "--root", str(FIXTURES / "nova"), "--imds", "v2-required"]  # fmt: skip
    process = subprocess.Popen(argv, cwd=tmp_path, stdout=subprocess.PIPE, text=True)
    try:
        banner = process.stdout.readline()  # "serving <root> on http://127.0.0.1:<port> (...)"
        base = banner.split(" on ", 1)[1].split()[0]
        put = urllib.request.Request(
            base + "/latest/api/token",
            method="PUT",
            headers={"X-aws-ec2-metadata-token-ttl-seconds": "60"},
        )
        with urllib.request.urlopen(put, timeout=5) as answer:
            token = answer.read().decode()
        get = urllib.request.Request(base + META + "/instance-id", headers={TOKEN_HEADER: token})
        with urllib.request.urlopen(get, timeout=5) as answer:
            assert answer.read() == b"i-0000002a"
    finally:
        process.terminate()
        process.wait(timeout=10)
        process.stdout.close()


# --- IMDSv2 ------------------------------------------------------------------------------------


def test_auto_on_a_v1_only_service_falls_back_with_one_warning(harness, nova, caplog):
    assert harness.collect("ec2", ini(nova.url)) == [("ec2", NOVA)]
    assert nova.requests[0][:2] == ("PUT", "/latest/api/token")
    assert [m for m, _, _ in nova.requests].count("PUT") == 1
    (warning,) = fallback_warnings(caplog)
    assert warning.levelno == logging.WARNING
    assert "IMDSv1" in warning.getMessage()


def test_off_never_asks_for_a_token(harness, nova, caplog):
    harness.collect("ec2", ini(nova.url, imdsv2="off"))
    assert "PUT" not in [m for m, _, _ in nova.requests]
    assert fallback_warnings(caplog) == []


@pytest.mark.parametrize("mode", ["v2-optional", "v2-required"])
@pytest.mark.parametrize("policy", ["auto", "required"])
def test_token_is_sent_on_every_get(harness, mode, policy, caplog):
    with Ec2Metadata(str(FIXTURES / "nova"), imds=mode) as ec2:
        assert harness.collect("ec2", ini(ec2.url, imdsv2=policy)) == [("ec2", NOVA)]
    put, *gets = ec2.requests
    assert put[:2] == ("PUT", "/latest/api/token")
    assert gets and all(m == "GET" and token for m, _, token in gets)
    assert len({token for _, _, token in gets}) == 1
    assert fallback_warnings(caplog) == []


def test_v2_only_service_with_tokens_off_is_unavailable(harness):
    ec2 = Ec2Metadata(str(FIXTURES / "nova"), imds="v2-required")
    with ec2, pytest.raises(SourceUnavailable, match="401") as caught:
        harness.collect("ec2", ini(ec2.url, imdsv2="off"))
    assert caught.value.http_status == 401


def test_required_on_a_v1_only_service_is_unavailable_without_fallback(harness, nova, caplog):
    with pytest.raises(SourceUnavailable, match="IMDSv2 is required") as caught:
        harness.collect("ec2", ini(nova.url, imdsv2="required"))
    assert caught.value.http_status == 404
    assert [m for m, _, _ in nova.requests] == ["PUT"]
    assert fallback_warnings(caplog) == []


def test_token_expiring_mid_walk_is_renewed_once(harness, caplog):
    with Ec2Metadata(str(FIXTURES / "nova"), imds="v2-required") as ec2:
        ec2.expire_after = 5  # the fifth GET finds its token expired
        assert harness.collect("ec2", ini(ec2.url)) == [("ec2", NOVA)]
    puts = [r for r in ec2.requests if r[0] == "PUT"]
    assert len(puts) == 2
    tokens = [token for method, _, token in ec2.requests if method == "GET"]
    assert len(set(tokens)) == 2
    assert tokens[-1] != tokens[0]
    assert fallback_warnings(caplog) == []


def test_401_even_with_a_fresh_token_is_unavailable_after_one_renewal(harness, fake_server):
    fake_server.route("/latest/api/token", Reply(body=b"tok-1234"), method="PUT")
    fake_server.route(META + "/", Reply(401))
    with pytest.raises(SourceUnavailable, match="401") as caught:
        harness.collect("ec2", ini(fake_server.url))
    assert caught.value.http_status == 401
    assert len(fake_server.requests_to("/latest/api/token")) == 2
    assert all(r.headers[TOKEN_HEADER] == "tok-1234" for r in fake_server.requests_to(META + "/"))


def test_silent_token_put_falls_back_quickly_in_auto(harness, caplog):
    with Ec2Metadata(str(FIXTURES / "nova"), imds="v2-optional", token_put="silent") as ec2:
        started = time.monotonic()
        outputs = harness.collect("ec2", ini(ec2.url).replace("timeout = 2", "timeout = 0.5"))
        elapsed = time.monotonic() - started
    assert outputs == [("ec2", NOVA)]
    assert elapsed < 3
    assert [m for m, _, _ in ec2.requests].count("PUT") == 1  # no retries of a dropped PUT
    (warning,) = fallback_warnings(caplog)
    assert "no answer" in warning.getMessage()


def test_silent_token_put_with_required_is_unavailable(harness):
    with Ec2Metadata(str(FIXTURES / "nova"), imds="v2-required", token_put="silent") as ec2:
        section = ini(ec2.url, imdsv2="required").replace("timeout = 2", "timeout = 0.3")
        with pytest.raises(SourceUnavailable, match="IMDSv2 is required"):
            harness.collect("ec2", section)
    assert "GET" not in [m for m, _, _ in ec2.requests]


def test_tokens_never_appear_in_logs(harness, caplog):
    caplog.set_level(logging.DEBUG)
    with Ec2Metadata(str(FIXTURES / "nova"), imds="v2-required") as ec2:
        ec2.expire_after = 3
        harness.collect("ec2", ini(ec2.url))
        tokens = {token for _, _, token in ec2.requests if token}
    assert len(tokens) == 2
    for token in tokens:
        assert token not in caplog.text


# --- cache short-circuit -----------------------------------------------------------------------


@pytest.mark.parametrize("store", [True, False])
def test_cached_ec2_json_is_reused_without_network(harness, store):
    harness.store("ec2", {"instance-id": "i-cached"})
    section = ini(f"http://127.0.0.1:{closed_port()}")
    assert harness.collect("ec2", section, store=store) == [("ec2", {"instance-id": "i-cached"})]


def test_refresh_fetches_despite_the_cache(harness, nova):
    harness.store("ec2", {"instance-id": "i-cached"})
    assert harness.collect("ec2", ini(nova.url, refresh="true")) == [("ec2", NOVA)]


@pytest.mark.parametrize(
    ("content", "warns"), [("{not json", True), ("", True), ("{}", False), ("null", False)]
)
def test_unusable_or_falsy_cache_is_fetched_again(harness, nova, caplog, content, warns):
    (harness.cachedir / "ec2.json").write_text(content)
    assert harness.collect("ec2", ini(nova.url, imdsv2="off")) == [("ec2", NOVA)]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert bool(warnings) is warns


def test_metadata_edited_between_refreshes_is_seen(harness, tmp_path):
    import shutil

    shutil.copytree(FIXTURES / "nova", tmp_path / "tree")
    with Ec2Metadata(str(tmp_path / "tree")) as ec2:
        section = ini(ec2.url, imdsv2="off", refresh="true")
        assert harness.collect("ec2", section)[0][1]["instance-id"] == "i-0000002a"
        (tmp_path / "tree" / META.lstrip("/") / "instance-id").write_text("i-changed")
        assert harness.collect("ec2", section)[0][1]["instance-id"] == "i-changed"


# --- unavailable -------------------------------------------------------------------------------


def test_service_down_is_unavailable(harness):
    with pytest.raises(SourceUnavailable, match="refused"):
        harness.collect("ec2", ini(f"http://127.0.0.1:{closed_port()}", imdsv2="off"))


def test_hanging_leaf_times_out_and_makes_the_source_unavailable(harness, fake_server):
    fake_server.route(META + "/", Reply(body="a\nb"))
    fake_server.route(META + "/a", Reply(body="A"))
    fake_server.route(META + "/b", Reply(hang=True))
    section = ini(fake_server.url, imdsv2="off").replace("timeout = 2", "timeout = 0.3")
    started = time.monotonic()
    with pytest.raises(SourceUnavailable, match="no answer"):
        harness.collect("ec2", section)
    assert time.monotonic() - started < 5


def test_5xx_then_success_is_retried(harness, fake_server):
    fake_server.route(META + "/", Reply(body="a"))
    fake_server.route(META + "/a", Reply(503), Reply(500), Reply(body="A"))
    assert harness.collect("ec2", ini(fake_server.url, imdsv2="off")) == [("ec2", {"a": "A"})]
    assert len(harness.sleeps) == 2


def test_429_with_retry_after_is_honoured(harness, fake_server):
    fake_server.route(META + "/", Reply(429, headers={"Retry-After": "4"}), Reply(body="a"))
    fake_server.route(META + "/a", Reply(body="A"))
    assert harness.collect("ec2", ini(fake_server.url, imdsv2="off")) == [("ec2", {"a": "A"})]
    assert harness.sleeps == [4.0]


def test_any_failing_node_makes_the_whole_source_unavailable(harness, fake_server):
    fake_server.route(META + "/", Reply(body="a\nmissing"))
    fake_server.route(META + "/a", Reply(body="A"))
    with pytest.raises(SourceUnavailable, match="404") as caught:
        harness.collect("ec2", ini(fake_server.url, imdsv2="off"))
    assert caught.value.http_status == 404


def test_oversized_leaf_is_unavailable(harness, fake_server):
    fake_server.route(META + "/", Reply(body="big"))
    fake_server.route(META + "/big", Reply(body=b"x" * 5000))
    with pytest.raises(SourceUnavailable, match="max_response_size"):
        harness.collect("ec2", ini(fake_server.url, imdsv2="off"), max_response_size=4096)


def test_html_page_instead_of_a_listing_is_unavailable(harness, fake_server):
    page = b"<html><body>Welcome to the portal</body></html>"
    fake_server.route(META + "/", Reply(body=page, headers={"Content-Type": "text/html"}))
    with pytest.raises(SourceUnavailable, match="HTML"):
        harness.collect("ec2", ini(fake_server.url, imdsv2="off"))
    assert len(fake_server.requests) == 1


def test_endless_tree_is_unavailable(harness, fake_server):
    fake_server.fallback = lambda request: Reply(body="again/")  # every directory has a child
    with pytest.raises(SourceUnavailable, match="too large"):
        harness.collect("ec2", ini(fake_server.url, imdsv2="off"))


# --- IMDSv2 failures: renewal refused, empty token ----------------------------------------------


@pytest.mark.parametrize("refusal", ["503", "empty"])
def test_a_token_renewal_that_fails_is_unavailable_after_one_attempt(harness, caplog, refusal):
    with Ec2Metadata(str(FIXTURES / "nova"), imds="v2-required") as ec2:
        ec2.expire_after = 1  # the first GET (the root listing) finds its token expired
        if refusal == "503":
            ec2.token_limit = 1  # the renewal PUT is answered 503
        else:

            def expire_and_answer_empty() -> None:
                ec2.tokens.clear()
                ec2.token_put = "empty"  # the renewal PUT is answered with no token

            ec2.expire_tokens = expire_and_answer_empty
        with pytest.raises(SourceUnavailable) as caught:
            harness.collect("ec2", ini(ec2.url))
    message = str(caught.value)
    assert message.startswith(f"GET {ec2.url}{META}/: HTTP 401 Unauthorized, and no IMDSv2 token: ")
    assert message.endswith(
        "503 Service Unavailable" if refusal == "503" else "no token in the answer"
    )
    assert caught.value.http_status == 401
    assert [m for m, _, _ in ec2.requests] == ["PUT", "GET", "PUT"]  # one renewal, no retries
    assert fallback_warnings(caplog) == []


def test_an_empty_token_falls_back_to_imdsv1_in_auto(harness, caplog):
    with Ec2Metadata(str(FIXTURES / "nova"), imds="v2-optional", token_put="empty") as ec2:
        assert harness.collect("ec2", ini(ec2.url)) == [("ec2", NOVA)]
    puts = [r for r in ec2.requests if r[0] == "PUT"]
    assert len(puts) == 1
    gets = [r for r in ec2.requests if r[0] == "GET"]
    assert gets and all(token is None for _, _, token in gets)
    (warning,) = fallback_warnings(caplog)
    assert "no token in the answer" in warning.getMessage()


def test_an_empty_token_with_required_is_unavailable(harness, caplog):
    ec2 = Ec2Metadata(str(FIXTURES / "nova"), imds="v2-required", token_put="empty")
    with ec2, pytest.raises(SourceUnavailable) as caught:
        harness.collect("ec2", ini(ec2.url, imdsv2="required"))
    message = str(caught.value)
    assert message.startswith("IMDSv2 is required ([ec2] imdsv2 = required) but no token")
    assert message.endswith(f"PUT {ec2.url}/latest/api/token: no token in the answer")
    assert [m for m, _, _ in ec2.requests] == ["PUT"]
    assert fallback_warnings(caplog) == []
