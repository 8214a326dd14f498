"""The local collector (doc/compatibility.rst, "local collector", "Locale crash")."""

from __future__ import annotations

import json
import locale
import logging
import os
import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from occ.collectors.base import Context
from occ.collectors.local import LocalCollector
from occ.config.model import Config, Section
from occ.core.state import State
from occ.errors import SourceUnavailable

REPO = Path(__file__).resolve().parent.parent.parent.parent
FIXTURES = REPO / "tests" / "fixtures" / "local"
OTHER_UID = 54321  # a uid nobody in the test environment runs as

needs_root = pytest.mark.skipif(os.getuid() != 0, reason="changing file owners needs root")


def local_dir(parent: Path, *names: str, name: str = "local-data") -> Path:
    """A 0700 directory holding copies of the named fixture files."""
    directory = parent / name
    directory.mkdir(mode=0o700)
    for fixture in names:
        shutil.copyfile(FIXTURES / fixture, directory / fixture)
    return directory


def collect(*directories: Path | str):
    context = Context(Config((), {}), state=State("/nonexistent", "local"), store=False)
    section = Section("local", {"path": tuple(str(d) for d in directories)})
    return LocalCollector(section, context).collect()


def fixture_value(name: str):
    return json.loads((FIXTURES / name).read_bytes())


def warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


# Keys and order


def test_every_file_becomes_one_output_keyed_by_its_name_with_the_extension(tmp_path):
    directory = local_dir(tmp_path, "deployed-server.json", "b-config")
    assert collect(directory) == [
        ("b-config", fixture_value("b-config")),
        ("deployed-server.json", fixture_value("deployed-server.json")),
    ]


def test_names_sort_in_c_locale_byte_order(tmp_path):
    directory = local_dir(tmp_path, "c.json", "b-config", "Zeta.json", "00-first.json")
    (directory / "z.json").write_text("1")
    (directory / "\u00e9.json").write_text("2")  # UTF-8 0xC3 0xA9 sorts after every ASCII byte
    names = [key for key, _ in collect(directory)]
    assert names == ["00-first.json", "Zeta.json", "b-config", "c.json", "z.json", "\u00e9.json"]
    assert names == sorted(names, key=lambda n: n.encode())


def test_outputs_of_all_directories_are_sorted_together_equal_names_in_directory_order(tmp_path):
    first = local_dir(tmp_path, "c.json", "Zeta.json", name="first")
    second = local_dir(tmp_path, "00-first.json", name="second")
    (second / "c.json").write_text('{"from": "second"}')
    assert collect(first, second) == [
        ("00-first.json", fixture_value("00-first.json")),
        ("Zeta.json", fixture_value("Zeta.json")),
        ("c.json", fixture_value("c.json")),
        ("c.json", {"from": "second"}),
    ]


@pytest.mark.parametrize(("name", "value"), [("array.json", [1, "two", None]), ("null.json", None)])
def test_a_file_may_hold_any_json_value(tmp_path, name, value):
    assert collect(local_dir(tmp_path, name)) == [(name, value)]


def test_files_are_read_as_utf8(tmp_path):
    assert collect(local_dir(tmp_path, "utf8.json")) == [
        ("utf8.json", {"name": "caf\u00e9 \u20ac"})
    ]


def test_an_empty_directory_gives_no_outputs_and_is_not_unavailable(tmp_path):
    assert collect(local_dir(tmp_path)) == []


def test_no_directories_configured_is_unavailable():
    with pytest.raises(SourceUnavailable):
        collect()


# What is skipped


def test_hidden_entries_are_skipped(tmp_path):
    directory = local_dir(tmp_path, "c.json")
    (directory / ".hidden.json").write_text("not even json")
    (directory / ".swp").write_text("{")
    (directory / ".hidden-dir").mkdir()
    (directory / ".hidden-dir" / "x.json").write_text("{}")
    assert collect(directory) == [("c.json", fixture_value("c.json"))]


def test_subdirectories_are_skipped(tmp_path):
    directory = local_dir(tmp_path, "c.json")
    (directory / "sub").mkdir()
    (directory / "sub" / "inner.json").write_text("{}")
    assert collect(directory) == [("c.json", fixture_value("c.json"))]


def test_a_missing_directory_is_skipped_with_a_warning(tmp_path, caplog):
    directory = local_dir(tmp_path, "c.json")
    with caplog.at_level(logging.WARNING, logger="occ"):
        outputs = collect(tmp_path / "missing", directory)
    assert outputs == [("c.json", fixture_value("c.json"))]
    (warning,) = warnings(caplog)
    assert str(tmp_path / "missing") in warning


def test_a_fifo_does_not_block_and_is_skipped_with_a_warning(tmp_path, caplog):
    directory = local_dir(tmp_path, "c.json")
    os.mkfifo(directory / "pipe")
    result: list = []
    caplog.set_level(logging.WARNING, logger="occ")
    worker = threading.Thread(target=lambda: result.append(collect(directory)), daemon=True)
    worker.start()
    worker.join(timeout=5)
    assert not worker.is_alive(), "collecting blocked on a FIFO"
    assert result == [[("c.json", fixture_value("c.json"))]]
    assert any("pipe" in w for w in warnings(caplog))


def test_a_symlink_to_a_regular_file_is_followed(tmp_path):
    directory = local_dir(tmp_path, "c.json")
    target = tmp_path / "elsewhere.json"
    target.write_text('{"linked": true}')
    (directory / "link.json").symlink_to(target)
    assert collect(directory) == [
        ("c.json", fixture_value("c.json")),
        ("link.json", {"linked": True}),
    ]


