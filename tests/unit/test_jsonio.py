"""occ.core.jsonio reads and writes exactly what json does, without importing it."""

from __future__ import annotations

import json
import subprocess
import sys

import hypothesis
import hypothesis.strategies as st
import pytest

from occ.core import jsonio

_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@hypothesis.settings(max_examples=500, deadline=None)
@hypothesis.given(_VALUES)
def test_values_are_written_as_json_dumps_writes_them_and_read_back(value):
    text = jsonio.dumps(value)
    assert text == json.dumps(value)
    assert jsonio.dumps(value, sort_keys=True) == json.dumps(value, sort_keys=True)
    assert jsonio.loads(text) == json.loads(text)
    assert jsonio.loads(text.encode()) == json.loads(text)


@pytest.mark.parametrize("text", ['  {"a": 1}\n', '\t[1, "\\u00e9"]\r\n', "3", "null"])
def test_surrounding_whitespace_is_allowed(text):
    assert jsonio.loads(text) == json.loads(text)


@pytest.mark.parametrize(
    "text", ["", "   ", "{", '{"a": 1} x', '{"a": NaN}', "[Infinity]", "{'a': 1}", "[1,]"]
)
def test_what_json_refuses_is_a_value_error(text):
    with pytest.raises(ValueError):
        jsonio.loads(text)


def test_bytes_that_are_not_utf8_are_a_value_error():
    with pytest.raises(ValueError):
        jsonio.loads(b'{"a": "\xff"}')


def test_a_value_json_cannot_hold_is_a_type_error():
    with pytest.raises(TypeError):
        jsonio.dumps({"a": object()})


def test_importing_and_using_it_does_not_import_json_or_re():
    def loaded(code: str) -> set[str]:
        show = "; import sys; print(' '.join(sys.modules))"
        run = subprocess.run([sys.executable, "-c", code + show], capture_output=True, text=True)
        assert run.returncode == 0, run.stderr
        return set(run.stdout.split())

    used = "from occ.core import jsonio; jsonio.loads(jsonio.dumps({'a': [1, 2.5, None]}))"
    assert {"json", "re", "typing"} & (loaded(used) - loaded("pass")) == set()


def test_without_the_accelerator_it_falls_back_to_json():
    code = (
        "import sys; sys.modules['_json'] = None\n"
        "from occ.core import jsonio\n"
        "text = jsonio.dumps({'b': [1, 2.5], 'a': None}, sort_keys=True)\n"
        "assert jsonio.loads(text) == {'a': None, 'b': [1, 2.5]}, text\n"
        "print(text)"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == json.dumps({"a": None, "b": [1, 2.5]})
