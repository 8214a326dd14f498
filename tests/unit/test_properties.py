"""Property-based tests: whatever the documents, deployment lists, file names, state files and
INI files hold, a pass raises nothing but the program's own errors (OccError) and writes nothing
outside the cache, backup and hand-over directories (issue 9; doc/guarantees.rst).

Examples are derandomized and bounded by the "ci" profile in tests/conftest.py.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from occ import generator  # noqa: E402
from occ.collectors import deployments  # noqa: E402
from occ.config import loader  # noqa: E402
from occ.core.cache import Cache  # noqa: E402
from occ.errors import ConfigError, OccError  # noqa: E402
from occ.run import runner, systemd  # noqa: E402
from occ.run.handoff import Handoff  # noqa: E402
from occ.run.sources import DATA, Outcome  # noqa: E402

# Text with everything JSON can carry, lone surrogates included.
names = st.text(st.characters(codec=None, exclude_categories=()), max_size=20) | st.sampled_from(
    ["", ".", "..", "a/b", "../up", "/abs", "x:y", "n\nl", ".hidden", "os_config_files", "é" * 130]
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | names,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(names, inner, max_size=3),
    max_leaves=12,
)
deployment = st.fixed_dictionaries(
    {},
    optional={
        "name": names | st.integers() | st.none(),
        "group": st.sampled_from(["os-apply-config", "Heat::Ungrouped", "script", None]),
        "config": json_values,
    },
)
documents = st.dictionaries(names, json_values, max_size=3) | st.fixed_dictionaries(
    {"deployments": st.lists(deployment | json_values, max_size=6)}
)


def written_outside(root: Path, allowed: tuple[str, ...], inputs: set[Path]) -> list[Path]:
    """Return the files under ``root`` that are neither inputs nor inside an allowed dir."""
    found = []
    for directory, _, files in os.walk(root):
        for name in files:
            path = Path(directory, name)
            relative = path.relative_to(root).parts
            if path not in inputs and relative[0] not in allowed:
                found.append(path)
    return found


@given(document=documents)
def test_any_deployment_document_is_stored_without_a_stray_write_or_a_foreign_error(document):
    with tempfile.TemporaryDirectory() as root:  # tmp_path is per test, not per example
        outputs = deployments.explode("request", document, ("deployments",))
        cache = Cache(f"{root}/cache", f"{root}/backup")
        cache.create_dirs()
        with contextlib.suppress(OccError):
            result = runner.store(cache, (Outcome("request", DATA, "", tuple(outputs)),))
            Handoff.of(cache, result).env_file()
        assert written_outside(Path(root), ("cache", "backup"), set()) == []


file_names = st.binary(min_size=1, max_size=40).filter(
    lambda b: b"/" not in b and b"\0" not in b and b not in (b".", b"..")
)
CONFIG = """[DEFAULT]
command = true
cachedir = {root}/cache
backup_cachedir = {root}/backup
hook_env_file = {root}/run/hook.env
collectors = heat_local
collectors = local
[heat_local]
path = {root}/cfn-init-data
[local]
path = {root}/local
"""


def collect(root: str) -> None:
    config_file = f"{root}/os-collect-config.conf"
    Path(config_file).write_text(CONFIG.format(root=root))
    config = loader.load(loader.CommandLine(config_files=(config_file,), config_dirs=()), {})
    with contextlib.suppress(OccError):
        systemd.collect(config)


@settings(max_examples=40)
@given(
    files=st.dictionaries(file_names, json_values, max_size=4),
    heat_local=st.binary(max_size=200) | json_values.map(lambda v: json.dumps(v).encode()),
    hook_state=st.none()
    | st.binary(max_size=80)
    | json_values.map(lambda v: json.dumps(v).encode()),
)
def test_any_local_file_names_and_state_files_give_a_pass_without_a_foreign_error(
    files, heat_local, hook_state
):
    with tempfile.TemporaryDirectory() as root:
        local = Path(root, "local")
        local.mkdir(mode=0o700)
        inputs = {Path(root, "os-collect-config.conf"), Path(root, "cfn-init-data")}
        for name, value in files.items():
            path = Path(os.fsdecode(local)) / os.fsdecode(name)
            path.write_bytes(json.dumps(value).encode())
            inputs.add(path)
        Path(root, "cfn-init-data").write_bytes(heat_local)
        if hook_state is not None:
            Path(root, "cache", ".occ").mkdir(parents=True, mode=0o700)
            Path(root, "cache", ".occ", "hook.state").write_bytes(hook_state)
        collect(root)
        collect(root)  # and again, over what the first pass left
        assert written_outside(Path(root), ("cache", "backup", "run"), inputs) == []


ini_lines = st.one_of(
    st.sampled_from(["[DEFAULT]", "[ec2]", "[heat]", "[default]", "# c", "; c", "", "  x"]),
    st.builds(
        "{} = {}".format,
        st.sampled_from(["polling_interval", "splay", "collectors", "command", "timeout", "x"]),
        st.text(max_size=12)
        | st.sampled_from(["1e10", "1e300", "inf", "nan", "-1", "$splay", "$$"]),
    ),
    st.text(max_size=30),
)


@given(lines=st.lists(ini_lines, max_size=10))
def test_any_ini_file_loads_or_is_a_configuration_error(tmp_path_factory, lines):
    path = tmp_path_factory.mktemp("ini") / "os-collect-config.conf"
    path.write_text("\n".join(lines), encoding="utf-8", errors="surrogatepass")
    cmdline = loader.CommandLine(config_files=(str(path),), config_dirs=())
    try:
        config = loader.load(cmdline, {})
    except ConfigError:
        return
    generator.render(config)  # the timers follow any configuration that loads
