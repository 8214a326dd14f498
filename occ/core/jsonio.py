"""JSON for the files every pass reads and writes, without the cost of importing ``json``.

``import json`` compiles regular expressions at import time (``json.decoder``,
``json.encoder``), which costs a new process about 0.7 times the interpreter's own start-up on
the units' Python (doc/performance.rst, "Import time"). The parsing and encoding themselves are
done by ``json``'s C accelerator, ``_json``, which imports nothing; this module drives it
directly, with the same options as ``json.loads`` and ``json.dumps`` (ASCII output, ``", "`` and
``": "`` separators), and falls back to ``json`` where ``_json`` is missing. The results are the
same, which tests/unit/test_jsonio.py checks.
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


def _refuse(value: object) -> Any:
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


_scan: Callable[[str, int], tuple[Any, int]] | None = None
_encoders: dict[bool, Callable[[Any, int], Any]] = {}
try:
    _scan = _json.make_scanner(_DecoderSettings())  # type: ignore[arg-type]
    for _sort in (False, True):
        _encoders[_sort] = _json.make_encoder(
            None, _refuse, _json.encode_basestring_ascii, None, ": ", ", ", _sort, False, True
        )
except (AttributeError, TypeError):  # no _json, or one whose private API has changed
    _scan = None
    _encoders.clear()


def loads(data: str | bytes) -> Any:
    """Return the value of the JSON document ``data`` (bytes are read as UTF-8).

    Raise ValueError if it is not one JSON document (UnicodeDecodeError included),
    RecursionError if it nests too deeply.
    """
    text = data.decode("utf-8") if isinstance(data, bytes) else data
    if _scan is None:
        import json

        return json.loads(text)
    start = len(text) - len(text.lstrip(_WHITESPACE))
    try:
        value, end = _scan(text, start)
    except StopIteration as exc:  # the scanner's "no value starts here"
        raise ValueError(f"not JSON: expecting a value at character {exc.value}") from None
    if text[end:].strip(_WHITESPACE):
        raise ValueError(f"not JSON: extra data at character {end}")
    return value


def dumps(value: Any, *, sort_keys: bool = False) -> str:
    """Return ``value`` as JSON text, as ``json.dumps(value, sort_keys=sort_keys)`` writes it.

    Raise TypeError for a value JSON cannot hold, RecursionError for a circular one.
    """
    if not _encoders:
        import json

        return json.dumps(value, sort_keys=sort_keys)
    return "".join(_encoders[sort_keys](value, 0))
