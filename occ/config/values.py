"""Turning raw option text into typed values, and ``$name`` interpolation.

Raw values come from files, the environment or the command line as text. Conversion follows
oslo.config's types, with occ's fixes: an empty value of a typed option (number, boolean, URI,
path) means "unset", and secrets never appear in a problem description.
"""

from __future__ import annotations

import math

from occ import urls
from occ.config import options
from occ.config.options import Opt, Value

TYPE_CHECKING = False  # typing costs an idle pass its start-up time again (occ.records)
if TYPE_CHECKING:
    from typing import Callable

_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0"})

# $$, $name and ${name}, where a name may be group.name; oslo.config's template syntax. A '$'
# that starts none of these is kept as it is (oslo.config substitutes "safely").
# Compiled on first use (re caches it): most configurations have no template, and every pass
# loads this module (doc/performance.rst).
_TEMPLATE = r"(?i)\$(?:(\$)|([_a-z][._a-z0-9]*)|\{([_a-z][._a-z0-9]*)\})"


class InvalidValueError(ValueError):
    """A value does not fit its option; the message is safe to show (no secret values)."""


def _show(opt: Opt, text: str) -> str:
    return "(value hidden)" if opt.secret else repr(text)


def convert(opt: Opt, text: str, *, written: str | None = None) -> Value:
    """Return the typed value of ``text`` for ``opt``.

    ``written`` is the value as the user wrote it, before interpolation: problem messages show
    that, never what a ``$name`` expanded to (it may have been a secret).
    Raise InvalidValueError if the text is not a valid value of the option's kind.
    """
    return _convert(opt, text, text if written is None else written)


def _convert(opt: Opt, text: str, written: str) -> Value:
    if text == "" and opt.kind not in (options.STR,):
        return opt.default if not opt.multi else None
    if opt.kind in (options.STR, options.PATH):
        return text
    if opt.kind == options.BOOL:
        lowered = text.lower()
        if lowered in _TRUE or lowered in _FALSE:
            return lowered in _TRUE
        raise InvalidValueError(
            f"not a boolean (true/false, yes/no, on/off, 1/0): {_show(opt, written)}"
        )
    if opt.kind == options.URI:
        return _uri(opt, text, written)
    if opt.kind == options.CHOICE:
        if text not in opt.choices:
            raise InvalidValueError(
                f"must be one of {', '.join(opt.choices)}: {_show(opt, written)}"
            )
        return text
    return _number(opt, text, written)


def _uri(opt: Opt, text: str, written: str) -> str:
    try:
        scheme, hostname = uri_scheme_and_host(text)
    except ValueError:  # an unclosed IPv6 bracket, a port that is not a number
        scheme, hostname = "", None
    if not scheme or not hostname:
        raise InvalidValueError(f"not a URL (needs a scheme and a host): {_show(opt, written)}")
    return text


def uri_scheme_and_host(text: str) -> tuple[str, str | None]:
    """Return the scheme and the host of ``text`` exactly as ``urllib.parse.urlsplit`` reads
    them (lower-cased; None for no host). Raise ValueError where it raises (a bracket without
    its pair, a port that is not a number from 0 to 65535).

    Configurations hold a few URLs and an idle pass validates them all: ``occ.urls`` reads the
    plain ones without importing urllib.parse (re and ipaddress, a tenth of that pass's
    start-up). A property test holds the answers to urlsplit's.
    """
    parts = urls.split(text)
    parts.port  # noqa: B018 - raises ValueError for a malformed port
    return parts.scheme, parts.hostname


def _number(opt: Opt, text: str, written: str) -> Value:
    try:
        number = int(text) if opt.kind == options.INT else float(text)
    except ValueError:
        kind = "an integer" if opt.kind == options.INT else "a number"
        raise InvalidValueError(f"not {kind}: {_show(opt, written)}") from None
    if isinstance(number, float) and not math.isfinite(number):
        raise InvalidValueError(f"not a finite number: {_show(opt, written)}")
    if opt.minimum is not None and number < opt.minimum:
        raise InvalidValueError(f"must be at least {opt.minimum:g}: {_show(opt, written)}")
    return number


def as_text(value: Value) -> str:
    """Return how a typed value reads when interpolated into another (oslo: ``str()``)."""
    if value is None:
        return ""
    if isinstance(value, tuple):
        return str(list(value))
    return str(value)


def interpolate(opt: Opt, text: str, lookup: Callable[[str], str | None]) -> str:
    """Replace ``$name``/``${name}`` in ``text`` using ``lookup``; ``$$`` and ``\\$`` are a
    literal ``$``, and a ``$`` that starts no name stays as it is.

    ``lookup(name)`` returns the replacement text, or None when no such option exists.
    Raise InvalidValueError for an unknown name (without quoting a secret value's text).
    """
    if "$" not in text:
        return text
    text = text.replace("\\$", "$$")  # oslo.config reads \$ as $$

    import re  # only a value with a $template gets here

    def replace(match: re.Match[str]) -> str:
        dollar, name, braced = match.groups()
        if dollar:
            return "$"
        found = lookup(name or braced)
        if found is None:
            shown = "a $ reference" if opt.secret else f"${name or braced}"
            raise InvalidValueError(
                f"{shown} names no option (write $$ for a literal dollar sign, "
                "e.g. $${OS_CONFIG_FILES})"
            )
        return found

    return re.sub(_TEMPLATE, replace, text)


def split_reference(reference: str, group: str) -> tuple[str, str]:
    """Return (group, name) for ``name`` or ``group.name`` seen from ``group``."""
    if "." in reference:
        ref_group, _, name = reference.partition(".")
        return ref_group, name
    return group, reference
