"""Configuration problems are all reported: --check-config, and unknown names warned about once
per change of the files instead of silently (or on every pass)."""

from __future__ import annotations

CONFIG_ERROR = 78
UNCHANGED = 100


def test_check_config_accepts_a_valid_file_and_writes_nothing(occ, instance):
    result = occ("--check-config", "--config-file", str(instance.config), check=0)
    assert result.stdout == f"configuration OK: {instance.config}\n"
    assert not instance.cachedir.exists()


def test_check_config_reports_every_problem_and_unknown_name_at_once(occ, instance):
    instance.write_config(
        extra="[DEFAULT]\nthis line is broken\npolling_interval = soon\ncolectors = local\n"
        "[heat]\nauth_url = keystone:5000\n"
    )
    result = occ("--check-config", "--config-file", str(instance.config))
    assert result.returncode == CONFIG_ERROR
    path = instance.config
    lines = path.read_text().splitlines()
    typo, broken = lines.index("colectors = local") + 1, lines.index("this line is broken") + 1
    assert result.stdout.splitlines()[-4:] == [
        f"{path}: [DEFAULT] polling_interval: not a number: 'soon'",
        f"{path}: [heat] auth_url: not a URL (needs a scheme and a host): 'keystone:5000'",
        f"{path}:{typo}: unknown key [DEFAULT] colectors ignored (did you mean 'collectors'?)",
        "3 error(s), 1 unknown name(s)",
    ]
    assert f"{path}:{broken}: expected 'key = value' or a [section] header" in result.stdout
    assert "Traceback" not in result.stderr


def test_an_unknown_key_is_an_error_for_check_config_only(occ, instance):
    instance.write_config(extra="[local]\npaths = /x\n")
    instance.set_local("a.json", {"a": 1})
    assert occ("--check-config", "--config-file", str(instance.config)).returncode == CONFIG_ERROR
    # A pass keeps the original's rule: ignored (with a warning), not an error.
    occ("collect", *instance.args(), check=0)


def test_a_pass_warns_about_a_typo_once_per_change_of_the_file(occ, instance):
    instance.write_config(extra="[DEFAULT]\ncolectors = local\n")
    instance.set_local("a.json", {"a": 1})
    first = occ("collect", *instance.args(), check=0)
    assert "WARNING" in first.stderr and "did you mean 'collectors'" in first.stderr
    occ("commit", *instance.args(), check=0)
    again = occ("collect", *instance.args(), check=UNCHANGED)
    assert "colectors" not in again.stderr
    # Editing the file (still with the typo) reports it again, once.
    instance.write_config(extra="[DEFAULT]\ncolectors = local\nsplay = 0\n")
    edited = occ("collect", *instance.args())
    assert "did you mean 'collectors'" in edited.stderr


def test_a_mode_given_after_the_options_gets_a_hint(occ, instance):
    result = occ("--config-file", str(instance.config), "collect")
    assert result.returncode == CONFIG_ERROR
    assert "'collect' is a mode: it comes first: 'os-collect-config collect [options]'" in (
        result.stderr
    )
