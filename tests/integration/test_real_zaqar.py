"""The zaqar collector against real Zaqar (redis store, keystone auth) over HTTP and the
websocket transport, and heat and zaqar sharing one Keystone login.

Queue state is read back from Zaqar's own API; login counts come from Keystone's request log
and count only the program's requests (tests/integration/services.py ``RequestLog.program``).
"""

from __future__ import annotations

import subprocess
import time
import uuid

import pytest

from tests.integration.deployment import METADATA, login

pytestmark = pytest.mark.integration

TRANSPORTS = pytest.mark.parametrize("websocket", [False, True], ids=["http", "websocket"])


def new_queue() -> str:
    return f"occ-{uuid.uuid4().hex[:12]}"


def queued(zaqar, queue: str) -> list:
    """Return the bodies of the messages in ``queue`` (read, not claimed or deleted)."""
    status, answer = zaqar.zaqar_api("GET", f"/v2/queues/{queue}/messages?echo=true&limit=10")
    assert status in (200, 204), (status, answer)
    return [message["body"] for message in (answer or {}).get("messages", [])]


def configure(instance, queue: str, websocket: bool, **more) -> None:
    instance.configure(
        "zaqar", zaqar={"queue_id": queue, "use_websockets": str(websocket).lower(), **more}
    )


@TRANSPORTS
def test_a_pass_pops_the_message_and_logs_in_once(instance, zaqar, websocket):
    queue = new_queue()
    zaqar.post_message(queue, {"deployments": [], "value": 1})
    configure(instance, queue, websocket)
    mark = zaqar.keystone.log.mark()

    instance.one_time()

    assert instance.cached("zaqar") == {"deployments": [], "value": 1}
    assert queued(zaqar, queue) == []  # popped: gone from the queue
    assert len(zaqar.keystone.program_logins(mark)) == 1


def test_the_empty_queue_answer_is_the_one_the_program_and_the_fake_expect(zaqar):
    # Real Zaqar answers a pop of an empty (or never used) queue with 200 and an empty list,
    # as tests/fakes/zaqar.py does; the program also accepts 204.
    status, answer = zaqar.zaqar_api("DELETE", f"/v2/queues/{new_queue()}/messages?pop=1")
    assert (status, answer) == (200, {"messages": []})


@TRANSPORTS
def test_an_empty_queue_is_unavailable_first_then_keeps_the_last_message(
    instance, zaqar, websocket
):
    queue = new_queue()
    # Generous: real Zaqar checks the token with Keystone before its first reply, which took
    # more than 2 s on a slow machine; an empty queue is answered at once all the same.
    configure(instance, queue, websocket, timeout=10)

    result = instance.one_time(check=None)  # nothing popped yet, nothing to keep

    assert "the queue is empty" in result.stderr, result.stderr
    assert not (instance.cachedir / "zaqar.json").exists()

    zaqar.post_message(queue, {"value": 2})
    instance.one_time()
    assert instance.cached("zaqar") == {"value": 2}

    result = instance.one_time()  # empty again: the last message stays current
    assert instance.cached("zaqar") == {"value": 2}
    assert "WARNING" not in result.stderr
    assert "no change" in result.stderr


