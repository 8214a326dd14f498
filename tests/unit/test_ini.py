"""The INI dialect of oslo.config (doc/compatibility.rst, "INI dialect"), as
``occ.config.ini`` reads it."""

from __future__ import annotations

import pytest

from occ.config import ini
from occ.errors import ConfigError


def parse(text: str) -> list[tuple[str, str, str]]:
    return [(e.section, e.key, e.value) for e in ini.parse(text, "f.conf")]


def problems(text: str) -> tuple[str, ...]:
    with pytest.raises(ConfigError) as info:
        ini.parse(text, "f.conf")
    return info.value.problems


# Sections


def test_only_the_exact_spelling_DEFAULT_is_the_default_section():
    entries = parse("[DEFAULT]\na = 1\n[default]\nb = 2\n[Default]\nc = 3\n")
    assert entries == [("DEFAULT", "a", "1"), ("default", "b", "2"), ("default", "c", "3")]


@pytest.mark.parametrize("header", ["[heat]", "[Heat]", "[HEAT]", "[hEaT]"])
def test_other_section_names_are_case_insensitive(header):
    assert parse(f"{header}\nuser_id = u\n") == [("heat", "user_id", "u")]


def test_a_repeated_section_continues_the_same_section():
    text = "[heat]\nuser_id = u\n[DEFAULT]\ncommand = c\n[Heat]\nproject_id = p\nuser_id = v\n"
    heat = [(k, v) for s, k, v in parse(text) if s == "heat"]
    assert heat == [("user_id", "u"), ("project_id", "p"), ("user_id", "v")]


def test_repeated_keys_are_all_returned_in_file_order():
    text = "[DEFAULT]\ncollectors = ec2\ncollectors = heat\ncollectors = local\n"
    assert [v for _, _, v in parse(text)] == ["ec2", "heat", "local"]


@pytest.mark.parametrize("header", ["[heat", "[]", "[heat] x"])
def test_a_malformed_section_header_is_an_error(header):
    (problem,) = problems(f"[DEFAULT]\n{header}\n")
    assert "f.conf:2" in problem


# Assignments


@pytest.mark.parametrize(
    ("line", "key", "value"),
    [
        ("metadata_url = http://h:1/p?a=b", "metadata_url", "http://h:1/p?a=b"),
        ("metadata_url: http://h:1/p?a=b", "metadata_url", "http://h:1/p?a=b"),
        ("key: value = x", "key", "value = x"),
        ("key=value: x", "key", "value: x"),
        ("  spaced   =   value with  inner  spaces   ", "spaced", "value with  inner  spaces"),
        ("nospace=v", "nospace", "v"),
    ],
)
def test_a_line_splits_at_the_first_equals_or_colon(line, key, value):
    # An indented first line would be a continuation; strip the leading spaces of the case.
    assert parse(f"[s]\n{line.lstrip()}\n") == [("s", key, value)]


def test_a_key_before_any_section_is_an_error_with_its_line_number():
    (problem,) = problems("# comment\ncommand = x\n[DEFAULT]\n")
    assert "f.conf:2" in problem
    assert "command" in problem


def test_a_line_without_equals_or_colon_is_an_error():
    (problem,) = problems("[DEFAULT]\ncommand = x\njust words\n")
    assert "f.conf:3" in problem


def test_an_assignment_without_a_key_is_an_error():
    (problem,) = problems("[DEFAULT]\n= value\n")
    assert "f.conf:2" in problem


def test_an_empty_value_is_the_empty_string():
    assert parse("[heat]\nregion_name =\nother:\n") == [
        ("heat", "region_name", ""),
        ("heat", "other", ""),
    ]


# Quotes


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ('"wrapped value"', "wrapped value"),
        ("'wrapped value'", "wrapped value"),
        ('""', ""),
        ('"dq" tail', '"dq" tail'),
        ("head 'sq'", "head 'sq'"),
        ("'mixed\"", "'mixed\""),
        ('"a" and "b"', 'a" and "b'),  # first and last character decide, as in oslo.config
        ('x"y"', 'x"y"'),
    ],
)
def test_quotes_are_removed_only_when_they_wrap_the_whole_value(raw, value):
    assert parse(f"[s]\nk = {raw}\n") == [("s", "k", value)]


# Continuation lines


def test_indented_lines_continue_the_value_joined_with_newlines_and_stripped():
    text = "[s]\nk = first\n    second\n\tthird  \nnext = n\n"
    assert parse(text) == [("s", "k", "first\nsecond\nthird"), ("s", "next", "n")]


