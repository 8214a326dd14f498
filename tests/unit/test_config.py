"""Loading the configuration: files, directories, environment, command line and validation
(doc/compatibility.rst, "Configuration files"), through ``occ.config.load`` with a temporary
HOME."""

from __future__ import annotations

import logging
import textwrap
from pathlib import Path

import hypothesis
import pytest

from occ import redact
from occ.cli import configcheck
from occ.collectors import registry
from occ.config import loader, options, values
from occ.errors import ConfigError

SECRET = "Zt4kUnitTestOnlyPw9"


class Setup:
    """Writes configuration files under a temporary HOME and loads them."""

    def __init__(self, tmp_path: Path) -> None:
        self.root = tmp_path
        self.home = tmp_path / "home"
        self.home.mkdir()

    def write(self, name: str, text: str) -> str:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
        return str(path)

    def load(
        self,
        files: tuple[str, ...] | list[str] | None = (),
        *,
        dirs: tuple[str, ...] | list[str] | None = (),
        values: dict | None = None,
        positional: tuple[str, ...] = (),
        env: dict | None = None,
    ) -> loader.Config:
        cmdline = loader.CommandLine(
            values=values or {},
            collectors=positional,
            config_files=None if files is None else tuple(files),
            config_dirs=None if dirs is None else tuple(dirs),
        )
        return loader.load(cmdline, environ={"HOME": str(self.home), **(env or {})})

    def problems(self, *args, **kwargs) -> tuple[str, ...]:
        with pytest.raises(ConfigError) as info:
            self.load(*args, **kwargs)
        return info.value.problems


@pytest.fixture
def conf(tmp_path: Path) -> Setup:
    return Setup(tmp_path)


def polling(cfg: loader.Config) -> float:
    return cfg.general.number("polling_interval")


# 2.3 Precedence of scalars: CLI > environment > files (later wins) > default


def test_a_scalar_without_any_value_takes_its_default(conf):
    cfg = conf.load()
    assert polling(cfg) == 30.0
    assert cfg.cachedir == "/var/lib/os-collect-config"
    assert cfg.backup_cachedir == "/var/run/os-collect-config"
    assert cfg.command == ""


def test_a_scalar_from_a_file_beats_the_default(conf):
    a = conf.write("a.conf", "[DEFAULT]\npolling_interval = 5\n")
    assert polling(conf.load([a])) == 5.0


def test_the_later_config_file_wins(conf):
    a = conf.write("a.conf", "[DEFAULT]\npolling_interval = 5\n")
    b = conf.write("b.conf", "[DEFAULT]\npolling_interval = 6\n")
    assert polling(conf.load([a, b])) == 6.0
    assert polling(conf.load([b, a])) == 5.0


def test_the_last_occurrence_of_a_scalar_in_one_file_wins(conf):
    a = conf.write("a.conf", "[DEFAULT]\npolling_interval = 5\npolling_interval = 7\n")
    assert polling(conf.load([a])) == 7.0


def test_config_dir_files_are_read_after_config_files(conf):
    d = conf.write("d/x.conf", "[DEFAULT]\npolling_interval = 7\n")
    a = conf.write("a.conf", "[DEFAULT]\npolling_interval = 5\n")
    cfg = conf.load([a], dirs=[str(Path(d).parent)])
    assert polling(cfg) == 7.0
    assert cfg.files == (a, d)


def test_config_dirs_are_read_in_the_order_given(conf):
    first = conf.write("d1/x.conf", "[DEFAULT]\npolling_interval = 1\n")
    second = conf.write("d2/x.conf", "[DEFAULT]\npolling_interval = 2\n")
    dirs = [str(Path(second).parent), str(Path(first).parent)]
    assert polling(conf.load(dirs=dirs)) == 1.0


def test_the_environment_beats_the_files(conf):
    a = conf.write("a.conf", "[DEFAULT]\npolling_interval = 5\n")
    assert polling(conf.load([a], env={"OS_DEFAULT__POLLING_INTERVAL": "8"})) == 8.0


def test_the_command_line_beats_the_environment_and_the_files(conf):
    a = conf.write("a.conf", "[DEFAULT]\npolling_interval = 5\n")
    cfg = conf.load(
        [a],
        env={"OS_DEFAULT__POLLING_INTERVAL": "8"},
        values={("DEFAULT", "polling_interval"): "9"},
    )
    assert polling(cfg) == 9.0


