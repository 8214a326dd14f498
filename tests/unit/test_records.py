"""occ.records.NamedTuple builds the same classes as typing.NamedTuple's class form."""

from __future__ import annotations

import typing

import pytest

from occ import records


class Plain(records.NamedTuple):
    """A record."""

    name: str
    size: int = 0
    tags: tuple[str, ...] = ()

    def bigger(self, by: int) -> Plain:
        return self._replace(size=self.size + by)

    @property
    def empty(self) -> bool:
        return self.size == 0


class Typed(typing.NamedTuple):
    """A record."""

    name: str
    size: int = 0
    tags: tuple[str, ...] = ()


def test_fields_defaults_and_tuple_behaviour_match_typing():
    for cls in (Plain, Typed):
        item = cls("a")
        assert cls._fields == ("name", "size", "tags")
        assert item == ("a", 0, ()) and tuple(cls("b", 2, ("x",))) == ("b", 2, ("x",))
        assert item._asdict() == {"name": "a", "size": 0, "tags": ()}
        assert repr(item) == f"{cls.__name__}(name='a', size=0, tags=())"
        assert cls.__doc__ == "A record."
        assert cls.__module__ == __name__
        with pytest.raises(AttributeError):
            item.name = "b"  # type: ignore[misc]


def test_methods_and_properties_are_kept():
    assert Plain("a").bigger(2) == Plain("a", 2)
    assert Plain("a").empty and not Plain("a", 1).empty


def test_only_the_class_form_is_supported():
    with pytest.raises(TypeError):
        records.NamedTuple("Point", [("x", int)])


def test_arguments_are_checked_as_typing_checks_them():
    for cls in (Plain, Typed):
        with pytest.raises(TypeError):
            cls()  # a required field is missing
        with pytest.raises(TypeError):
            cls("a", 1, (), "extra")
        with pytest.raises(TypeError):
            cls("a", name="b")
        with pytest.raises(ValueError):
            cls("a")._replace(colour="red")
        assert cls._make(["a", 2, ()]) == cls("a", 2) == cls(name="a", size=2)
        with pytest.raises(TypeError):
            cls._make(["a", 2])
        assert cls("a", tags=("t",)).tags == ("t",)