def test_a_symlink_to_a_device_is_skipped_with_a_warning(tmp_path, caplog):
    directory = local_dir(tmp_path, "c.json")
    (directory / "null-device").symlink_to("/dev/null")
    with caplog.at_level(logging.WARNING, logger="occ"):
        assert collect(directory) == [("c.json", fixture_value("c.json"))]
    assert any("null-device" in w for w in warnings(caplog))


def test_a_symlink_to_a_directory_is_skipped(tmp_path):
    directory = local_dir(tmp_path, "c.json")
    (directory / "dir-link").symlink_to(tmp_path)
    assert collect(directory) == [("c.json", fixture_value("c.json"))]


def test_a_dangling_symlink_is_skipped_with_a_warning(tmp_path, caplog):
    directory = local_dir(tmp_path, "c.json")
    (directory / "gone.json").symlink_to(tmp_path / "deleted.json")
    with caplog.at_level(logging.WARNING, logger="occ"):
        assert collect(directory) == [("c.json", fixture_value("c.json"))]
    assert any("gone.json" in w for w in warnings(caplog))


def test_a_unix_socket_is_skipped_with_a_warning(tmp_path, caplog):
    directory = local_dir(tmp_path, "c.json")
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(str(directory / "agent.sock"))
        with caplog.at_level(logging.WARNING, logger="occ"):
            assert collect(directory) == [("c.json", fixture_value("c.json"))]
    assert any("agent.sock" in w for w in warnings(caplog))


@needs_root
def test_a_symlink_to_a_file_owned_by_someone_else_is_skipped_with_a_warning(tmp_path, caplog):
    directory = local_dir(tmp_path, "c.json")
    foreign = tmp_path / "foreign.json"
    foreign.write_text('{"planted": true}')
    os.chown(foreign, OTHER_UID, OTHER_UID)
    (directory / "planted.json").symlink_to(foreign)
    with caplog.at_level(logging.WARNING, logger="occ"):
        assert collect(directory) == [("c.json", fixture_value("c.json"))]
    assert any("planted.json" in w for w in warnings(caplog))


# What makes the whole source unavailable


def test_one_invalid_file_makes_the_whole_source_unavailable(tmp_path):
    directory = local_dir(tmp_path, "c.json", "README")
    with pytest.raises(SourceUnavailable) as info:
        collect(directory)
    assert "README" in str(info.value)


def test_a_file_that_is_not_utf8_makes_the_source_unavailable(tmp_path):
    directory = local_dir(tmp_path, "c.json")
    (directory / "latin1.json").write_bytes(b'{"name": "caf\xe9"}')
    with pytest.raises(SourceUnavailable):
        collect(directory)


def test_a_world_writable_file_makes_the_source_unavailable(tmp_path):
    directory = local_dir(tmp_path, "c.json", "b-config")
    (directory / "b-config").chmod(0o646)
    with pytest.raises(SourceUnavailable) as info:
        collect(directory)
    assert "b-config" in str(info.value)


def test_a_world_writable_directory_makes_the_source_unavailable(tmp_path):
    good = local_dir(tmp_path, "c.json", name="good")
    bad = local_dir(tmp_path, "b-config", name="bad")
    bad.chmod(0o777)
    with pytest.raises(SourceUnavailable) as info:
        collect(good, bad)
    assert str(bad) in str(info.value)


def test_a_group_writable_directory_is_accepted(tmp_path):
    directory = local_dir(tmp_path, "c.json")
    directory.chmod(0o770)
    assert collect(directory) == [("c.json", fixture_value("c.json"))]


@needs_root
def test_a_directory_owned_by_someone_else_makes_the_source_unavailable(tmp_path):
    directory = local_dir(tmp_path, "c.json")
    os.chown(directory, OTHER_UID, OTHER_UID)
    with pytest.raises(SourceUnavailable) as info:
        collect(directory)
    assert str(directory) in str(info.value)


# Locale (doc/compatibility.rst, "Locale crash")


def test_collecting_never_touches_the_process_locale(tmp_path, monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("locale.setlocale called")

    monkeypatch.setattr(locale, "setlocale", forbidden)
    monkeypatch.setattr(locale, "getlocale", forbidden)
    directory = local_dir(tmp_path, "c.json", "Zeta.json", "utf8.json")
    assert [k for k, _ in collect(directory)] == ["Zeta.json", "c.json", "utf8.json"]


def test_it_works_under_lang_c_without_utf8_mode(tmp_path):
    # File names stay ASCII here: without UTF-8 mode Python decodes non-ASCII names with
    # surrogate escapes, whatever occ does. The contents must still be read as UTF-8.
    directory = local_dir(tmp_path, "utf8.json", "b-config")
    (directory / "zz.json").write_text('{"\u00e9t\u00e9": "\u20ac"}', encoding="utf-8")
    script = (
        "import json, sys\n"
        "from tests.unit.collectors.test_local import collect\n"
        "sys.stdout.write(json.dumps(collect(sys.argv[1])))\n"
    )
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(REPO),
        "LANG": "C",
        "LC_ALL": "C",
        "PYTHONUTF8": "0",
        "PYTHONCOERCECLOCALE": "0",
    }
    child = subprocess.run(
        [sys.executable, "-c", script, str(directory).encode()],
        env=environment,
        capture_output=True,
        cwd=REPO,
        timeout=30,
    )
    assert child.returncode == 0, child.stderr.decode(errors="replace")
    assert json.loads(child.stdout) == [
        ["b-config", fixture_value("b-config")],
        ["utf8.json", {"name": "caf\u00e9 \u20ac"}],
        ["zz.json", {"\u00e9t\u00e9": "\u20ac"}],
    ]
