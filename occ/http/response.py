"""The response object of ``occ.http.client``: a complete, already size-checked answer.

Separate from ``occ.http.client`` so that code handling answers (and its tests) need not import
``requests``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

from occ import jsonio, redact
from occ.errors import SourceUnavailable

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_CHARSET = r"(?i)charset=[\"']?([\w.:-]+)"  # compiled on first use, by re


class Headers(Mapping[str, str]):
    """Response headers by case-insensitive name; a header sent more than once has its values
    joined with ``", "`` (RFC 9110, 5.3), as requests shows them."""

    def __init__(self, fields: Iterable[tuple[str, str]]) -> None:
        self._fields: dict[str, tuple[str, str]] = {}
        for name, value in fields:
            key = name.lower()
            if key in self._fields:
                value = f"{self._fields[key][1]}, {value}"
            self._fields[key] = (name, value)

    def __getitem__(self, name: str) -> str:
        return self._fields[name.lower()][1]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._fields

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self._fields.values())

    def __len__(self) -> int:
        return len(self._fields)


class Response:
    """A complete answer: ``status``, case-insensitive ``headers``, ``body`` bytes, ``url``."""

    def __init__(
        self, method: str, url: str, status: int, headers: Mapping[str, str], body: bytes
    ) -> None:
        self.method = method
        self.url = url
        self.status = status
        self.headers = headers
        self.body = body

    def what(self) -> str:
        """Return ``METHOD url`` for messages, redacted."""
        return redact.redact(f"{self.method} {self.url}")

    @property
    def text(self) -> str:
        """Return the body decoded with the declared charset (UTF-8 by default)."""
        import re  # only for a text answer (cfn's XML); a pass's JSON never asks

        match = re.search(_CHARSET, self.headers.get("Content-Type", ""))
        try:
            return self.body.decode(match.group(1) if match else "utf-8", errors="replace")
        except LookupError:
            return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """Return the body parsed as JSON (``json.loads`` defaults, as the original parses).

        Raise SourceUnavailable if the body is an HTML page (a proxy or portal error page) or
        not valid JSON.
        """
        content_type = self.headers.get("Content-Type", "").lower()
        if "html" in content_type or self.body.lstrip()[:1] == b"<":
            raise SourceUnavailable(
                f"{self.what()}: expected JSON, got an HTML page", http_status=self.status
            )
        try:
            return jsonio.loads_document(self.body)
        except RecursionError:
            raise SourceUnavailable(
                f"{self.what()}: JSON nested too deeply", http_status=self.status
            ) from None
        except ValueError as exc:
            reason = redact.redact(str(exc))
            raise SourceUnavailable(
                f"{self.what()}: response is not JSON ({reason})", http_status=self.status
            ) from None
