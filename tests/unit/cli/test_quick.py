"""The units' argument lists are read without argparse (occ.cli.quick), exactly as the full
parser reads them; anything else goes to the full parser."""

from __future__ import annotations

import subprocess
import sys

import pytest

from occ.cli import parser, quick
from tests.conftest import REPO

ACCEPTED = [
    [],
    ["--config-file", "/etc/os-collect-config.conf"],
    ["--config-file=/etc/a.conf"],
    ["--config-dir", "/etc/d", "--config-file", "a.conf", "--config-file", "b.conf"],
    ["--config-dir=/x", "--config-dir", "/y"],
    ["--config-file", "with space.conf"],
]


@pytest.mark.parametrize("argv", ACCEPTED)
def test_the_quick_reading_is_the_full_parsers(argv):
    full = parser.command_line(parser.build_parser().parse_args(argv))
    assert quick.command_line(argv) == full


@pytest.mark.parametrize(
    "argv",
    [
        ["--debug"],
        ["ec2"],
        ["--config-f", "a.conf"],  # argparse accepts abbreviations; let it
        ["--config-file"],
        ["--config-file", "-x"],
        ["--config-file", "a.conf", "--print"],
        ["--help"],
    ],
)
def test_anything_else_goes_to_the_full_parser(argv):
    assert quick.command_line(argv) is None


def test_an_idle_unit_pass_does_not_import_argparse(tmp_path):
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    (data / "a.json").write_text('{"a": 1}')
    conf = tmp_path / "occ.conf"
    conf.write_text(
        f"[DEFAULT]\ncommand = true\ncachedir = {tmp_path}/cache\ncollectors = local\n"
        f"hook_env_file = {tmp_path}/run/hook.env\nstatus_file = {tmp_path}/status.json\n"
        f"[local]\npath = {data}\n"
    )
    probe = (
        "import sys; from occ.cli.entry import main; "
        "sys.argv = ['os-collect-config', *sys.argv[1:]]; "
        "code = main(); print('argparse' in sys.modules); sys.exit(code)"
    )
    env = {"PYTHONPATH": str(REPO), "HOME": str(tmp_path)}
    for mode, status in (("collect", 0), ("commit", 0), ("collect", 100)):
        result = subprocess.run(
            [sys.executable, "-c", probe, mode, "--config-file", str(conf)],
            capture_output=True,
            text=True,
            env=env,
        )
        assert result.returncode == status, result.stderr
        assert result.stdout == "False\n"
