"""The frozen configuration objects handed to the rest of the program.

``Config`` is built once per pass by ``occ.config.load`` and never changes afterwards. Each INI
section becomes a read-only ``Section`` with typed accessors; a collector receives only its own
section. Typed accessors raise ``KeyError`` for names not in the option table, so a misspelt
option name fails the first test that reaches it.
"""

from __future__ import annotations

# The very classes of collections.abc (which re-exports them), from the module the interpreter
# loaded at start-up: importing the collections package costs an idle pass a sixth of its
# start-up (doc/performance.rst).
from _collections_abc import Iterator, Mapping
from types import MappingProxyType

from occ.config.options import DEFAULT_GROUP, Value


class Section(Mapping[str, Value]):
    """The values of one INI section, read-only."""

    __slots__ = ("_values", "name")

    def __init__(self, name: str, values: Mapping[str, Value]) -> None:
        self.name = name
        self._values = MappingProxyType(dict(values))

    def __getitem__(self, key: str) -> Value:
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:  # never shows values: some are secrets
        return f"<Section [{self.name}] {', '.join(self._values)}>"

    def text(self, key: str) -> str | None:
        """Return a string option; None when unset. An empty string is a set value."""
        value = self._values[key]
        assert value is None or isinstance(value, str), key
        return value

    def number(self, key: str) -> float:
        value = self._values[key]
        assert isinstance(value, (int, float)) and not isinstance(value, bool), key
        return float(value)

    def integer(self, key: str) -> int:
        value = self._values[key]
        assert isinstance(value, int) and not isinstance(value, bool), key
        return value

    def flag(self, key: str) -> bool | None:
        """Return a boolean option; None only for booleans without a default."""
        value = self._values[key]
        assert value is None or isinstance(value, bool), key
        return value

    def items_of(self, key: str) -> tuple[str, ...]:
        """Return a multi-valued option as a tuple (empty when unset)."""
        value = self._values[key]
        assert value is None or isinstance(value, tuple), key
        return value or ()


class Config:
    """The whole configuration: ``files`` read, one ``Section`` per group, and ``notices``."""

    __slots__ = ("_sections", "files", "notices")

    def __init__(
        self, files: tuple[str, ...], sections: Mapping[str, Section], notices: tuple[str, ...] = ()
    ) -> None:
        self.files = files
        self._sections = MappingProxyType(dict(sections))
        # Unknown sections and keys, one line each: ignored, but worth telling the operator.
        self.notices = notices

    def section(self, group: str) -> Section:
        return self._sections[group]

    @property
    def general(self) -> Section:
        return self._sections[DEFAULT_GROUP]

    # The DEFAULT options that the core reads everywhere, typed.
    @property
    def command(self) -> str:
        """The hook command; empty when none is configured (print mode)."""
        return self.general.text("command") or ""

    @property
    def cachedir(self) -> str:
        return self.general.text("cachedir") or ""

    @property
    def backup_cachedir(self) -> str:
        return self.general.text("backup_cachedir") or ""

    @property
    def status_file(self) -> str:
        return self.general.text("status_file") or ""

    @property
    def metrics_file(self) -> str:
        return self.general.text("metrics_file") or ""

    @property
    def collectors(self) -> tuple[str, ...]:
        return self.general.items_of("collectors")

    @property
    def deployment_keys(self) -> tuple[str, ...]:
        return self.general.items_of("deployment_key")

    @property
    def hook_env_file(self) -> str:
        return self.general.text("hook_env_file") or ""
