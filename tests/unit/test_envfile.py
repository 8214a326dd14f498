"""The hook environment file in systemd EnvironmentFile= syntax (occ.core.envfile)."""

from __future__ import annotations

import subprocess

import pytest

from occ.core import envfile

TRICKY = [
    "",
    "/var/lib/os-collect-config/ec2.json:/var/lib/os-collect-config/heat.json",
    "with space/and\ttab",
    'double"quote',
    "single'quote",
    "back\\slash and \\n not a newline",
    "dollar $HOME ${HOME} $$",
    "back`tick` $(echo no)",
    "hash # semicolon ; equals = ",
    "caf\u00e9 \u20ac",
    "trailing backslash\\",
]


def test_render_writes_a_header_and_one_double_quoted_assignment_per_variable_in_order():
    text = envfile.render({"OS_CONFIG_FILES": "/c/a.json:/c/b.json", "OCC_CHANGED_FILES": ""})
    lines = text.splitlines()
    assert lines[0].startswith("#")
    assert lines[1:] == ['OS_CONFIG_FILES="/c/a.json:/c/b.json"', 'OCC_CHANGED_FILES=""']
    assert text.endswith("\n")


@pytest.mark.parametrize(
    ("value", "quoted"),
    [
        ("plain", '"plain"'),
        ('a"b', '"a\\"b"'),
        ("a\\b", '"a\\\\b"'),
        ("a`b", '"a\\`b"'),
        ("a$b", '"a\\$b"'),
        ("a'b c#d", '"a\'b c#d"'),
    ],
)
def test_quote_escapes_exactly_the_characters_special_inside_double_quotes(value, quoted):
    assert envfile.quote(value) == quoted


@pytest.mark.parametrize("value", TRICKY)
def test_parse_reads_back_what_render_wrote(value):
    variables = {"OS_CONFIG_FILES": value, "OCC_CHANGED_FILES": value[::-1]}
    assert envfile.parse(envfile.render(variables)) == variables


@pytest.mark.parametrize("value", TRICKY)
def test_a_posix_shell_reads_the_same_value(tmp_path, value):
    # Inside double quotes systemd's EnvironmentFile= parser and sh agree: a backslash escapes
    # only " \ ` $ and is kept before any other character. sh is an independent reader.
    path = tmp_path / "hook.env"
    path.write_text(envfile.render({"OS_CONFIG_FILES": value}))
    shown = subprocess.run(
        ["/bin/sh", "-c", '. "$1"; printf %s "$OS_CONFIG_FILES"', "sh", str(path)],
        capture_output=True,
        check=True,
        env={"PATH": "/usr/bin:/bin"},
    ).stdout
    assert shown.decode() == value


def test_parse_skips_comments_and_blank_lines():
    assert envfile.parse('# c\n\nA="1"\n# d\nB="2"\n') == {"A": "1", "B": "2"}


@pytest.mark.parametrize("line", ["A=1", 'A="1', "A", 'A="x" y', "A='1'"])
def test_parse_rejects_lines_it_did_not_write(line):
    with pytest.raises(ValueError):
        envfile.parse(line + "\n")


def test_values_spanning_lines_survive_the_round_trip():
    text = envfile.render({"OS_CONFIG_FILES": "/odd\ndir/a.json", "OCC_CHANGED_FILES": ""})
    assert envfile.parse(text) == {"OS_CONFIG_FILES": "/odd\ndir/a.json", "OCC_CHANGED_FILES": ""}
