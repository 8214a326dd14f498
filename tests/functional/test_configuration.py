"""Configuration through the real command line: file search and precedence, every error path,
and the original's flag spellings."""

from __future__ import annotations

import json

import pytest


def print_cachedir(occ, *args, env=None) -> str:
    return occ(*args, "--print-cachedir", env=env, check=0).stdout.strip()


def test_home_file_is_found_and_hides_etc(occ, write):
    write("home/os-collect-config.conf", "[DEFAULT]\ncachedir = /from/home\n")
    assert print_cachedir(occ) == "/from/home"


def test_precedence_cli_over_environment_over_later_files(occ, write):
    first = write("one.conf", "[DEFAULT]\ncachedir = /one\nbackup_cachedir = /b1\n")
    second = write("two.conf", "[DEFAULT]\ncachedir = /two\n")
    confd = write("conf.d/50-x.conf", "[DEFAULT]\ncachedir = /confd\n").parent
    files = ["--config-file", str(first), "--config-file", str(second)]
    assert print_cachedir(occ, *files) == "/two"
    assert print_cachedir(occ, *files, "--config-dir", str(confd)) == "/confd"
    env = {"OS_DEFAULT__CACHEDIR": "/env"}
    assert print_cachedir(occ, *files, env=env) == "/env"
    assert print_cachedir(occ, *files, "--cachedir", "/cli", env=env) == "/cli"


def test_config_dir_of_home_is_read_even_with_config_file(occ, write):
    main = write("main.conf", "[DEFAULT]\ncachedir = /main\n")
    write("home/os-collect-config.conf.d/10.conf", "[DEFAULT]\ncachedir = /dir\n")
    write("home/os-collect-config.conf.d/ignored.txt", "[DEFAULT]\ncachedir = /txt\n")
    assert print_cachedir(occ, "--config-file", str(main)) == "/dir"


def test_multi_valued_options_accumulate_and_cli_appends(occ, instance, write):
    instance.set_local("doc.json", {"deployments": [], "k1": [], "k3": []})
    extra = write("extra.conf", "[DEFAULT]\ncollectors = heat_local\n")
    result = occ(*instance.args("--config-file", str(extra), "--print"), check=0)
    # collectors: heat_local, local (file 1) + heat_local (file 2): heat_local twice is fine.
    assert list(json.loads(result.stdout)) == ["doc.json"]


def test_positional_collectors_replace_the_configured_list(occ, instance):
    instance.set_heat_local({"h": 1})
    instance.set_local("l.json", {"l": 1})
    result = occ(*instance.args("--print", "local"), check=0)
    assert list(json.loads(result.stdout)) == ["l.json"]


def test_every_problem_is_reported_at_once_without_a_traceback(occ, write):
    bad = write(
        "bad.conf",
        """
        [DEFAULT]
        polling_interval = abc
        command = echo $OS_CONFIG_FILES
        collectors = ec2,local
        [heat]
        auth_url = keystone
        password = $oops
        [zaqar]
        use_websockets = perhaps
        """,
    )
    result = occ("--config-file", str(bad), "--one-time")
    assert result.returncode == 78
    for needle in (
        "[DEFAULT] polling_interval",
        "[DEFAULT] command",
        "[heat] auth_url",
        "[heat] password",
        "[zaqar] use_websockets",
    ):
        assert f"{bad}: {needle}" in result.stderr, needle
    assert "$${OS_CONFIG_FILES}" in result.stderr  # tells how to write a literal $
    assert "Traceback" not in result.stderr


def test_unknown_collector_names_one_name_per_line(occ, write):
    bad = write("bad.conf", "[DEFAULT]\ncollectors = ec2,local\n")
    result = occ("--config-file", str(bad), "--one-time", "-c", "true")
    assert result.returncode == 78
    assert "one name per line" in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["--config-file", "/nonexistent.conf"],
        ["--config-dir", "/nonexistent.d"],
    ],
)
def test_missing_explicit_files_are_errors(occ, args):
    result = occ(*args, "--one-time")
    assert result.returncode == 78
    assert "not found" in result.stderr


def test_syntax_errors_name_the_line(occ, write):
    bad = write("bad.conf", "key_before_section = 1\n[DEFAULT]\n  stray\n")
    result = occ("--config-file", str(bad))
    assert result.returncode == 78
    assert f"{bad}:1:" in result.stderr and f"{bad}:3:" in result.stderr


def test_secrets_never_appear_in_errors(occ, write):
    bad = write(
        "bad.conf",
        "[heat]\npassword = Hunter2secret $nope\n[cfn]\nsecret_access_key = Sekrit$1Key\n",
    )
    result = occ("--config-file", str(bad))
    assert result.returncode == 78
    assert "Hunter2secret" not in result.stderr and "Sekrit" not in result.stderr


def test_bad_environment_values_are_reported_at_start_up(occ):
    result = occ("--one-time", env={"OS_EC2__TIMEOUT": "fast"})
    assert result.returncode == 78
    assert "OS_EC2__TIMEOUT" in result.stderr


def test_empty_uri_from_a_transport_switch_is_accepted(occ, write):
    conf = write(
        "switch.conf", "[DEFAULT]\ncachedir = /c\n[request]\nmetadata_url =\n[heat]\nauth_url =\n"
    )
    assert print_cachedir(occ, "--config-file", str(conf)) == "/c"


@pytest.mark.parametrize(
    "flag",
    [
        "--heat_local-path=/x",
        "--cfn-ca_certificate=/x",
        "--keystone-cache_dir=/x",
        "--keystone-cache_ttl=5",
        "--zaqar-nouse-websockets",
        "--zaqar-use-websockets",
        "--noone-time",
        "--nodebug",
        "--logfile=/dev/null",
        "--logdir=/tmp",
        "--log_config=",
        "--log-config=",
        "-i",
        "--print-cach",
        "--nouse-journal",
        "--syslog-log-facility=LOG_USER",
        "--zaqar-nossl-certificate-validation",
        "--ec2-imdsv2=off",
    ],
)
def test_original_flag_spellings_are_accepted(occ, flag):
    args = [flag, "5"] if flag == "-i" else [flag]
    if "--print-cach" not in args:
        args.append("--print-cachedir")
    assert occ(*args).returncode == 0, flag


def test_help_and_version(occ):
    help_text = occ("--help", check=0).stdout
    for group in ("cfn options", "ec2 options", "heat options", "zaqar options"):
        assert group in help_text
    assert occ("--version", check=0).stdout.strip()


def test_shell_completion(occ):
    script = occ("--shell_completion", "bash", check=0).stdout
    assert script.startswith("complete -W") and "--one-time" in script


def test_websockets_without_the_package_is_a_configuration_error(occ, instance, tmp_path):
    # Hide websocket-client from the program, as on a machine without the extra.
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "sitecustomize.py").write_text(
        "import sys, importlib.abc\n"
        "class Hide(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'websocket':\n"
        "            raise ModuleNotFoundError(name)\n"
        "sys.meta_path.insert(0, Hide())\n"
    )
    instance.write_config(extra="[DEFAULT]\ncollectors = zaqar\n[zaqar]\nuse_websockets = true\n")
    env = {"PYTHONPATH": f"{shim}:{occ.env['PYTHONPATH']}"}
    result = occ(*instance.args("--one-time"), env=env)
    assert result.returncode == 78
    assert "websocket-client" in result.stderr
    # Not in the collector list: the same setting is harmless.
    instance.write_config(extra="[zaqar]\nuse_websockets = true\n")
    assert occ(*instance.args("--one-time"), env=env).returncode == 0