def test_a_command_line_boolean_beats_the_file(conf):
    a = conf.write("a.conf", "[DEFAULT]\none_time = true\n[zaqar]\nuse_websockets = false\n")
    cfg = conf.load([a], values={("DEFAULT", "one_time"): False, ("zaqar", "use_websockets"): True})
    assert cfg.general.flag("one_time") is False
    assert cfg.section("zaqar").flag("use_websockets") is True


# 2.3 Multi-valued options


def test_multi_valued_options_accumulate_across_files_and_the_command_line_appends(conf):
    # The example of doc/compatibility.rst, "Precedence": a, b in file 1, c in file 2, d on the
    # command line.
    a = conf.write("a.conf", "[DEFAULT]\ndeployment_key = a\ndeployment_key = b\n")
    b = conf.write("b.conf", "[DEFAULT]\ndeployment_key = c\n")
    cfg = conf.load([a, b], values={("DEFAULT", "deployment_key"): ["d"]})
    assert cfg.deployment_keys == ("a", "b", "c", "d")


def test_multi_valued_options_accumulate_config_dir_files_after_config_files(conf):
    d = conf.write("d/10.conf", "[local]\npath = /from-dir\n")
    a = conf.write("a.conf", "[local]\npath = /from-file\n")
    cfg = conf.load([a], dirs=[str(Path(d).parent)])
    assert cfg.section("local").items_of("path") == ("/from-file", "/from-dir")


def test_the_default_of_a_multi_valued_option_applies_only_when_nothing_was_given(conf):
    assert conf.load().deployment_keys == ("deployments",)
    cfg = conf.load(values={("DEFAULT", "deployment_key"): ["x"]})
    assert cfg.deployment_keys == ("x",)


def test_the_default_collectors_are_the_originals_in_order(conf):
    assert conf.load().collectors == (
        "heat_local",
        "ec2",
        "cfn",
        "heat",
        "request",
        "local",
        "zaqar",
    )


def test_collectors_from_files_accumulate_in_order(conf):
    a = conf.write("a.conf", "[DEFAULT]\ncollectors = ec2\ncollectors = heat\n")
    b = conf.write("b.conf", "[DEFAULT]\ncollectors = local\n")
    assert conf.load([a, b]).collectors == ("ec2", "heat", "local")


def test_positional_collectors_replace_the_configured_list(conf):
    a = conf.write("a.conf", "[DEFAULT]\ncollectors = ec2\ncollectors = local\n")
    cfg = conf.load([a], positional=("local", "heat_local"))
    assert cfg.collectors == ("local", "heat_local")


# 2.4 Environment


@pytest.mark.parametrize(
    ("name", "group", "key", "expected"),
    [
        ("OS_DEFAULT__COMMAND", "DEFAULT", "command", "run-me"),
        ("OS_CFN__STACK_NAME", "cfn", "stack_name", "run-me"),
        ("OS_HEAT__REGION_NAME", "heat", "region_name", "run-me"),
    ],
)
def test_environment_names_are_os_group_double_underscore_key(conf, name, group, key, expected):
    assert conf.load(env={name: "run-me"}).section(group)[key] == expected


@pytest.mark.parametrize("name", ["os_cfn__stack_name", "OS_cfn__stack_name", "OS_CFN_STACK_NAME"])
def test_other_spellings_of_environment_names_are_not_recognised(conf, name):
    assert conf.load(env={name: "s"}).section("cfn").text("stack_name") is None


def test_an_environment_value_of_a_multi_valued_option_is_one_element_replacing_the_files(conf):
    a = conf.write("a.conf", "[local]\npath = /a\npath = /b\n[heat_local]\npath = /h\n")
    cfg = conf.load([a], env={"OS_LOCAL__PATH": "/x/y", "OS_HEAT_LOCAL__PATH": "/z"})
    assert cfg.section("local").items_of("path") == ("/x/y",)
    assert cfg.section("heat_local").items_of("path") == ("/z",)


def test_command_line_values_append_to_an_environment_list(conf):
    cfg = conf.load(env={"OS_LOCAL__PATH": "/x"}, values={("local", "path"): ["/y", "/z"]})
    assert cfg.section("local").items_of("path") == ("/x", "/y", "/z")