def test_an_indented_hash_line_is_part_of_the_value():
    assert parse("[s]\nk = first\n  # not a comment\n") == [("s", "k", "first\n# not a comment")]


def test_a_trailing_backslash_is_just_a_character():
    assert parse("[s]\nk = a \\\nj = b\n") == [("s", "k", "a \\"), ("s", "j", "b")]


def test_an_indented_line_right_after_a_section_header_is_an_error():
    (problem,) = problems("[DEFAULT]\n  command = x\n")
    assert "f.conf:2" in problem


def test_an_indented_line_after_a_blank_line_is_an_error():
    (problem,) = problems("[DEFAULT]\ncommand = x\n\n  more\n")
    assert "f.conf:4" in problem


def test_an_indented_line_after_a_comment_is_an_error():
    (problem,) = problems("[DEFAULT]\ncommand = x\n# comment\n  more\n")
    assert "f.conf:4" in problem


# Comments


@pytest.mark.parametrize("comment", ["# hash", "; semicolon", "#", ";no space"])
def test_lines_starting_with_hash_or_semicolon_are_comments(comment):
    assert parse(f"[s]\n{comment}\nk = v\n") == [("s", "k", "v")]


@pytest.mark.parametrize("value", ["x # y", "x ; y", "x #y", "http://h/#frag"])
def test_there_are_no_inline_comments(value):
    assert parse(f"[s]\nk = {value}\n") == [("s", "k", value)]


def test_a_comment_ends_a_multi_line_value():
    assert parse("[s]\nk = a\n  b\n# c\nj = d\n") == [("s", "k", "a\nb"), ("s", "j", "d")]


# Problems


def test_every_problem_of_a_file_is_reported_at_once_with_line_numbers():
    text = "orphan = 1\n[DEFAULT]\ncommand = x\n\n  dangling\n[broken\nno assignment here\n"
    found = problems(text)
    assert len(found) == 4
    for lineno, problem in zip((1, 5, 6, 7), found):
        assert f"f.conf:{lineno}:" in problem


def test_entries_carry_their_file_and_first_line_number():
    entries = ini.parse("[DEFAULT]\n\ncommand = a\n  b\nsplay = 3\n", "/etc/x.conf")
    assert [(e.source, e.lineno) for e in entries] == [("/etc/x.conf", 3), ("/etc/x.conf", 5)]


def test_windows_line_endings_are_accepted():
    assert parse("[s]\r\nk = v\r\n  w\r\n") == [("s", "k", "v\nw")]


@pytest.mark.parametrize("char", ["\u2028", "\x0c", "\x85"])
def test_only_newlines_end_a_line(char):
    assert parse(f"[s]\nk = a{char}b\n") == [("s", "k", f"a{char}b")]


def test_a_syntax_error_never_shows_a_password():
    text = "[heat]\n    user_id = u\n    password = Qw7ZpL2mXc9RtY4v\n"
    found = problems(text)
    assert len(found) == 2
    assert "Qw7ZpL2mXc9RtY4v" not in "\n".join(found)


# Files


def test_read_returns_the_entries_of_a_file(tmp_path):
    path = tmp_path / "a.conf"
    path.write_bytes("[DEFAULT]\ncommand = caf\u00e9\n".encode())
    (entry,) = ini.read(str(path))
    assert (entry.section, entry.key, entry.value, entry.source) == (
        "DEFAULT",
        "command",
        "caf\u00e9",
        str(path),
    )


def test_read_ignores_a_utf8_byte_order_mark(tmp_path):
    path = tmp_path / "a.conf"
    path.write_bytes(b"\xef\xbb\xbf[DEFAULT]\ncommand = x\n")
    assert [(e.section, e.key) for e in ini.read(str(path))] == [("DEFAULT", "command")]


def test_read_of_a_missing_file_is_a_config_error_naming_it(tmp_path):
    path = tmp_path / "missing.conf"
    with pytest.raises(ConfigError) as info:
        ini.read(str(path))
    assert str(path) in str(info.value)


def test_read_of_a_file_that_is_not_utf8_is_a_config_error(tmp_path):
    path = tmp_path / "latin1.conf"
    path.write_bytes(b"[DEFAULT]\ncommand = caf\xe9\n")
    with pytest.raises(ConfigError) as info:
        ini.read(str(path))
    assert str(path) in str(info.value)
