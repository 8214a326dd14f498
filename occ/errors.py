"""The one error hierarchy of occ.

Every failure an operator can cause or fix is an ``OccError``; the CLI boundary
(``occ.cli.dispatch``) is the only place that catches them and maps them to exit statuses.
Source-level failures (``SourceNotConfigured``, ``SourceUnavailable``) never leave the pass: the
pass turns them into a per-source outcome and carries on with the other sources."""

from __future__ import annotations

TYPE_CHECKING = False  # collections costs an idle pass a sixth of its start-up
if TYPE_CHECKING:
    from collections.abc import Iterable


class OccError(Exception):
    """Base class. ``str(error)`` is one line an operator understands, without secrets."""


class ConfigError(OccError):
    """The configuration is invalid. Carries every problem found, one line each."""

    def __init__(self, problems: Iterable[str]) -> None:
        self.problems = tuple(problems)
        count = len(self.problems)
        head = (
            "invalid configuration" if count == 1 else f"invalid configuration ({count} problems)"
        )
        super().__init__(head + ":\n  " + "\n  ".join(self.problems))


class SourceNotConfigured(OccError):
    """A collector lacks required settings; it contributes nothing, quietly."""


class SourceUnavailable(OccError):
    """A configured source could not deliver a document (network, HTTP, I/O or parse failure).

    ``http_status`` is the HTTP status that decided the outcome, when there was one.
    """

    def __init__(self, reason: str, *, http_status: int | None = None) -> None:
        super().__init__(reason)
        self.http_status = http_status


class CacheError(OccError):
    """The cache, state or runtime directory cannot be used (missing parent, permissions, lock)."""


class CacheBusy(CacheError):
    """Another pass holds the cache lock for longer than this one is willing to wait."""


class HookError(OccError):
    """The hook cannot be started at all (as opposed to running and failing)."""