def test_environment_booleans_are_converted(conf):
    cfg = conf.load(env={"OS_ZAQAR__USE_WEBSOCKETS": "Yes"})
    assert cfg.section("zaqar").flag("use_websockets") is True


def test_an_invalid_environment_value_fails_the_load_and_names_the_variable(conf):
    (problem,) = conf.problems(env={"OS_DEFAULT__POLLING_INTERVAL": "soon"})
    assert "OS_DEFAULT__POLLING_INTERVAL" in problem
    assert "soon" in problem


# 2.1 Which files are read


def test_the_file_in_home_is_found_without_flags(conf):
    home_file = conf.home / "os-collect-config.conf"
    home_file.write_text("[DEFAULT]\ncommand = from-home\n")
    cfg = conf.load(None, dirs=None)
    assert cfg.command == "from-home"
    assert cfg.files == (str(home_file),)


def test_an_explicit_config_file_disables_the_search(conf):
    (conf.home / "os-collect-config.conf").write_text("[DEFAULT]\ncommand = from-home\n")
    a = conf.write("a.conf", "[DEFAULT]\npolling_interval = 5\n")
    cfg = conf.load([a], dirs=None)
    assert cfg.command == ""
    assert cfg.files == (a,)


def test_the_config_dir_in_home_is_read_in_sorted_order_even_with_a_config_file(conf):
    conf_d = conf.home / "os-collect-config.conf.d"
    conf_d.mkdir()
    (conf_d / "b.conf").write_text("[DEFAULT]\npolling_interval = 2\n")
    (conf_d / "a.conf").write_text("[DEFAULT]\npolling_interval = 1\ncommand = dir\n")
    (conf_d / "c.conf.disabled").write_text("[DEFAULT]\npolling_interval = 3\n")
    (conf_d / "z.txt").write_text("[DEFAULT]\npolling_interval = 4\n")
    a = conf.write("a.conf", "[DEFAULT]\npolling_interval = 5\ncommand = file\n")
    cfg = conf.load([a], dirs=None)
    assert polling(cfg) == 2.0
    assert cfg.command == "dir"
    assert cfg.files == (a, str(conf_d / "a.conf"), str(conf_d / "b.conf"))


def test_home_comes_from_the_password_database_when_HOME_is_unset(conf, monkeypatch):
    import pwd

    (conf.home / "os-collect-config.conf").write_text("[DEFAULT]\ncommand = pw-home\n")
    real = pwd.getpwuid

    def fake(uid):
        entry = list(real(uid))
        entry[5] = str(conf.home)
        return pwd.struct_passwd(entry)

    monkeypatch.setattr(pwd, "getpwuid", fake)
    cmdline = loader.CommandLine(config_files=None, config_dirs=None)
    assert loader.load(cmdline, environ={}).command == "pw-home"


def test_missing_config_files_and_dirs_are_all_reported(conf):
    found = conf.problems(
        [str(conf.root / "nope.conf")], dirs=[str(conf.root / "nope.d"), str(conf.root)]
    )
    assert len(found) == 2
    assert any(str(conf.root / "nope.conf") in p for p in found)
    assert any(str(conf.root / "nope.d") in p for p in found)


# 2.2 Sections and keys as config sees them


def test_section_names_are_case_insensitive_and_repeated_sections_merge(conf):
    a = conf.write(
        "a.conf",
        """
        [Heat]
        user_id = u
        [DEFAULT]
        command = c
        [HEAT]
        project_id = p
        """,
    )
    heat = conf.load([a]).section("heat")
    assert (heat.text("user_id"), heat.text("project_id")) == ("u", "p")


def test_keys_are_case_sensitive(conf):
    a = conf.write("a.conf", "[DEFAULT]\nCOMMAND = upper\nPolling_Interval = 5\n")
    cfg = conf.load([a])
    assert cfg.command == ""
    assert polling(cfg) == 30.0


def test_the_key_for_print_is_print_only(conf):
    a = conf.write("a.conf", "[DEFAULT]\nprint_only = true\n")
    assert conf.load([a]).general.flag("print_only") is True


def loaded_and_reported(conf, files):
    """Load as a pass does and log the notices about unknown names, as a first pass would."""
    cfg = conf.load(files)
    configcheck.report_notices(cfg, remember=False)
    return cfg


