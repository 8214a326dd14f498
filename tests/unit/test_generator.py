"""The systemd generator: the polling timers follow the configuration, read by the real rules."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from occ import generator
from occ.config.loader import CommandLine

REPO = Path(__file__).resolve().parent.parent.parent
TIMER_DROPIN = Path(f"{generator.TIMER}.d", generator.DROPIN_NAME)
BURST_DROPIN = Path(f"{generator.BURST_TIMER}.d", generator.DROPIN_NAME)


def timer_values(text: str) -> dict[str, list[str]]:
    """Return the [Timer] settings as systemd would apply them (empty value = reset)."""
    values: dict[str, list[str]] = {}
    for line in text.splitlines():
        if "=" not in line or line.startswith("#"):
            continue
        key, _, value = line.partition("=")
        if value == "" and key.startswith("On"):
            for name in [k for k in values if k.startswith("On")]:
                del values[name]
        elif value != "":
            values.setdefault(key, []).append(value)
    return values


def run(tmp_path: Path, conf: str | None, *args: str, environ: dict | None = None) -> int:
    files: tuple[str, ...] = ()
    if conf is not None:
        path = tmp_path / "os-collect-config.conf"
        path.write_text(conf)
        files = (str(path),)
    cmdline = CommandLine(config_files=files, config_dirs=())
    out = tmp_path / "generator"
    argv = list(args) or [str(out), str(tmp_path / "early"), str(tmp_path / "late")]
    return generator.main(argv, environ or {}, cmdline)


def generated(tmp_path: Path, relative: Path = TIMER_DROPIN) -> dict[str, list[str]]:
    return timer_values((tmp_path / "generator" / relative).read_text())


def test_polling_interval_and_splay_become_the_timer_gap_and_random_delay(tmp_path):
    assert run(tmp_path, "[DEFAULT]\npolling_interval = 45\nsplay = 7.5\n") == 0
    values = generated(tmp_path)
    assert values["OnUnitInactiveSec"] == ["45s"]
    assert values["RandomizedDelaySec"] == ["7.5s"]
    # the reset of OnUnitInactiveSec= also dropped OnBootSec=; the first pass at boot remains
    assert values["OnBootSec"] == ["0"]


def test_defaults_match_the_shipped_timers(tmp_path):
    """Without a configuration file the generated values equal the shipped unit files."""
    assert run(tmp_path, None) == 0
    shipped = {}
    for unit in (generator.TIMER, generator.BURST_TIMER):
        text = (REPO / "systemd" / unit).read_text()
        shipped[unit] = timer_values(
            "\n".join(line for line in text.splitlines() if not line.startswith("["))
        )
    timer = generated(tmp_path)
    assert timer["OnUnitInactiveSec"] == shipped[generator.TIMER]["OnUnitInactiveSec"] == ["30s"]
    assert timer["RandomizedDelaySec"] == shipped[generator.TIMER]["RandomizedDelaySec"]
    burst = generated(tmp_path, BURST_DROPIN)
    assert burst["OnActiveSec"] == shipped[generator.BURST_TIMER]["OnActiveSec"]
    assert burst["OnActiveSec"] == ["1s", "3s", "7s", "15s", "31s"]


def test_burst_ticks_double_from_min_polling_interval_up_to_polling_interval(tmp_path):
    conf = "[DEFAULT]\nmin_polling_interval = 2\npolling_interval = 20\n"
    assert run(tmp_path, conf) == 0
    # gaps 2, 4, 8 and 16 (each shorter than 20); 32 would not be
    assert generated(tmp_path, BURST_DROPIN)["OnActiveSec"] == ["2s", "6s", "14s", "30s"]


def test_min_polling_interval_above_the_interval_still_leaves_one_burst_tick(tmp_path):
    assert run(tmp_path, "[DEFAULT]\nmin_polling_interval = 90\npolling_interval = 60\n") == 0
    assert generated(tmp_path, BURST_DROPIN)["OnActiveSec"] == ["90s"]


def test_a_zero_interval_does_not_make_a_busy_loop(tmp_path):
    assert run(tmp_path, "[DEFAULT]\npolling_interval = 0\nmin_polling_interval = 0\n") == 0
    assert generated(tmp_path)["OnUnitInactiveSec"] == ["1s"]
    assert generated(tmp_path, BURST_DROPIN)["OnActiveSec"] == ["1s"]


def test_environment_overrides_the_file_as_in_a_pass(tmp_path):
    environ = {"OS_DEFAULT__POLLING_INTERVAL": "12"}
    assert run(tmp_path, "[DEFAULT]\npolling_interval = 45\n", environ=environ) == 0
    assert generated(tmp_path)["OnUnitInactiveSec"] == ["12s"]


def test_oslo_interpolation_and_last_value_wins_apply(tmp_path):
    conf = "[DEFAULT]\nsplay = 3\npolling_interval = 5\npolling_interval = 1$splay\n"
    assert run(tmp_path, conf) == 0
    assert generated(tmp_path)["OnUnitInactiveSec"] == ["13s"]


def test_home_config_is_ignored_like_the_sandboxed_pass_does(tmp_path):
    """The collector unit has ProtectHome=yes, so ~/os-collect-config.conf never applies."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "os-collect-config.conf").write_text("[DEFAULT]\npolling_interval = 77\n")
    config = generator.load({"HOME": str(home)})
    assert str(home) not in " ".join(config.files)


