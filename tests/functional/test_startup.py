"""A pass over local sources stays light: it never imports the HTTP stack."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO

PROBE = """
import sys
sys.argv = ["os-collect-config", *{args!r}]
from occ.cli.entry import main
code = main()
heavy = sorted(m for m in ("requests", "urllib3", "dateutil", "ssl", "http.client",
                           "subprocess", "systemd.journal", "xml.etree.ElementTree",
                           "concurrent.futures", "email.utils", "uuid", "hashlib")
               if m in sys.modules)
print("HEAVY=" + ",".join(heavy))
sys.exit(code)
"""


def run_probe(instance, *args):
    code = PROBE.format(args=["collect", *instance.args(), *args])
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(REPO), "HOME": str(instance.root)},
    )


def commit(instance):
    subprocess.run(
        [sys.executable, "-m", "occ", "commit", *instance.args()],
        check=True,
        env={"PYTHONPATH": str(REPO), "HOME": str(instance.root)},
        capture_output=True,
    )


def test_idle_local_pass_imports_nothing_heavy(instance):
    instance.set_local("a.json", {"a": 1})
    instance.set_heat_local({"h": 1})
    assert run_probe(instance).returncode == 0
    commit(instance)
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
    commit(instance)
    result = run_probe(instance, "--debug")
    assert result.returncode == 100, result.stderr
    assert "cfn: not configured" in result.stderr and "zaqar: not configured" in result.stderr
    assert "HEAVY=\n" in result.stdout, result.stdout
