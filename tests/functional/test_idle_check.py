"""The idle check (occ.run.idle): an unchanged collect pass over local files is answered from
the record of the last full pass, exactly as a full pass would answer it, and any change to
what that pass read sends the next one through the collectors again."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from occ.run import idle
from tests.conftest import REPO

PROBE = """
import sys
sys.argv = ["os-collect-config", "collect", *{args!r}]
from occ.cli.entry import main
code = main()
print(" ".join(sorted(sys.modules)))
sys.exit(code)
"""


def collect(instance, *args, env=None):
    code = PROBE.format(args=[*instance.args(), *args])
    environ = {"PYTHONPATH": str(REPO), "HOME": str(instance.root), **(env or {})}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environ)


def record(instance):
    return instance.cachedir / ".occ" / "idle" / "record.json"


def settled(instance):
    """Bring ``instance`` to the state the idle check answers: data applied, inputs older than
    the settling time, and a full unchanged pass that left its record."""
    instance.set_local("a.json", {"a": 1})
    instance.set_local("b.json", {"b": [1, 2]})
    instance.set_heat_local({"h": 1})
    assert collect(instance).returncode == 0
    instance.commit()
    time.sleep(idle.SETTLE_SECONDS + 0.2)
    full = collect(instance)
    assert full.returncode == 100, full.stderr
    assert record(instance).exists()
    return full


def message(stderr: str) -> str:
    """The last log line without its timestamp."""
    return stderr.strip().splitlines()[-1].split(" ", 2)[2]


def test_an_idle_pass_is_answered_from_the_record_as_a_full_pass_would_answer(instance):
    full = settled(instance)
    before = json.loads(instance.status_file.read_text())
    quick = collect(instance)
    assert quick.returncode == 100, quick.stderr
    # The same line, and the pass is recorded for --status as a full one records it.
    assert message(quick.stderr) == message(full.stderr) == "INFO no change (3 key(s) checked)"
    after = json.loads(instance.status_file.read_text())
    assert after["counters"]["passes"] == before["counters"]["passes"] + 1
    assert after["last_pass"]["result"] == "unchanged"
    assert after["last_pass"]["started"] > before["last_pass"]["finished"]
    for document in (before, after):
        for source in document["sources"].values():
            del source["last_success"]
        del document["last_pass"], document["counters"]["passes"]
    assert after == before
    # ... without loading the collectors, the cache, the HTTP stack, logging or json (beyond
    # what this interpreter loads at start-up anyway: a virtualenv's .pth files load some).
    bare = "import sys; print(' '.join(sys.modules))"
    startup = subprocess.run([sys.executable, "-c", bare], capture_output=True, text=True)
    loaded = set(quick.stdout.split()) - set(startup.stdout.split())
    assert not {"logging", "json", "re", "typing", "occ.core.cache"} & loaded
    assert not [name for name in loaded if name.startswith(("occ.collectors", "occ.http"))]


def _rewrite_same_size(instance):
    (instance.local_data / "a.json").write_text(json.dumps({"a": 2}))


def _add_file(instance):
    instance.set_local("c.json", {"c": 1})


def _edit_heat_local(instance):
    instance.set_heat_local({"h": 2})


def _add_config_dir_source(instance):
    extra = instance.root / "more"
    extra.mkdir(mode=0o700)
    (extra / "d.json").write_text('{"d": 1}')
    text = instance.config.read_text()
    instance.config.write_text(
        text.replace("[local]\npath = ", f"[local]\npath = {extra}\npath = ")
    )


@pytest.mark.parametrize(
    "change", [_rewrite_same_size, _add_file, _edit_heat_local, _add_config_dir_source]
)
def test_a_changed_input_is_collected_and_handed_to_the_hook(instance, change):
    settled(instance)
    change(instance)
    result = collect(instance)
    assert result.returncode == 0, result.stderr  # changed: the hook unit runs next
    assert "changed:" in result.stderr
    assert not record(instance).exists()


def test_a_cache_file_edited_in_place_is_rewritten_by_a_full_pass(instance):
    settled(instance)
    cached = instance.cachedir / "a.json.json"
    good = cached.read_bytes()
    cached.write_bytes(good.replace(b"1", b"7"))
    assert collect(instance).returncode == 100
    assert cached.read_bytes() == good


def test_a_pending_hand_over_is_left_to_the_full_pass(instance):
    settled(instance)
    handover = instance.runtime / "hook.env"
    handover.write_text('OS_CONFIG_FILES=""\n')
    assert collect(instance).returncode == 100
    assert not handover.exists()  # the full pass discards a hand-over it did not write


def test_options_from_the_environment_make_every_pass_a_full_one(instance):
    settled(instance)
    result = collect(instance, env={"OS_DEFAULT__HOOK_TIMEOUT": "60"})
    assert result.returncode == 100
    assert not record(instance).exists()


def test_inputs_changed_just_before_a_pass_are_not_vouched_for(instance):
    instance.set_local("a.json", {"a": 1})
    instance.set_heat_local({"h": 1})
    assert collect(instance).returncode == 0
    instance.commit()
    assert collect(instance).returncode == 100
    # Written within the settling time: stat might not tell a later rewrite from it.
    assert not record(instance).exists()


def test_a_pass_with_more_to_say_than_no_change_says_it_every_time(instance):
    settled(instance)
    os.mkfifo(instance.local_data / "pipe.json")
    time.sleep(idle.SETTLE_SECONDS + 0.2)
    for _ in range(2):
        result = collect(instance)
        assert result.returncode == 100
        assert "is not a regular file; skipped" in result.stderr
    assert not record(instance).exists()


def test_options_that_change_the_log_output_make_the_pass_a_full_one(instance):
    instance.write_config("[DEFAULT]\ndebug = true\n")
    settled(instance)
    result = collect(instance)
    assert result.returncode == 100
    assert "DEBUG local: 2 output(s)" in result.stderr
