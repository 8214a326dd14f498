"""The heat_local collector
(doc/compatibility.rst, "heat_local collector", "heat_local merge crash")."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pytest

from occ.collectors import heat_local
from occ.collectors.base import Context
from occ.collectors.heat_local import HeatLocalCollector
from occ.config import loader
from occ.config.model import Config, Section
from occ.core import fsutil
from occ.core.state import State
from occ.errors import SourceUnavailable

FIXTURES = Path(__file__).resolve().parent.parent.parent / "fixtures" / "heat_local"


def fixture(name: str) -> str:
    return str(FIXTURES / name)


def document(name: str):
    return json.loads((FIXTURES / name).read_text())


def collect(tmp_path: Path, *paths: str):
    context = Context(Config((), {}), state=State(str(tmp_path), "heat_local"), store=True)
    return HeatLocalCollector(Section("heat_local", {"path": paths}), context).collect()


def messages(caplog, level: int) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == level]


def test_one_file_is_the_document_without_explosion(tmp_path):
    outputs = collect(tmp_path, fixture("cfn-init-data"))
    assert outputs == [("heat_local", document("cfn-init-data"))]
    assert outputs[0][1]["owner"] == "caf\u00e9"


def test_later_files_replace_top_level_keys_of_earlier_ones(tmp_path):
    ((key, merged),) = collect(tmp_path, fixture("cfn-init-data"), fixture("override.json"))
    assert key == "heat_local"
    base = document("cfn-init-data")
    # Shallow: the whole "os-collect-config" object is replaced, not merged into.
    assert merged["os-collect-config"] == {"collectors": ["request", "local"]}
    assert merged["deployments"] == base["deployments"]
    assert merged["extra"] == [1, 2]
    assert list(merged) == ["os-collect-config", "deployments", "owner", "extra"]


def test_the_order_of_paths_decides_which_file_wins(tmp_path):
    ((_, merged),) = collect(tmp_path, fixture("override.json"), fixture("cfn-init-data"))
    assert merged["os-collect-config"] == document("cfn-init-data")["os-collect-config"]
    assert list(merged) == ["os-collect-config", "extra", "deployments", "owner"]


def test_missing_files_are_skipped_quietly(tmp_path, caplog):
    with caplog.at_level(logging.DEBUG, logger="occ"):
        outputs = collect(tmp_path, str(tmp_path / "missing"), fixture("override.json"))
    assert outputs == [("heat_local", document("override.json"))]
    assert messages(caplog, logging.WARNING) == []


def test_a_file_with_invalid_json_is_skipped_at_info(tmp_path, caplog):
    with caplog.at_level(logging.DEBUG, logger="occ"):
        outputs = collect(tmp_path, fixture("invalid.json"), fixture("override.json"))
    assert outputs == [("heat_local", document("override.json"))]
    assert messages(caplog, logging.WARNING) == []
    assert any("invalid.json" in m for m in messages(caplog, logging.INFO))


def test_a_non_object_cannot_be_merged_and_is_skipped_with_a_warning(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="occ"):
        outputs = collect(
            tmp_path, fixture("override.json"), fixture("list.json"), fixture("empty.json")
        )
    assert outputs == [("heat_local", document("override.json"))]
    (warning,) = messages(caplog, logging.WARNING)
    assert "list.json" in warning


def test_a_single_non_object_file_is_stored_as_it_is(tmp_path):
    assert collect(tmp_path, fixture("list.json")) == [("heat_local", ["not", "an", "object"])]


@pytest.mark.parametrize(
    "paths",
    [
        (),
        ("missing",),
        ("invalid.json",),
        ("empty.json",),
        ("empty.json", "invalid.json", "missing"),
    ],
)
def test_nothing_usable_makes_the_source_unavailable(tmp_path, paths):
    with pytest.raises(SourceUnavailable):
        collect(tmp_path, *(fixture(p) for p in paths))


def test_a_directory_in_the_path_list_is_skipped(tmp_path):
    outputs = collect(tmp_path, str(tmp_path), fixture("override.json"))
    assert outputs == [("heat_local", document("override.json"))]


def test_the_default_path_is_never_not_configured(tmp_path):
    # The default /var/lib/heat-cfntools/cfn-init-data: present or absent, never "not
    # configured". Absent means unavailable, naming the path.
    default = "/var/lib/heat-cfntools/cfn-init-data"
    if Path(default).exists():
        pytest.skip(f"HEAT_LOCAL DEFAULT-PATH TEST NOT RUN: this machine has {default}")
    cfg = loader.load(loader.CommandLine(config_files=(), config_dirs=()), {"HOME": str(tmp_path)})
    section = cfg.section("heat_local")
    assert section.items_of("path") == (default,)
    context = Context(cfg, state=State(str(tmp_path), "heat_local"), store=True)
    with pytest.raises(SourceUnavailable) as caught:
        HeatLocalCollector(section, context).collect()
    assert str(caught.value) == f"no usable metadata in {default}"


def test_paths_from_repeated_ini_lines_are_merged_in_order(tmp_path):
    ini = tmp_path / "occ.conf"
    ini.write_text(
        f"[heat_local]\npath = {fixture('cfn-init-data')}\npath = {fixture('override.json')}\n"
    )
    cmdline = loader.CommandLine(config_files=(str(ini),), config_dirs=())
    cfg = loader.load(cmdline, {"HOME": str(tmp_path)})
    context = Context(cfg, state=State(str(tmp_path), "heat_local"), store=True)
    ((_, merged),) = HeatLocalCollector(cfg.section("heat_local"), context).collect()
    assert merged["extra"] == [1, 2]
    assert merged["owner"] == "caf\u00e9"


# Files that are not regular files (issue 9, item 7)


def test_read_document_refuses_a_fifo_without_waiting_for_a_writer(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(OSError, match="not a regular file"):
        heat_local.read_document(str(fifo))


def test_read_document_refuses_an_endless_device():
    with pytest.raises(OSError, match="not a regular file"):
        heat_local.read_document("/dev/zero")


def test_read_document_refuses_a_file_over_the_size_cap(tmp_path, monkeypatch):
    monkeypatch.setattr(fsutil, "READ_LIMIT_BYTES", 1024)
    big = tmp_path / "big.json"
    big.write_text(json.dumps({"k": "v" * 2048}))
    with pytest.raises(OSError, match="larger than 1024 bytes"):
        heat_local.read_document(str(big))