def test_lowercase_default_section_is_ignored_with_a_warning(conf, caplog):
    a = conf.write("a.conf", "[default]\ncommand = not-honoured\n")
    with caplog.at_level(logging.WARNING, logger="occ"):
        cfg = loaded_and_reported(conf, [a])
    assert cfg.command == ""
    assert any("[default]" in r.getMessage() for r in caplog.records if r.levelname == "WARNING")


@pytest.mark.parametrize(
    ("text", "group", "key", "default"),
    [
        ("[DEFAULT]\nmin-polling-interval = 5\n", "DEFAULT", "min_polling_interval", 1.0),
        ("[ec2]\nmetadata-url = http://x.example/\n", "ec2", "metadata_url", None),
        ("[zaqar]\nuse-websockets = true\n", "zaqar", "use_websockets", False),
    ],
)
def test_dashed_keys_are_not_honoured_and_warned_about(conf, caplog, text, group, key, default):
    a = conf.write("a.conf", text)
    with caplog.at_level(logging.WARNING, logger="occ"):
        cfg = loaded_and_reported(conf, [a])
    expected = options.find(group, key).default if default is None else default
    assert cfg.section(group)[key] == expected
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1
    assert key in warnings[0]


def test_a_dashed_key_is_warned_about_once(conf, caplog):
    a = conf.write("a.conf", "[DEFAULT]\nmin-polling-interval = 5\nmin-polling-interval = 6\n")
    b = conf.write("b.conf", "[DEFAULT]\nmin-polling-interval = 7\n")
    with caplog.at_level(logging.WARNING, logger="occ"):
        loaded_and_reported(conf, [a, b])
    assert len([r for r in caplog.records if r.levelname == "WARNING"]) == 1


def test_oslo_log_keys_are_ignored_silently_and_unknown_names_ignored_with_a_warning(conf, caplog):
    a = conf.write(
        "a.conf",
        """
        [DEFAULT]
        default_log_levels = amqp=WARN,requests=WARN
        use_stderr = false
        logging_context_format_string = %(asctime)s %(levelname)s %(message)s
        [unknown_section]
        anything = $no_such_option
        [heat]
        no_such_key = $no_such_option
        """,
    )
    with caplog.at_level(logging.WARNING, logger="occ"):
        cfg = loaded_and_reported(conf, [a])
    assert cfg.command == ""
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert warnings == [
        f"{a}:6: unknown section [unknown_section] ignored",
        f"{a}:8: unknown key [heat] no_such_key ignored",
    ]


def test_a_misspelt_key_or_section_names_the_near_miss(conf, caplog):
    a = conf.write("a.conf", "[DEFAULT]\ncolectors = local\n[heat_locl]\npath = /x\n")
    with caplog.at_level(logging.WARNING, logger="occ"):
        cfg = loaded_and_reported(conf, [a])
    assert cfg.collectors == options.DEFAULT_COLLECTORS
    assert [r.getMessage() for r in caplog.records] == [
        f"{a}:2: unknown key [DEFAULT] colectors ignored (did you mean 'collectors'?)",
        f"{a}:4: unknown section [heat_locl] ignored (did you mean [heat_local]?)",
    ]


def test_a_malformed_line_does_not_hide_the_other_problems_of_its_file(conf):
    a = conf.write("a.conf", "[DEFAULT]\nthis is not an assignment\npolling_interval = soon\n")
    with pytest.raises(ConfigError) as caught:
        conf.load([a])
    assert len(caught.value.problems) == 2
    assert f"{a}:2: expected 'key = value' or a [section] header" in caught.value.problems
    assert any("polling_interval" in problem for problem in caught.value.problems)


# 2.2 Booleans


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("true", True),
        ("TRUE", True),
        ("yes", True),
        ("Yes", True),
        ("on", True),
        ("ON", True),
        ("1", True),
        ("false", False),
        ("False", False),
        ("no", False),
        ("NO", False),
        ("off", False),
        ("Off", False),
        ("0", False),
    ],
)
def test_boolean_spellings(conf, text, expected):
    a = conf.write("a.conf", f"[DEFAULT]\nforce = {text}\n[zaqar]\nuse_websockets = {text}\n")
    cfg = conf.load([a])
    assert cfg.general.flag("force") is expected
    assert cfg.section("zaqar").flag("use_websockets") is expected


