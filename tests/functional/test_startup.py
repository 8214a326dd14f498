"""A pass over local sources stays light: it never imports the HTTP stack, nor a collector or
a library that it does not run. A pass that asks the network loads only what its requests need,
and not ``logging`` when it has nothing to log but its "no change" line."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO
from tests.fakes.server import FakeServer, Recorded, Reply

# Libraries that no idle pass over local sources uses. A package name stands for all its
# submodules too.
HEAVY = (
    "requests", "urllib3", "dateutil", "ssl", "http.client", "subprocess", "systemd.journal",
    "xml.etree.ElementTree", "concurrent.futures", "email.utils", "uuid", "hashlib",
    "logging.handlers",
)  # fmt: skip

# What an idle pass of heat_local, local and a cached ec2 does not run: occ's HTTP layer, the
# other collectors, and the parts of ec2 that only a walk or a config drive uses.
UNUSED = (
    "occ.http", "occ.collectors.heat", "occ.collectors.keystone", "occ.collectors.request",
    "occ.collectors.cfn", "occ.collectors.zaqar", "occ.collectors.ec2.imds",
    "occ.collectors.ec2.config_drive",
)  # fmt: skip

PROBE = """
import sys
sys.argv = ["os-collect-config", *{args!r}]
from occ.cli.entry import main
code = main()
heavy = sorted(m for m in sys.modules if m in {heavy!r} or m.startswith({prefixes!r}))
print("HEAVY=" + ",".join(heavy))
sys.exit(code)
"""


def run_probe(instance, *args, heavy=HEAVY, site=True):
    """Run a pass in a new process; ``site=False``: without ``site``, whose hooks (an editable
    install's, coverage's) may import standard modules before the pass does."""
    prefixes = tuple(name + "." for name in heavy)
    code = PROBE.format(args=["collect", *instance.args(), *args], heavy=heavy, prefixes=prefixes)
    return subprocess.run(
        [sys.executable, *([] if site else ["-S"]), "-c", code],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(REPO), "HOME": str(instance.root)},
    )


def test_idle_local_pass_imports_nothing_heavy(instance):
    instance.set_local("a.json", {"a": 1})
    instance.set_heat_local({"h": 1})
    assert run_probe(instance).returncode == 0
    instance.commit()
    result = run_probe(instance)
    assert result.returncode == 100, result.stderr
    assert "HEAVY=\n" in result.stdout, result.stdout


def test_unconfigured_network_sources_in_the_default_list_load_nothing_heavy(instance):
    # The original's default collector list, as on an image without a collectors line: the
    # network collectors are not configured and ec2 reuses its cached ec2.json.
    instance.write_config()
    text = instance.config.read_text().replace("collectors = heat_local\ncollectors = local\n", "")
    instance.config.write_text(text)
    instance.set_local("a.json", {"a": 1})
    instance.cachedir.mkdir(mode=0o700)
    (instance.cachedir / "ec2.json").write_text('{\n "instance-id": "i-1"\n}')
    assert run_probe(instance).returncode == 0
    instance.commit()
    result = run_probe(instance, "--debug")
    assert result.returncode == 100, result.stderr
    assert "cfn: not configured" in result.stderr and "zaqar: not configured" in result.stderr
    assert "HEAVY=\n" in result.stdout, result.stdout


def test_idle_pass_with_a_realistic_config_imports_only_what_it_runs(instance):
    # What an image runs: heat_local and local sources, and ec2 cached since the first boot
    # (its metadata_url points at a closed port: a walk would fail, not reach a real service).
    instance.write_config(
        "[ec2]\nmetadata_url = http://127.0.0.1:9/latest/meta-data\ntimeout = 1\n"
    )
    text = instance.config.read_text().replace(
        "collectors = heat_local\n", "collectors = heat_local\ncollectors = ec2\n"
    )
    instance.config.write_text(text)
    instance.set_local("a.json", {"a": 1})
    instance.set_heat_local({"h": 1})
    instance.cachedir.mkdir(mode=0o700)
    (instance.cachedir / "ec2.json").write_text('{\n "instance-id": "i-1"\n}')
    assert run_probe(instance).returncode == 0
    instance.commit()
    result = run_probe(instance, "--debug", heavy=HEAVY + UNUSED)
    assert result.returncode == 100, result.stderr
    assert "ec2" in instance.cached("os_config_files.json").decode()
    assert "HEAVY=\n" in result.stdout, result.stdout


def test_unchanged_network_pass_loads_no_http_library_nor_logging(instance):
    # The request collector against a server that answers the conditional GET with 304: the
    # usual poll of a network source, every 30 s. Its one line is written without logging;
    # typing is for type checkers only (occ.records stands in for NamedTuple); datetime, random
    # and base64 wait for a Retry-After date, a retry, URL credentials; the host reaches
    # getaddrinfo as bytes, without the "idna" codec; digests use the built-in SHA-256; the
    # client's sockets are the C module's, without socket.py's enums and selectors; JSON is
    # read and written by json's C accelerator (occ.jsonio); plain URLs are split and quoted
    # without urllib.parse (occ.urls), and nothing on the way needs re or enum.
    def answer(request: Recorded) -> Reply:
        if request.headers.get("If-None-Match") == '"v1"':
            return Reply(304, b"", {"ETag": '"v1"'})
        return Reply.json({"a": 1}, headers={"ETag": '"v1"'})

    with FakeServer() as server:
        server.route("/doc", answer)
        instance.write_config(f"[request]\nmetadata_url = {server.url}/doc\ntimeout = 5\n")
        text = instance.config.read_text().replace(
            "collectors = heat_local\ncollectors = local\n", "collectors = request\n"
        )
        instance.config.write_text(text)
        assert run_probe(instance).returncode == 0
        instance.commit()
        heavy = (
            "requests", "urllib3", "http", "email", "ssl", "logging", "dateutil", "typing",
            "datetime", "random", "base64", "encodings.idna", "unicodedata", "hashlib",
            "socket", "selectors", "json", "urllib.parse", "ipaddress", "re", "enum",
        )  # fmt: skip
        result = run_probe(instance, heavy=heavy, site=False)
    assert result.returncode == 100, result.stderr
    assert server.requests[-1].headers.get("If-None-Match") == '"v1"'  # answered 304
    assert "HEAVY=\n" in result.stdout, result.stdout
    assert "INFO no change (1 key(s) checked)" in result.stderr
