"""The collector interface shared by every source.

A collector turns one source into an ordered list of ``(key, value)`` outputs. The first output
is ``(name, whole document)``; exploded deployments, local files and so on follow. Collectors
receive their settings, the HTTP layer and their persistent state through ``Context``; they
never read globals, create HTTP sessions, sleep, or write the cache.
"""

from __future__ import annotations

import os
import time

from occ.config.model import Config, Section

TYPE_CHECKING = False
if TYPE_CHECKING:  # only passes that need the network load occ.http.client
    from typing import Any, ClassVar

    from occ.core.state import State
    from occ.http.client import Http

    Output = tuple[str, Any]  # (cache key, any JSON value)


class Context:
    """What a collector may use during one pass.

    ``http`` is created on first use, so passes over local sources never import ``requests``.
    ``store`` is False in print mode: collectors must then avoid destructive reads (a Zaqar pop)
    and ``state`` does not persist anything.
    """

    def __init__(
        self, config: Config, *, state: State, store: bool, http_factory: Any | None = None
    ) -> None:
        self.config = config
        self.state = state
        self.store = store
        self._http_factory = http_factory
        self._http: Http | None = None
        # The pass deadline runs from here, as the watchdog's does, not from the first
        # network request: local sources that ran first have used part of the pass.
        self.started = time.monotonic()
        # Every file and directory the answers of this pass depended on, while they depended
        # on nothing else: then a later pass that finds them all unchanged has the same
        # answers (occ.run.idle). None once a source used the network or could not vouch.
        self.inputs: set[str] | None = set()

    @property
    def cachedir(self) -> str:
        return self.config.cachedir

    def depends_on(self, *paths: str) -> None:
        """Declare that this pass's answers depend on ``paths`` (files or directories, which
        need not exist): a ``settled_by_files`` source declares everything it reads."""
        if self.inputs is not None:
            self.inputs.update(paths)

    def unsettled(self) -> None:
        """Declare that this pass's answers depend on more than the files declared (the
        network, a mounted drive, something a log line reports): the next pass runs in full."""
        self.inputs = None

    def cached(self, key: str) -> Any:
        """Return ``<key>.json`` as an earlier pass stored it; None if there is none.

        Raise ValueError if it is not valid JSON, OSError if it cannot be read.
        """
        from occ.core.cache import Cache

        self.depends_on(os.path.join(self.cachedir, key + ".json"))

        return Cache(self.cachedir).read(key)

    @property
    def http(self) -> Http:
        self.unsettled()  # whatever a server says can change without any file changing
        if self._http is None:
            if self._http_factory is None:
                from occ.http.client import Http

                self._http = Http.for_config(self.config, started=self.started)
            else:
                self._http = self._http_factory()
        return self._http

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None


class Collector:
    """Base class: one source. Subclasses set ``name`` and implement ``collect``."""

    name: ClassVar[str]
    # True: the answer is a function of the settings and of the files the collector declares
    # with ``Context.depends_on`` (or tells ``Context.unsettled`` otherwise), so an idle pass
    # can be told by stat alone (occ.run.idle). False: every pass runs the collector.
    settled_by_files: ClassVar[bool] = False

    def __init__(self, settings: Section, context: Context) -> None:
        self.settings = settings
        self.context = context

    def collect(self) -> list[Output]:
        """Return this source's outputs, whole document first.

        Raise SourceNotConfigured if required settings are absent.
        Raise SourceUnavailable on network, I/O or parse failure (chaining the cause).
        Anything else is a bug and propagates.
        """
        raise NotImplementedError

    def tls_verify(self, option: str = "ca_file") -> str | bool:
        """Return how to verify this source's TLS certificates: the CA bundle that ``option``
        names, or True for the system's CAs. Never False: a source that lets an operator turn
        verification off does so explicitly, with a warning."""
        return self.settings.text(option) or True