@pytest.mark.parametrize("text", ["maybe", "2", "t", "yess", "enabled"])
def test_an_invalid_boolean_is_a_problem_naming_file_section_and_key(conf, text):
    a = conf.write("a.conf", f"[zaqar]\nuse_websockets = {text}\n")
    (problem,) = conf.problems([a])
    assert a in problem
    assert "[zaqar] use_websockets" in problem


# 2.2 Interpolation


def interpolated(conf: Setup, text: str, *, values: dict | None = None) -> loader.Config:
    return conf.load([conf.write("i.conf", text)], values=values)


def test_dollar_name_and_braced_name_refer_to_an_option_of_the_same_group(conf):
    heat = interpolated(
        conf, "[heat]\nuser_id = u1\nproject_id = $user_id\nstack_id = ${user_id}-x\n"
    ).section("heat")
    assert heat.text("project_id") == "u1"
    assert heat.text("stack_id") == "u1-x"


def test_a_name_not_in_the_group_is_looked_up_in_DEFAULT(conf):
    cfg = interpolated(conf, "[DEFAULT]\ncachedir = /srv/c\n[heat]\nstack_id = $cachedir/s\n")
    assert cfg.section("heat").text("stack_id") == "/srv/c/s"


def test_braced_group_dot_name_refers_to_another_group(conf):
    cfg = interpolated(conf, "[heat]\nuser_id = u1\n[zaqar]\nuser_id = ${heat.user_id}\n")
    assert cfg.section("zaqar").text("user_id") == "u1"


def test_double_dollar_is_a_literal_dollar(conf):
    cfg = interpolated(conf, "[DEFAULT]\ncommand = echo $${OS_CONFIG_FILES} a$$b\n")
    assert cfg.command == "echo ${OS_CONFIG_FILES} a$b"


def test_an_unknown_name_is_a_problem_naming_the_key_and_the_escape(conf):
    a = conf.write("a.conf", "[DEFAULT]\ncommand = echo $OS_CONFIG_FILES\n")
    (problem,) = conf.problems([a])
    assert a in problem
    assert "[DEFAULT] command" in problem
    assert "$$" in problem


def test_a_circular_reference_is_a_problem(conf):
    a = conf.write("a.conf", "[heat]\nuser_id = $project_id\nproject_id = ${user_id}\n")
    found = conf.problems([a])
    assert any("circular" in p for p in found)
    assert all(a in p for p in found)


def test_typed_values_are_interpolated_as_their_str(conf):
    cfg = interpolated(
        conf,
        "[DEFAULT]\nsplay = 5\ncommand = x $polling_interval $splay $one_time $deployment_key\n",
    )
    assert cfg.command == "x 30.0 5.0 False ['deployments']"


def test_an_unset_option_interpolates_as_the_empty_string(conf):
    cfg = interpolated(conf, "[heat]\nresource_name = r$region_name\n")
    assert cfg.section("heat").text("resource_name") == "r"


def test_each_element_of_a_multi_valued_option_is_interpolated(conf):
    cfg = interpolated(
        conf,
        "[DEFAULT]\ncachedir = /srv/occ\n[local]\npath = $cachedir/local-data\npath = /x$$y\n",
    )
    assert cfg.section("local").items_of("path") == ("/srv/occ/local-data", "/x$y")


def test_interpolation_sees_the_final_value_of_the_referenced_option(conf):
    cfg = interpolated(
        conf,
        "[DEFAULT]\ncachedir = /from-file\ncommand = ls $cachedir\n",
        values={("DEFAULT", "cachedir"): "/from-cli"},
    )
    assert cfg.command == "ls /from-cli"


def test_command_line_values_are_interpolated_too(conf):
    cfg = conf.load(values={("DEFAULT", "command"): "echo $$HOME $splay"})
    assert cfg.command == "echo $HOME 0.0"


# oslo.config substitutes with string.Template.safe_substitute, an idpattern with dots, and
# '\$' as an alias of '$$'; configs written for the original rely on all three.


@pytest.mark.parametrize(
    ("text", "expected"),
    [("awk '{print $1}'", "awk '{print $1}'"), ("cost 5$", "cost 5$"), ("a $ b", "a $ b")],
)
def test_a_dollar_that_starts_no_name_is_kept(conf, text, expected):
    assert interpolated(conf, f"[DEFAULT]\ncommand = {text}\n").command == expected


