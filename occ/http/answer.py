"""Reading an answer, the same way on both paths of ``occ.http`` (``occ.http.plain`` and
``occ.http.hop``): the status is judged before the body is read (error pages are not needed),
and the body is read in small pieces, up to the size cap, with the attempt's deadline checked
between them. Nothing here imports an HTTP library.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping

from occ.errors import SourceUnavailable
from occ.http import retry
from occ.http.deadline import Deadline, Retryable, late

TYPE_CHECKING = False
if TYPE_CHECKING:
    import datetime

CHUNK = 8 * 1024  # small reads: the deadline is checked between them


def check_status(
    what: str,
    status: int,
    reason: str,
    headers: Mapping[str, str],
    accept: Collection[int],
    now: Callable[[], datetime.datetime],
) -> None:
    """Raise SourceUnavailable (or Retryable, for 429 and 5xx) for a status >= 400 that is not
    in ``accept``."""
    if status < 400 or status in accept:
        return
    error = SourceUnavailable(f"{what}: HTTP {status} {reason or ''}".rstrip(), http_status=status)
    if retry.is_transient_status(status):
        raise Retryable(error, retry.retry_after(headers.get("Retry-After"), now()))
    raise error


def read_capped(
    what: str,
    chunks: Iterator[bytes],
    *,
    status: int,
    headers: Mapping[str, str],
    budget: float,
    cut: Deadline,
    cap: int,
) -> bytes:
    """Return the body that ``chunks`` yields, at most ``cap`` bytes of it. Raise
    SourceUnavailable if it is larger (declared or read), or Retryable if the time ran out.
    Errors of the connection itself are the caller's to map."""
    too_big = SourceUnavailable(
        f"{what}: response larger than max_response_size ({cap} bytes)", http_status=status
    )
    declared = headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > cap:
        raise too_big
    parts: list[bytes] = []
    size = 0
    for chunk in chunks:
        size += len(chunk)
        if size > cap:
            raise too_big
        if cut.expired:  # the last read may have come in just before the cut
            raise late(what, budget)
        parts.append(chunk)
    return b"".join(parts)
