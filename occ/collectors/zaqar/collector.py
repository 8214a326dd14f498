"""The zaqar collector: server metadata that Heat posts to a Zaqar queue.

Each pass pops one message (HTTP ``DELETE .../messages?pop=1``, or the websocket transport in
``occ.collectors.zaqar.websocket``) after a Keystone login shared with heat
(``occ.collectors.keystone.client``). A popped message is an event that exists nowhere else
afterwards, so its body is saved in zaqar's state (0600) at once, and that last body stays
zaqar's document on every later pass until a newer message arrives; a hook that failed on it is
therefore retried with it (doc/compatibility.rst, "zaqar collector"). Print mode never pops: it
shows the saved body, if any.

TLS is verified by default (system CAs, or ``ca_file``); only an explicit
``ssl_certificate_validation = false`` turns verification off for Zaqar, with a warning on
every pass (doc/compatibility.rst, "Zaqar TLS off"). Keystone is always verified.
"""

from __future__ import annotations

import json

from occ import urls
from occ.collectors import deployments
from occ.collectors.base import Collector
from occ.collectors.keystone.client import credentials, for_source
from occ.collectors.keystone.token_cache import Credentials
from occ.collectors.zaqar.protocol import Message, first_message
from occ.errors import CacheError, SourceNotConfigured, SourceUnavailable
from occ.log import lazy

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from occ.collectors.base import Output

LOG = lazy.logger(__name__)


def pop_url(endpoint: str, queue: str) -> str:
    """Return the v2 URL that pops one message from ``queue``."""
    return f"{endpoint.rstrip('/')}/v2/queues/{urls.quote(queue, safe='')}/messages?pop=1"


class ZaqarCollector(Collector):
    name = "zaqar"

    def collect(self) -> list[Output]:
        found = credentials(self.settings)
        queue = self.settings.text("queue_id")
        if not queue:
            raise SourceNotConfigured("no queue_id")
        source = {"auth_url": found.auth_url, "project_id": found.project_id, "queue_id": queue}
        saved = self._saved(source)
        if not self.context.store:
            if saved is None:
                raise SourceUnavailable("not popping the queue in print mode")
            LOG.debug("zaqar: print mode: showing the last message popped, without popping")
            return self._outputs(saved)
        message = self._pop(found, queue)
        if message is None:
            if saved is None:
                raise SourceUnavailable("the queue is empty")
            LOG.debug("zaqar: the queue is empty; the last message popped stays current")
            return self._outputs(saved)
        if not isinstance(message.body, dict):
            raise SourceUnavailable(f"message {message.id} is not a JSON object; it was dropped")
        self._save(source, message)
        return self._outputs(message.body)

    def _outputs(self, document: Any) -> list[Output]:
        return deployments.explode(self.name, document, self.context.config.deployment_keys)

    def _saved(self, source: dict[str, str]) -> Any:
        """Return the body of the last message popped from this very queue, or None."""
        state = self.context.state.load()
        if state.get("source") != source:
            return None
        if isinstance(state.get("body_json"), str):
            try:
                return json.loads(state["body_json"])
            except ValueError:
                return None
        return state.get("body")  # written by an earlier version: same content, sorted keys

    def _save(self, source: dict[str, str], message: Message) -> None:
        try:
            # As JSON text: state files are written with sorted keys, and a body re-read in
            # another key order would rewrite zaqar.json with other bytes on every later
            # pass although its content is the same.
            body_json = json.dumps(message.body)
            self.context.state.save({"source": source, "id": message.id, "body_json": body_json})
        except (OSError, CacheError) as exc:
            LOG.warning(
                "zaqar: cannot save popped message %s (%s); if the hook fails it is lost",
                message.id,
                exc,
            )

    def _pop(self, found: Credentials, queue: str) -> Message | None:
        settings = self.settings
        verify = self._verify()
        # Keystone is always verified, whatever ssl_certificate_validation says about Zaqar.
        client = for_source(self.context, settings, found, verify=self.tls_verify())
        region = settings.text("region_name")
        if not settings.flag("use_websockets"):
            return client.call(
                "messaging", region, lambda url, token: self._pop_http(url, token, queue, verify)
            )
        from occ.collectors.zaqar import websocket  # only websocket users need it

        if not websocket.available():  # normally caught earlier, as a configuration error
            raise SourceUnavailable(websocket.MISSING_PACKAGE)

        def pop_ws(url: str, token: str) -> Message | None:
            return websocket.pop(
                url,
                token,
                project_id=found.project_id,
                queue=queue,
                timeout=settings.number("timeout"),
                verify=verify,
                remaining=self.context.http.remaining,
                max_size=self.context.http.max_response_size,
            )

        return client.call("messaging-websocket", region, pop_ws)

    def _verify(self) -> bool | str:
        if self.settings.flag("ssl_certificate_validation") is False:
            LOG.warning(
                "zaqar: TLS certificate validation is off (ssl_certificate_validation = false); "
                "the queue server's identity is not checked"
            )
            return False
        return self.tls_verify()

    def _pop_http(
        self, endpoint: str, token: str, queue: str, verify: bool | str
    ) -> Message | None:
        import uuid  # deferred: a pass where this source is not configured must stay light

        project_id = self.settings.text("project_id") or ""
        response = self.context.http.request(
            "DELETE",
            pop_url(endpoint, queue),
            source=self.name,
            timeout=self.settings.number("timeout"),
            verify=verify,
            headers={
                "X-Auth-Token": token,
                "X-Project-Id": project_id,
                "Client-ID": uuid.uuid4().hex,
                "Content-Type": "application/json",
            },
        )
        if response.status == 204 or not response.body.strip():
            return None
        return first_message(response.json())
