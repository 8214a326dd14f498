"""JSON for the files every pass reads and writes and the documents servers send, without
the cost of importing ``json``.

``import json`` compiles regular expressions at import time (``json.decoder``,
``json.encoder``), which costs a new process about 0.7 times the interpreter's own start-up on
the units' Python (doc/performance.rst, "Import time"). The parsing and encoding themselves are
done by ``json``'s C accelerator, ``_json``, which imports nothing; this module drives it
directly, with the same options as ``json.loads`` and ``json.dumps`` (ASCII output, ``", "`` and
``": "`` separators), and falls back to ``json`` where ``_json`` is missing. The indented
layout of the cache files (``indent=1``), which the accelerator does not write, is written
here. The results are the same as json's, which tests/unit/test_jsonio.py checks.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable

try:
    import _json
except ImportError:  # another interpreter: json's pure-Python code, at its import cost
    _json = None  # type: ignore[assignment]

_WHITESPACE = " \t\n\r"
_INFINITY = float("inf")
# Byte order marks json reads a document's codec from: UTF-8's, and the UTF-16 ones (UTF-32's
# start with a NUL or with UTF-16's little-endian mark).
_NOT_PLAIN_UTF8 = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")


class _DecoderSettings:
    """What ``_json.make_scanner`` reads from a decoder: json.loads' defaults, except that
    NaN and Infinity are refused (no file of ours holds them)."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int

    @staticmethod
    def parse_constant(name: str) -> Any:
        raise ValueError(f"{name} is not valid JSON")


class _DocumentSettings(_DecoderSettings):
    """``json.loads``' defaults exactly, for documents from elsewhere: NaN and Infinity too."""

    @staticmethod
    def parse_constant(name: str) -> Any:
        return {"NaN": float("nan"), "Infinity": _INFINITY, "-Infinity": -_INFINITY}[name]


def _refuse(value: object) -> Any:
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


_scan: Callable[[str, int], tuple[Any, int]] | None = None
_scan_document: Callable[[str, int], tuple[Any, int]] | None = None
_encoders: dict[bool, Callable[[Any, int], Any]] = {}
try:
    _scan = _json.make_scanner(_DecoderSettings())  # type: ignore[arg-type]
    _scan_document = _json.make_scanner(_DocumentSettings())  # type: ignore[arg-type]
    for _sort in (False, True):
        _encoders[_sort] = _json.make_encoder(
            None, _refuse, _json.encode_basestring_ascii, None, ": ", ", ", _sort, False, True
        )
except (AttributeError, TypeError):  # no _json, or one whose private API has changed
    _scan = _scan_document = None
    _encoders.clear()


def loads(data: str | bytes) -> Any:
    """Return the value of the JSON document ``data`` (bytes are read as UTF-8), one of our
    own files: NaN and Infinity are refused.

    Raise ValueError if it is not one JSON document (UnicodeDecodeError included),
    RecursionError if it nests too deeply.
    """
    text = data.decode("utf-8") if isinstance(data, bytes) else data
    if _scan is None:
        import json

        return json.loads(text)
    return _parse(_scan, text)


def loads_document(data: bytes) -> Any:
    """Return ``json.loads(data)`` for a document from elsewhere (a server's answer).

    Bytes that json reads as UTF-8 (no byte order mark, no NUL in the first four bytes) are
    parsed here, with json's defaults (NaN and Infinity accepted, encoded surrogates passed
    through); anything else, and any document this parse refuses, goes to ``json.loads``
    itself, so that what it returns or raises is json's own (ValueError, RecursionError).
    """
    plain = not data.startswith(_NOT_PLAIN_UTF8) and b"\x00" not in data[:4]
    if _scan_document is not None and plain:
        try:
            return _parse(_scan_document, data.decode("utf-8", "surrogatepass"))
        except ValueError:
            pass  # json explains it in its own words, below
    import json

    return json.loads(data)


def _parse(scan: Callable[[str, int], tuple[Any, int]], text: str) -> Any:
    start = len(text) - len(text.lstrip(_WHITESPACE))
    try:
        value, end = scan(text, start)
    except StopIteration as exc:  # the scanner's "no value starts here"
        raise ValueError(f"not JSON: expecting a value at character {exc.value}") from None
    if text[end:].strip(_WHITESPACE):
        raise ValueError(f"not JSON: extra data at character {end}")
    return value


def dumps(value: Any, *, sort_keys: bool = False, indent: int | None = None) -> str:
    """Return ``value`` as JSON text, as ``json.dumps(value, sort_keys=sort_keys,
    indent=indent)`` writes it (``indent`` only without ``sort_keys``).

    Raise TypeError for a value JSON cannot hold, ValueError or RecursionError for a
    circular one.
    """
    if not _encoders:
        import json

        return json.dumps(value, sort_keys=sort_keys, indent=indent)
    if indent is None:
        return "".join(_encoders[sort_keys](value, 0))
    if sort_keys:
        raise ValueError("sorted keys with indentation are not written here")
    out: list[str] = []
    _Indented(out, " " * indent).write(value, 0)
    return "".join(out)


class _Indented:
    """json's indented layout: one member per line, ``","`` and ``": "`` separators, ASCII
    strings by the C accelerator, floats by ``float.__repr__`` (NaN and Infinity as json
    writes them), containers met again on the way down refused as circular."""

    def __init__(self, out: list[str], step: str) -> None:
        self.out, self.step = out, step
        self.open: set[int] = set()  # ids of the containers being written

    def write(self, value: Any, depth: int) -> None:
        if isinstance(value, str):
            self.out.append(_json.encode_basestring_ascii(value))
        elif isinstance(value, (list, tuple, dict)):
            self._container(value, depth)
        else:
            self.out.append(_scalar(value))

    def _container(self, value: list[Any] | tuple[Any, ...] | dict[Any, Any], depth: int) -> None:
        is_dict = isinstance(value, dict)
        if not value:
            self.out.append("{}" if is_dict else "[]")
            return
        if id(value) in self.open:
            raise ValueError("Circular reference detected")
        self.open.add(id(value))
        inner = "\n" + self.step * (depth + 1)
        self.out.append("{" if is_dict else "[")
        for number, item in enumerate(value.items() if is_dict else value):  # type: ignore[union-attr]
            self.out.append(inner if number == 0 else "," + inner)
            if is_dict:
                key, item = item
                self.out.append(_json.encode_basestring_ascii(_key(key)) + ": ")
            self.write(item, depth + 1)
        self.out.append("\n" + self.step * depth + ("}" if is_dict else "]"))
        self.open.discard(id(value))


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        if value != value:
            return "NaN"
        if value in (_INFINITY, -_INFINITY):
            return "Infinity" if value > 0 else "-Infinity"
        return float.__repr__(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _key(key: Any) -> str:
    if isinstance(key, str):
        return key
    if isinstance(key, (float, int)) or key is None:  # bool is an int
        return _scalar(key)
    raise TypeError(f"keys must be str, int, float, bool or None, not {type(key).__name__}")