def test_backslash_dollar_is_a_literal_dollar(conf):
    cfg = interpolated(conf, "[DEFAULT]\ncommand = echo \\${OS_CONFIG_FILES}\n")
    assert cfg.command == "echo ${OS_CONFIG_FILES}"


def test_unbraced_group_dot_name_refers_to_another_group(conf):
    cfg = interpolated(conf, "[heat]\nuser_id = u1\n[zaqar]\nuser_id = $heat.user_id\n")
    assert cfg.section("zaqar").text("user_id") == "u1"


# 2.2 Empty values


@pytest.mark.parametrize(
    ("group", "key"),
    [
        ("request", "metadata_url"),
        ("heat", "auth_url"),
        ("zaqar", "auth_url"),
        ("cfn", "metadata_url"),
        ("DEFAULT", "polling_interval"),
        ("DEFAULT", "one_time"),
        ("ec2", "metadata_url"),
        ("ec2", "timeout"),
        ("keystone", "cache_ttl"),
        ("zaqar", "ssl_certificate_validation"),
        ("ec2", "imdsv2"),
    ],
)
def test_an_empty_typed_value_means_unset(conf, group, key):
    a = conf.write("a.conf", f"[{group}]\n{key} =\n")
    assert conf.load([a]).section(group)[key] == options.find(group, key).default


def test_an_unset_ssl_certificate_validation_differs_from_false(conf):
    a = conf.write("a.conf", "[zaqar]\nssl_certificate_validation = false\n")
    assert conf.load().section("zaqar").flag("ssl_certificate_validation") is None
    assert conf.load([a]).section("zaqar").flag("ssl_certificate_validation") is False


def test_an_empty_string_value_is_set_not_unset(conf):
    a = conf.write("a.conf", "[DEFAULT]\ncommand =\n[heat]\nregion_name =\n")
    cfg = conf.load([a])
    assert cfg.general.text("command") == ""
    assert cfg.section("heat").text("region_name") == ""
    assert conf.load().section("heat").text("region_name") is None


def test_a_config_rendered_after_a_transport_switch_loads(conf):
    # doc/compatibility.rst, "Empty URI abort": the previous transport's section is rendered
    # with empty values.
    a = conf.write(
        "a.conf",
        f"""
        [DEFAULT]
        command = os-refresh-config
        polling_interval = 30
        collectors = ec2
        collectors = heat
        collectors = local

        [heat]
        auth_url = https://keystone.example.net:5000/v3
        user_id = 7d1f0c2e5a8b4c39a1e6f0b2c4d8e913
        password = {SECRET}
        project_id = 3b9e2a7c1d4f4e8a9c0b6d5e2f1a7c48
        stack_id = web-tier-7xk2p/5c2a9e41-8d3b-4f7a-b6e0-91c4d2a8f375
        resource_name = AppServer
        region_name =

        [request]
        metadata_url =
        """,
    )
    cfg = conf.load([a])
    assert cfg.collectors == ("ec2", "heat", "local")
    assert cfg.section("heat").text("password") == SECRET
    assert cfg.section("heat").text("region_name") == ""
    assert cfg.section("request").text("metadata_url") is None


# 2.5 URIs and numbers


@pytest.mark.parametrize(
    "url",
    [
        "ws://a",
        "http://[fe80::1]:80/",
        "https://keystone.example.net:5000/v3",
        "http://198.51.100.20:8000/v1/",
        "https://swift.example.net:8080/v1/AUTH_x/c/o?temp_url_sig=ab&temp_url_expires=1",
    ],
)
def test_uris_with_a_scheme_and_a_host_are_accepted(conf, url):
    a = conf.write("a.conf", f"[request]\nmetadata_url = {url}\n")
    assert conf.load([a]).section("request").text("metadata_url") == url


@pytest.mark.parametrize(
    "url", ["foo", "file:///x", "http://", "//host/path", "http://h:port/", "host:80"]
)
def test_uris_without_a_scheme_or_a_host_are_problems(conf, url):
    a = conf.write("a.conf", f"[heat]\nauth_url = {url}\n")
    (problem,) = conf.problems([a])
    assert a in problem
    assert "[heat] auth_url" in problem


def test_a_malformed_ipv6_uri_is_a_problem_not_a_crash(conf):
    a = conf.write("a.conf", "[request]\nmetadata_url = http://[fe80::1\n")
    (problem,) = conf.problems([a])
    assert "[request] metadata_url" in problem


