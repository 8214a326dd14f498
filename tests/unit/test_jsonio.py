"""occ.jsonio reads and writes exactly what json does, without importing it."""

from __future__ import annotations

import json
import subprocess
import sys

import hypothesis
import hypothesis.strategies as st
import pytest

from occ import jsonio

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

    used = "from occ import jsonio; jsonio.loads(jsonio.dumps({'a': [1, 2.5, None]}))"
    assert {"json", "re", "typing"} & (loaded(used) - loaded("pass")) == set()


def test_without_the_accelerator_it_falls_back_to_json():
    code = (
        "import sys; sys.modules['_json'] = None\n"
        "from occ import jsonio\n"
        "text = jsonio.dumps({'b': [1, 2.5], 'a': None}, sort_keys=True)\n"
        "assert jsonio.loads(text) == {'a': None, 'b': [1, 2.5]}, text\n"
        "assert str(jsonio.loads_document(b'[NaN]')) == '[nan]'\n"
        "assert jsonio.dumps([1], indent=1) == '[\\n 1\\n]'\n"
        "print(text)"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == json.dumps({"a": None, "b": [1, 2.5]})


_ANY_FLOAT = st.floats()  # NaN and the infinities too: servers' documents may hold them
_ANY_KEY = st.text() | st.integers() | _ANY_FLOAT | st.booleans() | st.none()


def _containers(inner: st.SearchStrategy) -> st.SearchStrategy:
    lists = st.lists(inner, max_size=4) | st.tuples(inner, inner)
    return lists | st.dictionaries(_ANY_KEY, inner, max_size=4)


_DOCUMENT_VALUES = st.recursive(_SCALARS | _ANY_FLOAT, _containers, max_leaves=20)


@hypothesis.settings(max_examples=500, deadline=None)
@hypothesis.given(_DOCUMENT_VALUES, st.integers(min_value=0, max_value=4))
def test_indented_values_are_written_as_json_dumps_writes_them(value, indent):
    assert jsonio.dumps(value, indent=indent) == json.dumps(value, indent=indent)


def test_indented_writing_refuses_what_json_refuses():
    loop: list[object] = []
    loop.append(loop)
    with pytest.raises(ValueError):
        jsonio.dumps({"a": loop}, indent=1)
    with pytest.raises(TypeError):
        jsonio.dumps([object()], indent=1)
    with pytest.raises(TypeError):
        jsonio.dumps({(1, 2): "tuple key"}, indent=1)
    shared = [1]
    assert jsonio.dumps([shared, shared], indent=1) == json.dumps([shared, shared], indent=1)


def _same_as_json_loads(data: bytes) -> None:
    try:
        expected = json.loads(data)
    except (ValueError, RecursionError) as exc:
        with pytest.raises(type(exc)) as raised:
            jsonio.loads_document(data)
        assert str(raised.value) == str(exc)  # json's own words
        return
    got = jsonio.loads_document(data)
    assert json.dumps(got) == json.dumps(expected)  # NaN != NaN, so compare the texts


@hypothesis.settings(max_examples=500, deadline=None)
@hypothesis.given(_DOCUMENT_VALUES, st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-32"]))
def test_documents_are_read_as_json_loads_reads_them(value, codec):
    _same_as_json_loads(json.dumps(value, ensure_ascii=False).encode(codec, "surrogatepass"))


@hypothesis.settings(max_examples=500, deadline=None)
@hypothesis.given(
    st.binary(max_size=12)
    | st.text(alphabet='[]{}",:0-1eE.NaInfty \\u\x00', max_size=12).map(str.encode)
)
def test_any_bytes_are_read_or_refused_as_json_loads_does(data):
    _same_as_json_loads(data)


@pytest.mark.parametrize(
    "data",
    [b'{"a": NaN, "b": -Infinity}', b'"\xed\xa0\x80"', b"\xef\xbb\xbf[1]", b"\x00[1]", b"[1] x",
     b"", b" ", b'{"a": 1,}', b"\xff", b"1" * 5000],
)  # fmt: skip
def test_edge_documents_are_read_or_refused_as_json_loads_does(data):
    _same_as_json_loads(data)