def test_the_websocket_waits_for_a_subscription_notification(instance, zaqar):
    queue = new_queue()
    configure(instance, queue, True, timeout=30)
    started = time.monotonic()
    process = instance.run.popen(
        "--config-file",
        str(instance.config),
        "--one-time",
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # The program subscribes, pops (nothing), then waits; post once it is subscribed.
        deadline = time.monotonic() + 20
        while not subscriptions(zaqar, queue):
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "the program never subscribed"
            time.sleep(0.1)
        time.sleep(1.0)  # let its pop of the empty queue go first
        zaqar.post_message(queue, {"notified": True})
        _, stderr = process.communicate(timeout=25)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, stderr
    assert time.monotonic() - started < 25  # it did not wait out its 30 s timeout
    assert instance.cached("zaqar") == {"notified": True}
    # A notification carries a copy: the message is still queued, so it was not popped.
    assert queued(zaqar, queue) == [{"notified": True}]


def subscriptions(zaqar, queue: str) -> list:
    status, answer = zaqar.zaqar_api("GET", f"/v2/queues/{queue}/subscriptions")
    assert status in (200, 204), (status, answer)
    return (answer or {}).get("subscriptions", [])


@TRANSPORTS
def test_a_revoked_token_leads_to_exactly_one_new_login(instance, zaqar, websocket):
    queue = new_queue()
    configure(instance, queue, websocket, timeout=2)
    zaqar.post_message(queue, {"value": "first"})
    instance.one_time()
    revoked = instance.cached_login()["token"]
    zaqar.revoke(revoked)
    zaqar.post_message(queue, {"value": "second"})
    mark = zaqar.keystone.log.mark()

    result = instance.one_time()

    assert len(zaqar.keystone.program_logins(mark)) == 1
    assert instance.cached("zaqar") == {"value": "second"}
    assert instance.cached_login()["token"] != revoked
    assert "WARNING" not in result.stderr


def test_heat_and_zaqar_share_one_login(instance, zaqar):
    queue = new_queue()
    zaqar.post_message(queue, {"value": "shared"})
    instance.configure("heat", "zaqar", zaqar={"queue_id": queue})
    mark = zaqar.keystone.log.mark()

    instance.one_time()

    assert len(zaqar.keystone.program_logins(mark)) == 1
    assert len(instance.token_caches()) == 1
    assert instance.cached("zaqar") == {"value": "shared"}
    assert instance.cached("heat") == {**METADATA, "served_by": "RegionOne"}

    mark = zaqar.keystone.log.mark()
    zaqar.post_message(queue, {"value": "again"})
    instance.one_time()
    assert zaqar.keystone.program_logins(mark) == []
    assert instance.cached("zaqar") == {"value": "again"}


def exchange(url: str, token: str, project_id: str, post) -> list:
    """Return (status, body) of each reply in the program's websocket sequence, a rejected
    token and a request before authentication included, then the notification that
    ``post(queue)`` triggers."""
    import json

    import websocket

    queue = new_queue()
    connection = websocket.create_connection(url, timeout=10)
    headers = {"Client-ID": uuid.uuid4().hex, "X-Project-ID": project_id}
    replies = []
    try:
        for action, body, extra in [
            ("authenticate", {}, {"X-Auth-Token": "not-a-token"}),
            ("queue_create", {"queue_name": queue}, {}),
            ("authenticate", {}, {"X-Auth-Token": token}),
            ("queue_create", {"queue_name": queue}, {}),
            ("subscription_create", {"queue_name": queue, "ttl": 100}, {}),
            ("message_delete_many", {"queue_name": queue, "pop": 1}, {}),
        ]:
            frame = {"action": action, "headers": {**headers, **extra}, "body": body}
            connection.send(json.dumps(frame))
            reply = json.loads(connection.recv())
            assert reply["request"]["action"] == action
            replies.append((reply["headers"]["status"], reply["body"]))
        post(queue)
        replies.append(json.loads(connection.recv()))
    finally:
        connection.close()
    return replies


def test_the_fake_websocket_answers_as_real_zaqar_does(zaqar):
    """What the program relies on in websocket replies: statuses, the empty pop, and a
    notification frame (no ``request``, the message ``body``). tests/fakes/zaqar.py was
    fixed to match: queue_create answers with a plain string, subscription_create adds a
    message, and a notification carries the message's ttl."""
    from tests.fakes.keystone import FakeKeystone
    from tests.fakes.zaqar import FakeZaqarWebsocket

    token, _ = zaqar.keystone.login(zaqar.user_id, zaqar.password, zaqar.project_id)
    real = exchange(
        f"ws://127.0.0.1:{zaqar.zaqar_ws_port}",
        token,
        zaqar.project_id,
        lambda queue: zaqar.post_message(queue, {"x": 1}),
    )
    with FakeKeystone() as keystone, FakeZaqarWebsocket(keystone) as fake_zaqar:
        fake = exchange(
            fake_zaqar.url,
            login(keystone.url, keystone.user_id, keystone.password, keystone.project_id)[0],
            keystone.project_id,
            lambda queue: fake_zaqar.queues.post(queue, {"x": 1}, ttl=600),
        )

    def shape(replies):
        *answers, notification = replies
        keys = lambda body: sorted(body) if isinstance(body, dict) else type(body).__name__  # noqa: E731
        return [(status, keys(body)) for status, body in answers], sorted(notification)

    assert shape(fake) == shape(real)
    assert real[5] == (200, {"messages": []})
    assert real[-1]["body"] == {"x": 1}
