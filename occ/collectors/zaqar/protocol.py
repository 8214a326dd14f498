"""What both Zaqar transports share: the message a pop returns, and reading a pop answer.

The HTTP transport (``occ.collectors.zaqar.collector``) and the websocket transport
(``occ.collectors.zaqar.websocket``) receive the same ``{"messages": [...]}`` document.
"""

from __future__ import annotations

from occ.errors import SourceUnavailable

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, NamedTuple
else:
    from occ.records import NamedTuple


class Message(NamedTuple):
    id: str
    body: Any


def first_message(document: Any) -> Message | None:
    """Return the first message of a pop answer (``{"messages": [...]}``), or None if the
    list is empty.

    Raise SourceUnavailable if the answer has no ``messages`` list or the message no ``body``.
    """
    messages = document.get("messages") if isinstance(document, dict) else None
    if not isinstance(messages, list):
        raise SourceUnavailable("Zaqar's answer has no list of messages")
    if not messages:
        return None
    if not isinstance(messages[0], dict) or "body" not in messages[0]:
        raise SourceUnavailable("the message popped from Zaqar has no body")
    return Message(str(messages[0].get("id", "")), messages[0]["body"])
