"""``NamedTuple`` for the modules an idle pass loads, without importing ``typing`` at run time.

Importing ``typing`` costs a new process about as much as the interpreter's own start-up
(doc/performance.rst, "Import time"), and the timer starts one every 30 seconds. At run time
``typing.NamedTuple`` is a thin layer over ``collections.namedtuple``; this is the same for the
class form only (``class Name(NamedTuple):`` with annotated fields, trailing defaults, a
docstring and methods), built without importing ``collections``. Modules import
``typing.NamedTuple`` instead under ``TYPE_CHECKING``, so type checkers see the real thing::

    TYPE_CHECKING = False
    if TYPE_CHECKING:
        from typing import NamedTuple
    else:
        from occ.records import NamedTuple
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

# Class-body names that describe the class itself rather than being copied onto it.
_SKIPPED = frozenset({"__annotations__", "__module__", "__qualname__", "__dict__", "__weakref__"})


def _field(index: int, name: str) -> property:
    return property(lambda self: self[index], doc=f"Alias for field number {index} ({name})")


def _build(name: str, fields: tuple[str, ...], defaults: tuple[Any, ...]) -> type:
    """Return a tuple subclass with ``fields`` (the last ones defaulting to ``defaults``), as
    ``collections.namedtuple`` would build it; not that function itself, whose module
    (``collections``) costs an idle pass a sixth of the interpreter's start-up."""
    required = len(fields) - len(defaults)

    def __new__(cls: type, *args: Any, **kwargs: Any) -> Any:  # noqa: N807 - the class's own
        if len(args) > len(fields):
            raise TypeError(f"{name}() takes {len(fields)} arguments but {len(args)} were given")
        values = list(args)
        for index in range(len(args), len(fields)):
            if fields[index] in kwargs:
                values.append(kwargs.pop(fields[index]))
            elif index >= required:
                values.append(defaults[index - required])
            else:
                raise TypeError(f"{name}() missing required argument: {fields[index]!r}")
        if kwargs:
            raise TypeError(f"{name}() got unexpected or repeated arguments: {', '.join(kwargs)}")
        return tuple.__new__(cls, values)

    def _make(cls: type, iterable: Any) -> Any:
        made: tuple[Any, ...] = tuple.__new__(cls, iterable)
        if len(made) != len(fields):
            raise TypeError(f"Expected {len(fields)} arguments, got {len(made)}")
        return made

    def _replace(self: tuple[Any, ...], **changes: Any) -> Any:
        values = [changes.pop(f, v) for f, v in zip(fields, self)]
        if changes:
            raise ValueError(f"got unexpected field names: {', '.join(changes)}")
        return type(self)(*values)

    def _asdict(self: tuple[Any, ...]) -> dict[str, Any]:
        return dict(zip(fields, self))

    def __repr__(self: tuple[Any, ...]) -> str:  # noqa: N807 - the class's own
        shown = ", ".join(f"{f}={v!r}" for f, v in zip(fields, self))
        return f"{type(self).__name__}({shown})"

    def __getnewargs__(self: tuple[Any, ...]) -> tuple[Any, ...]:  # noqa: N807 - likewise
        return tuple(self)

    namespace: dict[str, Any] = {
        "__slots__": (),
        "__new__": __new__,
        "__repr__": __repr__,
        "__getnewargs__": __getnewargs__,
        "__match_args__": fields,
        "_fields": fields,
        "_field_defaults": dict(zip(fields[required:], defaults)),
        "_make": classmethod(_make),
        "_replace": _replace,
        "_asdict": _asdict,
    }
    for index, field in enumerate(fields):
        namespace[field] = _field(index, field)
    return type(name, (tuple,), namespace)


class _NamedTupleMeta(type):
    def __new__(mcs, name: str, bases: tuple[type, ...], namespace: dict[str, Any]) -> type:
        annotations: dict[str, Any] = dict(namespace.get("__annotations__", {}))
        fields = tuple(annotations)
        defaults = tuple(namespace[field] for field in fields if field in namespace)
        built = _build(name, fields, defaults)
        for key, value in namespace.items():
            if key not in fields and key not in _SKIPPED:
                setattr(built, key, value)
        built.__annotations__ = annotations
        built.__module__ = namespace.get("__module__", built.__module__)
        built.__qualname__ = namespace.get("__qualname__", name)
        return built


_Root = type.__new__(_NamedTupleMeta, "NamedTuple", (), {})


def NamedTuple(*args: object, **kwargs: object) -> None:  # noqa: N802 - typing's spelling
    """Only the class form is supported: ``class Name(NamedTuple): ...``."""
    raise TypeError("occ.records.NamedTuple supports only the class form")


def _mro_entries(bases: tuple[object, ...]) -> tuple[type, ...]:
    return (_Root,)


NamedTuple.__mro_entries__ = _mro_entries  # type: ignore[attr-defined]
