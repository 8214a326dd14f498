"""Running the hook (occ.core.hook.run) and the bounded retry policy (doc/compatibility.rst,
"Hook retry back-off")."""

from __future__ import annotations

import json
import logging
import os
import signal
import stat
import time
from pathlib import Path

import pytest

from occ.core import hook
from occ.core.state import State
from occ.errors import CacheError
from occ.log import logfields

# run()


def test_the_hook_gets_the_file_lists_on_top_of_the_inherited_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("OCC_TEST_INHERITED", "from-parent")
    out = tmp_path / "env"
    variables = hook.environment(["/c/a.json", "/c/b.json", "/c/a.json"], ["/c/b.json"])
    command = (
        f'printf "%s\\n" "$OS_CONFIG_FILES" "$OCC_CHANGED_FILES" "$OCC_TEST_INHERITED" > {out}'
    )
    assert hook.run(command, variables) == 0
    assert out.read_text().splitlines() == [
        "/c/a.json:/c/b.json:/c/a.json",
        "/c/b.json",
        "from-parent",
    ]


def test_an_empty_file_list_is_an_empty_variable(tmp_path):
    out = tmp_path / "env"
    command = f'test "${{OS_CONFIG_FILES+set}}" = set && printf %s "$OS_CONFIG_FILES" > {out}'
    assert hook.run(command, hook.environment([], [])) == 0
    assert out.read_text() == ""


def test_the_command_runs_through_sh_in_the_current_directory(tmp_path, monkeypatch, capfd):
    monkeypatch.chdir(tmp_path)
    assert hook.run("a=20; echo $((a + 1)) from $(pwd)", {}) == 0
    assert capfd.readouterr().out == f"21 from {tmp_path}\n"


@pytest.mark.parametrize("status", [0, 1, 3, 100, 255])
def test_the_exit_status_is_passed_through(status):
    assert hook.run(f"exit {status}", {}) == status


@pytest.mark.parametrize(("sig", "status"), [(signal.SIGTERM, 241), (signal.SIGKILL, 247)])
def test_a_hook_killed_by_a_signal_gives_256_minus_the_signal(sig, status):
    assert hook.run(f"kill -{int(sig)} $$", {}) == status


def test_a_failed_hook_is_logged_with_its_status_and_message_id(caplog):
    with caplog.at_level(logging.INFO, logger="occ"):
        hook.run("exit 4", {})
    (record,) = [r for r in caplog.records if r.levelno == logging.ERROR]
    fields = logfields.of(record)
    assert fields["MESSAGE_ID"] == logfields.MESSAGE_HOOK_FAILED
    assert fields["OCC_HOOK_EXIT"] == "4"


def test_the_hook_does_not_inherit_an_ignored_sigpipe(tmp_path):
    # Python ignores SIGPIPE; a hook like 'producer | head -1' needs the default action.
    out = tmp_path / "sigign"
    assert hook.run(f"grep SigIgn /proc/$$/status > {out}", {}) == 0
    ignored = int(out.read_text().split()[1], 16)
    assert not ignored & (1 << (signal.SIGPIPE - 1))


