"""``NamedTuple`` for the modules an idle pass loads, without importing ``typing`` at run time.

Importing ``typing`` costs a new process about as much as the interpreter's own start-up
(doc/performance.rst, "Import time"), and the timer starts one every 30 seconds. At run time
``typing.NamedTuple`` is a thin layer over ``collections.namedtuple``; this is the same layer for
the class form only: ``class Name(NamedTuple):`` with annotated fields, trailing defaults, a
docstring and methods. Modules import ``typing.NamedTuple`` instead under ``TYPE_CHECKING``, so
type checkers see the real thing::

    TYPE_CHECKING = False
    if TYPE_CHECKING:
        from typing import NamedTuple
    else:
        from occ.records import NamedTuple
"""

from __future__ import annotations

import collections

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

# Class-body names that describe the class itself rather than being copied onto it.
_SKIPPED = frozenset({"__annotations__", "__module__", "__qualname__", "__dict__", "__weakref__"})


class _NamedTupleMeta(type):
    def __new__(mcs, name: str, bases: tuple[type, ...], namespace: dict[str, Any]) -> type:
        annotations: dict[str, Any] = dict(namespace.get("__annotations__", {}))
        fields = tuple(annotations)
        defaults = tuple(namespace[field] for field in fields if field in namespace)
        make: Any = collections.namedtuple  # its arguments are computed, not literals
        built: type = make(name, fields, defaults=defaults, module=namespace.get("__module__"))
        for key, value in namespace.items():
            if key not in fields and key not in _SKIPPED:
                setattr(built, key, value)
        built.__annotations__ = annotations
        built.__qualname__ = namespace.get("__qualname__", name)
        return built


_Root = type.__new__(_NamedTupleMeta, "NamedTuple", (), {})


def NamedTuple(*args: object, **kwargs: object) -> None:  # noqa: N802 - typing's spelling
    """Only the class form is supported: ``class Name(NamedTuple): ...``."""
    raise TypeError("occ.records.NamedTuple supports only the class form")


def _mro_entries(bases: tuple[object, ...]) -> tuple[type, ...]:
    return (_Root,)


NamedTuple.__mro_entries__ = _mro_entries  # type: ignore[attr-defined]
