"""The systemd split through the real entry point: collect / run-hook / commit exit statuses and
hand-over files, the crash-to-255 guarantee, and the bounded hook retries."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from occ.core import envfile
from tests.conftest import REPO

CHANGED, UNCHANGED, ERROR = 0, 100, 255


def hook_env(instance) -> dict:
    return envfile.parse((instance.runtime / "hook.env").read_text())


def retry_record(instance) -> dict:
    return json.loads((instance.cachedir / ".occ" / "hook.state").read_text())


def move_next_attempt(instance, seconds_from_now: float) -> None:
    """Drive the hook back-off through its record instead of sleeping through it."""
    record = retry_record(instance)
    record["next_attempt"] = time.time() + seconds_from_now
    (instance.cachedir / ".occ" / "hook.state").write_text(json.dumps(record))


def test_collect_run_hook_commit_cycle(occ, instance):
    instance.set_local("a.json", {"a": 1})
    occ("collect", *instance.args(), check=CHANGED)
    variables = hook_env(instance)
    assert variables == {
        "OS_CONFIG_FILES": str(instance.cachedir / "a.json.json"),
        "OCC_CHANGED_FILES": str(instance.cachedir / "a.json.json"),
    }
    assert instance.mode(instance.runtime) == 0o700
    assert instance.mode(instance.runtime / "hook.env") == 0o600
    assert (instance.backup / "os_config_files.json").exists()
    # Not committed until the hook succeeded.
    assert not (instance.cachedir / "a.json.json.last").exists()
    occ("run-hook", *instance.args(), env=variables, check=0)
    assert instance.hook_runs()[0]["files"] == variables["OS_CONFIG_FILES"]
    occ("commit", *instance.args(), check=0)
    assert (instance.cachedir / "a.json.json.last").read_bytes() == instance.cached("a.json.json")
    assert not (instance.runtime / "hook.env").exists()
    occ("collect", *instance.args(), check=UNCHANGED)
    assert not (instance.runtime / "hook.env").exists()


def test_run_hook_by_hand_reads_the_env_file(occ, instance):
    instance.set_local("a.json", {"a": 1})
    occ("collect", *instance.args(), check=CHANGED)
    occ("run-hook", *instance.args(), check=0)
    assert instance.hook_runs()[0]["files"] == str(instance.cachedir / "a.json.json")


def test_run_hook_passes_the_hook_status_through(occ, instance):
    instance.set_local("a.json", {"a": 1})
    occ("collect", *instance.args(), check=CHANGED)
    instance.fail_hook(7)
    assert occ("run-hook", *instance.args()).returncode == 7


def test_run_hook_without_a_pending_change_fails(occ, instance):
    result = occ("run-hook", *instance.args())
    assert result.returncode == ERROR
    assert "run 'collect' first" in result.stderr


def test_commit_marks_only_the_bytes_the_hook_saw(occ, instance):
    instance.set_local("a.json", {"a": 1})
    instance.set_local("b.json", {"b": 1})
    occ("collect", *instance.args(), check=CHANGED)
    # A manual pass changes a.json while the hook unit runs.
    instance.set_local("a.json", {"a": 2})
    occ(*instance.args("--one-time", "-c", "false"))
    occ("commit", *instance.args(), check=0)
    assert (instance.cachedir / "b.json.json.last").exists()
    assert not (instance.cachedir / "a.json.json.last").exists()


def test_failed_hook_backs_off_then_retries_then_gives_up(occ, instance):
    instance.write_config(extra="[DEFAULT]\nhook_retry_limit = 2\nhook_retry_max_delay = 1\n")
    instance.set_local("a.json", {"a": 1})
    occ("collect", *instance.args(), check=CHANGED)  # hook unit fails: no commit
    assert retry_record(instance)["attempts"] == 1
    move_next_attempt(instance, 3600)  # still within the back-off, however slow this machine
    result = occ("collect", *instance.args())
    assert result.returncode == UNCHANGED  # backing off
    # Quiet at the default level: no "changed" line, nothing about the hook ...
    assert "NOTICE" not in result.stderr and "hook failed" not in result.stderr
    # ... and the reason at --debug.
    result = occ("collect", *instance.args("--debug"))
    assert result.returncode == UNCHANGED
    assert "next retry in" in result.stderr
    move_next_attempt(instance, -1)  # the back-off has passed
    occ("collect", *instance.args(), check=CHANGED)  # second attempt
    assert retry_record(instance)["attempts"] == 2
    move_next_attempt(instance, -1)
    result = occ("collect", *instance.args())
    assert result.returncode == UNCHANGED
    assert "not retrying" in result.stderr
    # New data starts over.
    instance.set_local("a.json", {"a": 2})
    occ("collect", *instance.args(), check=CHANGED)
    assert retry_record(instance)["attempts"] == 1


def test_manual_one_time_ignores_the_back_off(occ, instance):
    instance.set_local("a.json", {"a": 1})
    occ("collect", *instance.args(), check=CHANGED)
    assert occ("collect", *instance.args()).returncode == UNCHANGED
    occ(*instance.args("--one-time"), check=0)
    assert len(instance.hook_runs()) == 1


def test_configuration_errors_exit_255_in_collect(occ, instance, write):
    bad = write(
        "bad.conf",
        """
        [DEFAULT]
        polling_interval = soon
        collectors = local
        [ec2]
        metadata_url = not a url
        """,
    )
    result = occ("collect", "--config-file", str(bad))
    assert result.returncode == ERROR
    assert "polling_interval" in result.stderr and "metadata_url" in result.stderr
    assert "Traceback" not in result.stderr


def test_usage_errors_exit_255_in_collect_and_2_otherwise(occ):
    assert occ("collect", "--no-such-flag").returncode == ERROR
    assert occ("--no-such-flag").returncode == 2
    assert occ("heat_local", "--one-time", "local").returncode == 2


def test_unknown_collector_exits_255_in_collect(occ, instance):
    result = occ("collect", *instance.args(), "nosuch")
    assert result.returncode == ERROR
    assert "unknown collector 'nosuch'" in result.stderr


def test_a_crash_in_collect_is_an_error_not_unchanged(instance):
    # Simulate an import-time crash of the program proper: the entry point must map it to 255.
    code = (
        "import sys; sys.modules['occ.cli.dispatch'] = None; "
        f"sys.argv = ['os-collect-config', 'collect', '--config-file', {str(instance.config)!r}]; "
        "from occ.cli.entry import main; sys.exit(main())"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert result.returncode == ERROR
    assert result.stderr.startswith("<3>")


def test_hook_env_quoting_survives_odd_cachedir_names(occ, instance):
    odd = instance.root / 'cache dir "q" $x `y` \\z'
    instance.write_config(extra=f"[DEFAULT]\ncachedir = {str(odd).replace('$', '$$')}\n")
    instance.set_local("a.json", {"a": 1})
    occ("collect", *instance.args(), check=CHANGED)
    assert hook_env(instance)["OS_CONFIG_FILES"] == str(odd / "a.json.json")
    listing = json.loads((odd / "os_config_files.json").read_text())
    assert listing == [str(odd / "a.json.json")]


def test_force_starts_the_retry_count_over(occ, instance):
    instance.write_config(extra="[DEFAULT]\nhook_retry_limit = 2\nhook_retry_max_delay = 1\n")
    instance.set_local("a.json", {"a": 1})
    instance.fail_hook(1)
    occ(*instance.args("--one-time"), check=1)
    occ(*instance.args("--one-time"), check=1)
    # Two failed attempts: an automatic pass would give up now, back-off or not...
    move_next_attempt(instance, -1)
    result = occ("collect", *instance.args())
    assert result.returncode == UNCHANGED
    assert "not retrying" in result.stderr
    # ...but a forced run starts over, so automatic retries resume after it.
    occ(*instance.args("--force"), check=1)
    assert retry_record(instance)["attempts"] == 1
    move_next_attempt(instance, -1)
    occ("collect", *instance.args(), check=CHANGED)


def test_retry_clears_the_back_off_and_runs_the_hook_now(occ, instance):
    # Outside systemd (as here: PID 1 is not systemd) the pass and the hook run in process.
    instance.set_local("a.json", {"a": 1})
    instance.fail_hook(3)
    assert occ(*instance.args("--one-time")).returncode == 3  # the hook fails: no commit
    # polling_interval = 1 makes the first back-off about a second, which a loaded machine
    # can take between two passes: hold it for an hour, as a longer interval would.
    move_next_attempt(instance, 3600)
    assert occ("collect", *instance.args()).returncode == UNCHANGED  # backing off
    instance.fail_hook(None)  # the operator fixes the hook ...
    result = occ("retry", *instance.args())  # ... and retries at once
    assert result.returncode == 0, result.stderr
    assert "hook back-off cleared" in result.stderr
    assert len(instance.hook_runs()) == 2
    assert (instance.cachedir / "a.json.json.last").exists()
    assert not (instance.cachedir / ".occ" / "hook.state").exists()


def test_the_log_tells_a_failing_hook_story_once_per_event(occ, instance):
    def notices(result):
        return [
            line.split(" NOTICE ", 1)[1]
            for line in result.stderr.splitlines()
            if " NOTICE " in line
        ]

    instance.write_config(extra="[DEFAULT]\nhook_retry_limit = 2\n")
    instance.set_local("a.json", {"a": 1})
    first = occ("collect", *instance.args(), check=CHANGED)  # the hook unit then fails
    assert notices(first) == ["changed: a.json"]
    move_next_attempt(instance, 3600)
    assert notices(occ("collect", *instance.args(), check=UNCHANGED)) == []  # backing off
    move_next_attempt(instance, -1)
    retry = occ("collect", *instance.args(), check=CHANGED)
    assert notices(retry) == ["hook failed 1 time(s) on this data; retrying it now (attempt 2)"]
    move_next_attempt(instance, -1)
    gave_up = occ("collect", *instance.args(), check=UNCHANGED)
    errors = [line for line in gave_up.stderr.splitlines() if " ERROR " in line]
    assert len(errors) == 1 and "run 'os-collect-config retry'" in errors[0]
    assert notices(gave_up) == []
    again = occ("collect", *instance.args(), check=UNCHANGED)
    assert " ERROR " not in again.stderr and notices(again) == []
