"""The response object of ``occ.http.client``: a complete, already size-checked answer.

Separate from ``occ.http.client`` so that code handling answers (and its tests) need not import
``requests``.
"""

from __future__ import annotations

import json as jsonlib
import re
from collections.abc import Mapping
from typing import Any

from occ import redact
from occ.errors import SourceUnavailable

_CHARSET = r"(?i)charset=[\"']?([\w.:-]+)"  # compiled on first use, by re


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
            return jsonlib.loads(self.body)
        except RecursionError:
            raise SourceUnavailable(
                f"{self.what()}: JSON nested too deeply", http_status=self.status
            ) from None
        except ValueError as exc:
            reason = redact.redact(str(exc))
            raise SourceUnavailable(
                f"{self.what()}: response is not JSON ({reason})", http_status=self.status
            ) from None