def test_invalid_configuration_writes_nothing_and_says_why(tmp_path, caplog):
    assert run(tmp_path, "[DEFAULT]\npolling_interval = often\n") == 0
    assert not (tmp_path / "generator").exists()
    assert "polling_interval" in caplog.text
    assert "timers keep their previous settings" in caplog.text


def test_check_says_whether_a_reload_is_due(tmp_path):
    out = str(tmp_path / "generator")
    assert run(tmp_path, "[DEFAULT]\npolling_interval = 45\n") == 0
    assert run(tmp_path, "[DEFAULT]\npolling_interval = 45\n", "--check", out) == 1
    # unrelated edits (the hook rewriting the file) do not ask for a reload
    assert run(tmp_path, "[DEFAULT]\ncommand = true\npolling_interval = 45\n", "--check", out) == 1
    assert run(tmp_path, "[DEFAULT]\npolling_interval = 50\n", "--check", out) == 0
    assert run(tmp_path, "[DEFAULT]\npolling_interval = often\n", "--check", out) == 1


def test_check_without_generated_files_asks_for_a_reload(tmp_path):
    assert run(tmp_path, None, "--check", str(tmp_path / "nothing-here")) == 0


def test_wrong_arguments_are_a_usage_error(tmp_path):
    assert run(tmp_path, None, "only", "two") == 2


def test_a_newline_in_a_file_name_cannot_inject_settings(tmp_path):
    weird = tmp_path / "x\nOnUnitInactiveSec=1s\n.conf"
    weird.write_text("[DEFAULT]\npolling_interval = 45\n")
    cmdline = CommandLine(config_files=(str(weird),), config_dirs=())
    assert generator.main([str(tmp_path / "generator")], {}, cmdline) == 0
    assert generated(tmp_path)["OnUnitInactiveSec"] == ["45s"]


@pytest.mark.parametrize(
    ("seconds", "span"), [(30, "30s"), (1.5, "1.5s"), (0.25, "0.25s"), (0, "0"), (600, "600s")]
)
def test_timespan(seconds, span):
    assert generator.timespan(seconds) == span


def test_runs_as_a_module_with_the_generator_protocol(tmp_path):
    """systemd calls it with three directories; it writes into the first."""
    dirs = [str(tmp_path / name) for name in ("normal", "early", "late")]
    result = subprocess.run(
        [sys.executable, "-m", "occ.generator", *dirs],
        env={"PYTHONPATH": str(REPO), "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "normal" / TIMER_DROPIN).is_file()
    assert (tmp_path / "normal" / BURST_DROPIN).is_file()
    assert not (tmp_path / "early").exists()


def test_huge_intervals_are_clamped_instead_of_crashing_the_generator(tmp_path):
    conf = "[DEFAULT]\npolling_interval = 1e300\nmin_polling_interval = 1e300\nsplay = 1e10\n"
    assert run(tmp_path, conf) == 0
    values = generated(tmp_path)
    assert values["OnUnitInactiveSec"] == ["604800s"]
    assert values["RandomizedDelaySec"] == ["604800s"]
    burst = timer_values((tmp_path / "generator" / BURST_DROPIN).read_text())
    assert burst["OnActiveSec"] == ["604800s"]


SERVICE_DROPIN = Path(f"{generator.SERVICE}.d", generator.DROPIN_NAME)


def service_paths(tmp_path: Path) -> list[str]:
    text = (tmp_path / "generator" / SERVICE_DROPIN).read_text()
    return [
        line.split("=", 1)[1] for line in text.splitlines() if line.startswith("ReadWritePaths")
    ]


def test_the_sandbox_lets_the_pass_write_the_metrics_file(tmp_path):
    conf = "[DEFAULT]\nmetrics_file = /var/lib/node_exporter/textfile_collector/occ.prom\n"
    assert run(tmp_path, conf) == 0
    assert service_paths(tmp_path) == ["-/var/lib/node_exporter/textfile_collector"]


def test_no_metrics_file_still_renders_the_service_dropin_so_removing_it_reloads(tmp_path):
    assert run(tmp_path, "[DEFAULT]\nmetrics_file = /srv/m/occ.prom\n") == 0
    assert run(tmp_path, "[DEFAULT]\n", "--check", str(tmp_path / "generator")) == 0  # reload due
    assert run(tmp_path, "[DEFAULT]\n") == 0
    assert service_paths(tmp_path) == []  # the default status directory needs no line


def test_a_moved_status_file_and_percent_signs_are_written_safely(tmp_path, caplog):
    conf = "[DEFAULT]\nstatus_file = /srv/st%tus/s.json\nmetrics_file = /srv/my metrics/m.prom\n"
    assert run(tmp_path, conf) == 0
    assert service_paths(tmp_path) == ["-/srv/st%%tus"]
    assert any("metrics_file" in r.getMessage() for r in caplog.records)
