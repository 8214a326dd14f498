"""Turning raw option text into typed values, and ``$name`` interpolation.

Raw values come from files, the environment or the command line as text. Conversion follows
oslo.config's types, with occ's fixes: an empty value of a typed option (number, boolean, URI,
path) means "unset", and secrets never appear in a problem description.
"""

from __future__ import annotations

import math
import re
from typing import Callable

from occ import options
from occ.options import Opt, Value

_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0"})

# $name, ${name}, ${group.name} and $$, as oslo.config's template syntax has them.
_TEMPLATE_RE = re.compile(r"\$(?:(\$)|([_a-z][_a-z0-9]*)|\{([_a-z][._a-z0-9]*)\}|(.?))", re.I)


class InvalidValueError(ValueError):
    """A value does not fit its option; the message is safe to show (no secret values)."""


def _show(opt: Opt, text: str) -> str:
    return "(value hidden)" if opt.secret else repr(text)


def convert(opt: Opt, text: str) -> Value:
    """Return the typed value of ``text`` for ``opt``.

    Raise InvalidValueError if the text is not a valid value of the option's kind.
    """
    if text == "" and opt.kind not in (options.STR,):
        return opt.default if not opt.multi else None
    if opt.kind in (options.STR, options.PATH):
        return text
    if opt.kind == options.BOOL:
        lowered = text.lower()
        if lowered in _TRUE or lowered in _FALSE:
            return lowered in _TRUE
        raise InvalidValueError(
            f"not a boolean (true/false, yes/no, on/off, 1/0): {_show(opt, text)}"
        )
    if opt.kind == options.URI:
        return _uri(opt, text)
    if opt.kind == options.CHOICE:
        if text not in opt.choices:
            raise InvalidValueError(f"must be one of {', '.join(opt.choices)}: {text!r}")
        return text
    return _number(opt, text)


def _uri(opt: Opt, text: str) -> str:
    from urllib.parse import urlsplit  # costs ~2 ms of start-up; only URI values need it

    try:
        parts = urlsplit(text)
        hostname = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError:
        hostname = None
    if not parts.scheme or not hostname:
        raise InvalidValueError(f"not a URL (needs a scheme and a host): {_show(opt, text)}")
    return text


def _number(opt: Opt, text: str) -> Value:
    try:
        number = int(text) if opt.kind == options.INT else float(text)
    except ValueError:
        kind = "an integer" if opt.kind == options.INT else "a number"
        raise InvalidValueError(f"not {kind}: {_show(opt, text)}") from None
    if isinstance(number, float) and not math.isfinite(number):
        raise InvalidValueError(f"not a finite number: {text!r}")
    if opt.minimum is not None and number < opt.minimum:
        raise InvalidValueError(f"must be at least {opt.minimum:g}: {text!r}")
    return number


def as_text(value: Value) -> str:
    """Return how a typed value reads when interpolated into another (oslo: ``str()``)."""
    if value is None:
        return ""
    if isinstance(value, tuple):
        return str(list(value))
    return str(value)


def interpolate(opt: Opt, text: str, lookup: Callable[[str], str | None]) -> str:
    """Replace ``$name``/``${name}`` in ``text`` using ``lookup``; ``$$`` is a literal ``$``.

    ``lookup(name)`` returns the replacement text, or None when no such option exists.
    Raise InvalidValueError for an unknown name or a ``$`` that starts no name.
    """
    if "$" not in text:
        return text

    def replace(match: re.Match[str]) -> str:
        dollar, name, braced, bad = match.groups()
        if dollar:
            return "$"
        if bad is not None:
            raise InvalidValueError(
                "'$' must start $name or ${name}; write $$ for a literal dollar sign"
            )
        found = lookup(name or braced)
        if found is None:
            raise InvalidValueError(
                f"${name or braced} names no option (write $$ for a literal dollar "
                "sign, e.g. $${OS_CONFIG_FILES})"
            )
        return found

    return _TEMPLATE_RE.sub(replace, text)


def split_reference(reference: str, group: str) -> tuple[str, str]:
    """Return (group, name) for ``name`` or ``group.name`` seen from ``group``."""
    if "." in reference:
        ref_group, _, name = reference.partition(".")
        return ref_group, name
    return group, reference