def _gone(pid: int) -> bool:
    """True if ``pid`` no longer runs (absent, or a zombie waiting for its reaper)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def test_a_hook_timeout_stops_the_whole_hook_process_tree(tmp_path):
    pidfile = tmp_path / "pid"
    started = time.monotonic()
    status = hook.run(f"sleep 30 & echo $! > {pidfile}; wait", {}, timeout=0.5)
    assert time.monotonic() - started < 5
    assert status == 241  # stopped by SIGTERM: 256 - 15, as the original exits
    pid = int(pidfile.read_text())
    deadline = time.monotonic() + 5
    while not _gone(pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert _gone(pid)


def test_a_hook_that_ignores_sigterm_is_killed_after_the_grace_period(monkeypatch):
    monkeypatch.setattr(hook, "KILL_GRACE_SECONDS", 0.3)
    started = time.monotonic()
    status = hook.run("trap '' TERM; sleep 30 & wait; sleep 30", {}, timeout=0.3)
    assert time.monotonic() - started < 5
    assert status == 256 - signal.SIGKILL


def test_a_hook_within_its_timeout_is_not_disturbed():
    assert hook.run("sleep 0.1; exit 6", {}, timeout=10) == 6


# RetryPolicy


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def time(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch) -> Clock:
    made = Clock()
    # Patched in the modules themselves: occ.core.hook may import them lazily.
    monkeypatch.setattr(time, "time", made.time)
    return made


@pytest.fixture
def full_jitter(monkeypatch):
    """Make the jitter factor its upper bound (1.0), so delays are exact."""
    monkeypatch.setattr(hook, "_jitter", lambda: 1.0)


@pytest.fixture
def state(tmp_path: Path) -> State:
    return State(str(tmp_path / ".occ"), "hook")


def policy(state: State, *, base=30.0, cap=600.0, limit=20) -> hook.RetryPolicy:
    return hook.RetryPolicy(state, base_delay=base, max_delay=cap, limit=limit)


def test_the_first_hand_over_of_new_data_is_allowed(state, clock):
    assert policy(state).allows("d1", "cfg") is True
    assert policy(state).handed_over("d1", "cfg") == 1


def test_after_a_failure_the_same_data_waits_for_the_back_off(state, clock, full_jitter):
    retry = policy(state, base=30)
    retry.handed_over("d1", "cfg")
    assert retry.allows("d1", "cfg") is False
    clock.now += 29.9
    assert retry.allows("d1", "cfg") is False
    clock.now += 0.2
    assert retry.allows("d1", "cfg") is True


def test_the_back_off_doubles_from_the_polling_interval_up_to_the_cap(state, clock, full_jitter):
    retry = policy(state, base=30, cap=200)
    delays = []
    for attempt in range(1, 7):
        assert retry.handed_over("d1", "cfg") == attempt
        delays.append(state.load()["next_attempt"] - clock.now)
    assert delays == [30, 60, 120, 200, 200, 200]


def test_the_jitter_shortens_the_delay_by_at_most_half(state, clock, monkeypatch):
    factors = [hook._jitter() for _ in range(2000)]
    assert 0.5 <= min(factors) < 0.52 and 0.98 < max(factors) <= 1.0
    assert len(set(factors)) > 1900  # spread, not a few values
    monkeypatch.setattr(hook, "_jitter", lambda: 0.5)
    policy(state, base=40).handed_over("d1", "cfg")
    assert state.load()["next_attempt"] - clock.now == 20


def test_a_zero_polling_interval_still_backs_off_at_least_a_second(state, clock, full_jitter):
    retry = policy(state, base=0, cap=0)
    retry.handed_over("d1", "cfg")
    assert state.load()["next_attempt"] - clock.now == 1


@pytest.mark.parametrize(("digest", "fingerprint"), [("d2", "cfg"), ("d1", "cfg2")])
def test_new_data_or_a_new_configuration_starts_over(state, clock, digest, fingerprint):
    retry = policy(state, limit=3)
    for _ in range(3):
        retry.handed_over("d1", "cfg")
    assert retry.allows("d1", "cfg") is False
    assert retry.allows(digest, fingerprint) is True
    assert retry.handed_over(digest, fingerprint) == 1


def test_reaching_the_limit_is_logged_once_and_stops_retries(state, clock, caplog):
    retry = policy(state, limit=3)
    for _ in range(3):
        retry.handed_over("d1", "cfg")
    clock.now += 10_000
    with caplog.at_level(logging.INFO, logger="occ"):
        assert retry.allows("d1", "cfg") is False
        assert retry.allows("d1", "cfg") is False
        # A later process (the next timer run) reads the same record.
        assert policy(state, limit=3).allows("d1", "cfg") is False
    exhausted = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(exhausted) == 1
    fields = logfields.of(exhausted[0])
    assert fields["MESSAGE_ID"] == logfields.MESSAGE_HOOK_RETRIES_EXHAUSTED
    assert fields["OCC_ATTEMPT"] == "3"
    assert state.load()["exhausted"] is True


def test_a_limit_of_zero_never_gives_up(state, clock):
    retry = policy(state, limit=0, cap=60)
    for _ in range(50):
        retry.handed_over("d1", "cfg")
    clock.now += 61
    assert retry.allows("d1", "cfg") is True


def test_success_clears_the_record(state, clock):
    retry = policy(state, limit=2)
    retry.handed_over("d1", "cfg")
    retry.handed_over("d1", "cfg")
    retry.succeeded()
    assert retry.allows("d1", "cfg") is True
    assert retry.handed_over("d1", "cfg") == 1


def test_the_record_is_a_private_file_in_the_state_directory(state, clock, tmp_path):
    policy(state).handed_over("d1", "cfg")
    path = tmp_path / ".occ" / "hook.state"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    record = state.load()
    assert (record["digest"], record["config"], record["attempts"]) == ("d1", "cfg", 1)


def test_a_corrupt_record_never_blocks_the_hook(state, clock, tmp_path):
    policy(state).handed_over("d1", "cfg")
    (tmp_path / ".occ" / "hook.state").write_text("{truncated")
    assert policy(state).allows("d1", "cfg") is True
    assert policy(state).handed_over("d1", "cfg") == 1


# Malformed and unusable records (issue 9, item 4)


@pytest.mark.parametrize(
    "change",
    [{"attempts": "x"}, {"attempts": -1}, {"next_attempt": "soon"}, {"digest": 1}],
    ids=["attempts-text", "attempts-negative", "next-attempt-text", "digest-number"],
)
def test_a_malformed_record_is_reset_with_one_warning(state, clock, tmp_path, caplog, change):
    policy(state).handed_over("d1", "cfg")
    path = tmp_path / ".occ" / "hook.state"
    path.write_text(json.dumps(dict(json.loads(path.read_text()), **change)))
    retry = policy(state)
    assert retry.allows("d1", "cfg") is True
    assert retry.handed_over("d1", "cfg") == 1
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 1


def test_an_infinite_next_attempt_never_blocks_the_hook_for_good(state, clock, tmp_path):
    policy(state).handed_over("d1", "cfg")
    path = tmp_path / ".occ" / "hook.state"
    path.write_text(path.read_text().replace('"next_attempt": ', '"next_attempt": Infinity, "x": '))
    assert policy(state).allows("d1", "cfg") is True


def test_a_required_record_that_is_a_directory_is_a_cache_error(tmp_path):
    (tmp_path / ".occ" / "hook.state").mkdir(parents=True)
    retry = policy(State(str(tmp_path / ".occ"), "hook", required=True))
    with pytest.raises(CacheError, match=r"hook\.state: not a regular file \(a directory\)"):
        retry.allows("d1", "cfg")


def test_a_withdrawn_hand_over_is_not_counted(state, clock):
    retry = policy(state)
    retry.handed_over("d1", "cfg")
    retry.handed_over("d1", "cfg")
    retry.withdrawn("d1")
    assert state.load()["attempts"] == 1
    assert retry.allows("d1", "cfg") is True  # it was allowed before the withdrawn attempt
    retry.withdrawn("d1")
    assert state.load() == {}