@pytest.mark.parametrize(
    ("group", "key", "text", "expected"),
    [
        ("DEFAULT", "polling_interval", "5", 5.0),
        ("DEFAULT", "polling_interval", "0.5", 0.5),
        ("DEFAULT", "splay", "1e1", 10.0),
        ("DEFAULT", "min_polling_interval", "0", 0.0),
        ("keystone", "cache_ttl", "10", 10),
        ("DEFAULT", "hook_retry_limit", "0", 0),
    ],
)
def test_numbers_are_typed(conf, group, key, text, expected):
    a = conf.write("a.conf", f"[{group}]\n{key} = {text}\n")
    value = conf.load([a]).section(group)[key]
    assert value == expected
    assert type(value) is type(expected)


@pytest.mark.parametrize(
    ("group", "key", "text"),
    [
        ("DEFAULT", "polling_interval", "soon"),
        ("DEFAULT", "polling_interval", "nan"),
        ("DEFAULT", "splay", "inf"),
        ("DEFAULT", "min_polling_interval", "-1"),
        ("ec2", "timeout", "-0.5"),
        ("keystone", "cache_ttl", "2.5"),
        ("keystone", "cache_ttl", "-1"),
        ("DEFAULT", "hook_retry_limit", "many"),
        ("DEFAULT", "pass_timeout", "0.5"),
    ],
)
def test_invalid_numbers_are_problems(conf, group, key, text):
    a = conf.write("a.conf", f"[{group}]\n{key} = {text}\n")
    (problem,) = conf.problems([a])
    assert f"[{group}] {key}" in problem
    assert text in problem


def test_an_invalid_command_line_value_names_the_flag(conf):
    (problem,) = conf.problems(values={("heat", "auth_url"): "nope"})
    assert "--heat-auth-url" in problem


# Collector names


@pytest.mark.parametrize("line", ["ec2,local", '["ec2", "cfn", "local"]', "ec2 local"])
def test_a_list_on_one_line_is_one_unknown_collector_with_a_hint(conf, line):
    a = conf.write("a.conf", f"[DEFAULT]\ncollectors = {line}\n")
    cfg = conf.load([a])
    with pytest.raises(ConfigError) as info:
        registry.validate(cfg.collectors)
    (problem,) = info.value.problems
    assert "one name per line" in problem


def test_an_unknown_collector_is_rejected_listing_the_known_ones(conf):
    with pytest.raises(ConfigError) as info:
        registry.validate(("ec2", "nova", "local", "swift"))
    found = info.value.problems
    assert len(found) == 2
    assert "'nova'" in found[0]
    assert "'swift'" in found[1]
    assert "heat_local" in found[0]
    assert "one name per line" not in found[0]


def test_known_collectors_validate(conf):
    registry.validate(options.DEFAULT_COLLECTORS)


# 2.5 Every problem at once


def test_every_problem_is_reported_at_once_naming_file_section_and_key(conf):
    a = conf.write(
        "a.conf",
        """
        [DEFAULT]
        polling_interval = soon
        command = echo $nothing
        [heat]
        auth_url = foo
        [zaqar]
        use_websockets = maybe
        """,
    )
    b = conf.write("b.conf", "[DEFAULT]\n  indented = after header\n")
    with pytest.raises(ConfigError) as info:
        conf.load(
            [a, b],
            dirs=[str(conf.root / "missing.d")],
            env={"OS_CFN__TIMEOUT": "abc"},
            values={("DEFAULT", "splay"): "-1"},
        )
    found = info.value.problems
    assert len(found) == 8
    expected = [
        (a, "[DEFAULT] polling_interval"),
        (a, "[DEFAULT] command"),
        (a, "[heat] auth_url"),
        (a, "[zaqar] use_websockets"),
        (f"{b}:2", ""),
        ("OS_CFN__TIMEOUT", ""),
        ("--splay", ""),
    ]
    for where, what in expected:
        assert any(where in p and what in p for p in found), (where, what, found)
    assert any(str(conf.root / "missing.d") in p for p in found)
    # One exception, one line per problem.
    assert str(info.value).count("\n") == len(found)


# Secrets


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(
            f"[heat]\npassword = abc${SECRET}\n",
        ),
        pytest.param(
            f"[heat]\npassword = {SECRET}\nauth_url = $password\n",
        ),
        f"[cfn]\nsecret_access_key = {SECRET}\n[heat]\npassword = {SECRET}\n"
        "[DEFAULT]\npolling_interval = x\n",
    ],
)
def test_a_secret_never_appears_in_problem_text(conf, text):
    a = conf.write("a.conf", text)
    with pytest.raises(ConfigError) as info:
        conf.load([a])
    assert SECRET not in str(info.value)
    assert SECRET[3:] not in str(info.value)


def test_a_secret_from_the_environment_never_appears_in_problem_text(conf):
    with pytest.raises(ConfigError) as info:
        conf.load(env={"OS_ZAQAR__PASSWORD": SECRET, "OS_ZAQAR__AUTH_URL": "nope"})
    assert SECRET not in str(info.value)


def test_loaded_secrets_are_masked_in_logs_and_hidden_from_repr(conf):
    a = conf.write("a.conf", f"[heat]\npassword = {SECRET}\n[cfn]\nsecret_access_key = K{SECRET}\n")
    cfg = conf.load([a])
    assert SECRET not in redact.redact(f"auth with {SECRET} failed")
    assert f"K{SECRET}" not in redact.redact(f"signing with K{SECRET}")
    assert SECRET not in repr(cfg.section("heat"))


# Large values are clamped to documented limits, never refused (issue 9, item 6)


@pytest.mark.parametrize(
    ("group", "key", "text", "limit"),
    [
        ("DEFAULT", "polling_interval", "1e10", options.WEEK_SECONDS),
        ("DEFAULT", "min_polling_interval", "1e300", options.WEEK_SECONDS),
        ("DEFAULT", "splay", "99999999999", options.WEEK_SECONDS),
        ("DEFAULT", "hook_timeout", "1e12", options.WEEK_SECONDS),
        ("DEFAULT", "pass_timeout", "1e10", options.DAY_SECONDS),
        ("ec2", "timeout", "1e10", options.HOUR_SECONDS),
        ("keystone", "cache_ttl", "10" * 30, int(options.WEEK_SECONDS)),
        ("DEFAULT", "max_response_size", "9" * 40, options.MAX_RESPONSE_BYTES),
    ],
)
def test_a_value_above_its_limit_is_clamped_with_one_warning(conf, group, key, text, limit):
    a = conf.write("a.conf", f"[{group}]\n{key} = {text}\n")
    loader.take_warnings()
    assert conf.load([a]).section(group)[key] == limit
    conf.load([a])  # continuous mode re-reads the configuration every pass
    # Loading does not log: the command line logs what loading found, once logging is set up.
    (warning,) = loader.take_warnings()
    assert loader.take_warnings() == []
    assert warning.startswith(f"{a}: [{group}] {key}: ")
    assert f"above the limit of {limit:g}; using {limit:g}" in warning


def test_clamping_applies_to_the_environment_and_the_command_line(conf):
    env = {"OS_DEFAULT__POLLING_INTERVAL": "1e10"}
    assert polling(conf.load(env=env)) == options.WEEK_SECONDS
    assert polling(conf.load(values={("DEFAULT", "polling_interval"): 1e10})) == (
        options.WEEK_SECONDS
    )


def test_values_at_the_limit_are_kept_as_given(conf):
    a = conf.write("a.conf", f"[DEFAULT]\npolling_interval = {options.WEEK_SECONDS:g}\n")
    loader.take_warnings()
    assert polling(conf.load([a])) == options.WEEK_SECONDS
    assert loader.take_warnings() == []


_URL_PIECES = hypothesis.strategies.sampled_from(
    [
        *("http", "s", "Z", "0", "9", "+", "-", ".", ":", "//", "/", "?", "#", "@", "[", "]"),
        *("%", "::1", "80", "99999", "h", " ", "\t", "\xe9"),
    ]
)


@hypothesis.settings(max_examples=3000, deadline=None)
@hypothesis.given(hypothesis.strategies.lists(_URL_PIECES, max_size=10).map("".join))
def test_uri_validation_reads_scheme_and_host_as_urlsplit_does(text):
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(text)
        expected: object = (parts.scheme, parts.hostname, parts.port)[:2]
    except ValueError:
        expected = ValueError
    try:
        got: object = values.uri_scheme_and_host(text)
    except ValueError:
        got = ValueError
    assert got == expected
