"""A small real OpenStack deployment on 127.0.0.1: Keystone, a Heat-shaped metadata endpoint
behind keystonemiddleware, redis and Zaqar (HTTP and websocket), each a process started from
the service virtualenv (tests/integration/services.py).

Keystone is bootstrapped with keystone-manage (sqlite, fernet tokens), then the suite, as the
admin, creates the program's project and user and the catalog::

    orchestration        RegionOne public    http://127.0.0.1:H/RegionOne/v1/%(tenant_id)s
                         RegionOne internal  http://127.0.0.1:H/internal/v1/%(tenant_id)s
                         RegionOne admin     http://127.0.0.1:H/admin/v1/%(tenant_id)s
                         RegionTwo public    http://127.0.0.1:H/RegionTwo/v1/%(tenant_id)s
    messaging            RegionOne public    http://127.0.0.1:Z
                         RegionOne internal, admin: a closed port
    messaging-websocket  RegionOne public    ws://127.0.0.1:W
                         RegionOne internal, admin: a closed port

The Heat-shaped endpoint answers under any prefix and says which one in ``served_by``, so a
test sees which catalog entry the program chose.
"""

from __future__ import annotations

import grp
import json
import os
import pwd
import secrets
import textwrap
import uuid
from pathlib import Path
from typing import Any

from tests.integration.services import (
    Process,
    RequestLog,
    api,
    free_port,
    http_answers,
    port_open,
    run_tool,
)

ADMIN = "admin"
STACK_NAME = "occ-stack"
STACK_ID = "2c5d1f3e-8a7b-4c6d-9e0f-1a2b3c4d5e6f"
RESOURCE = "server"
METADATA = {
    "os-collect-config": {"polling_interval": 30},
    "deployments": [{"name": "first", "group": "script", "inputs": [], "config": "echo hi"}],
}


def login(url: str, user_id: str, password: str, project_id: str) -> tuple[str, dict[str, Any]]:
    """Log in to the Keystone at ``url`` as the test suite; return the token and the token
    document."""
    status, headers, body = api(
        "POST",
        url + "/v3/auth/tokens",
        body={
            "auth": {
                "identity": {
                    "methods": ["password"],
                    "password": {"user": {"id": user_id, "password": password}},
                },
                "scope": {"project": {"id": project_id}},
            }
        },
    )
    assert status == 201, (status, body)
    return headers["X-Subject-Token"], body["token"]


class Keystone:
    """One Keystone process. ``url`` is its root (http://127.0.0.1:PORT)."""

    def __init__(self, python: Path, workdir: Path, name: str, *, expiration: int) -> None:
        self.python = python
        self.workdir = workdir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = RequestLog(workdir / f"{name}-requests.jsonl")
        self.config = workdir / f"{name}.conf"
        self.config.write_text(
            textwrap.dedent(f"""\
            [database]
            connection = sqlite:///{workdir}/keystone.db
            [token]
            provider = fernet
            expiration = {expiration}
            [fernet_tokens]
            key_repository = {workdir}/fernet-keys
            [fernet_receipts]
            key_repository = {workdir}/fernet-receipts
            [credential]
            key_repository = {workdir}/credential-keys
            [identity]
            # cheap password hashing: every login checks a password
            password_hash_rounds = 4
            [cache]
            enabled = false
            """)
        )
        self.env = {"OS_KEYSTONE_CONFIG_FILES": str(self.config)}
        self.process: Process | None = None

    def manage(self, *args: str) -> None:
        manage = str(self.python.parent / "keystone-manage")
        run_tool([manage, "--config-file", str(self.config), *args], env=self.env, cwd=self.workdir)

    def start(self) -> None:
        script = str(Path(__file__).parent / "servers" / "keystone_app.py")
        argv = [str(self.python), script, str(self.port), str(self.log.path)]
        self.process = Process(self.config.stem, argv, self.workdir, self.env)
        self.process.wait_ready(lambda: http_answers(self.url + "/v3"))

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()

    def login(self, user_id: str, password: str, project_id: str) -> tuple[str, dict[str, Any]]:
        """Log in as the test suite; return the token and the token document."""
        return login(self.url, user_id, password, project_id)

    def program_logins(self, mark: int) -> list[dict[str, Any]]:
        """The program's ``POST /v3/auth/tokens`` since ``mark``, from Keystone's request log."""
        return [
            r
            for r in self.log.program(mark)
            if r["method"] == "POST" and r["path"].rstrip("/") == "/v3/auth/tokens"
        ]


class Deployment:
    """Everything the program talks to, and the credentials it is given."""

    def __init__(self, python: Path, workdir: Path) -> None:
        self.python = python
        self.workdir = workdir
        self.admin_password = secrets.token_urlsafe(16)
        self.password = secrets.token_urlsafe(18)  # the program's
        self.heat_port = free_port()
        self.zaqar_port = free_port()
        self.zaqar_ws_port = free_port()
        self.notification_port = free_port()
        self.closed_port = free_port()  # nothing ever listens here
        self.redis_port = free_port()
        self.keystone = Keystone(python, workdir, "keystone", expiration=3600)
        self.processes: list[Process] = []
        self.user_id = self.project_id = self.admin_id = self.admin_project_id = ""
        self.heat_log = RequestLog(workdir / "heat-requests.jsonl")
        self._short: Keystone | None = None
        self.zaqar_started = False

    # -- Keystone ---------------------------------------------------------------------------

    def start_keystone(self) -> None:
        keystone = self.keystone
        keystone.manage("db_sync")
        keystone.manage("fernet_setup", "--keystone-user", _user(), "--keystone-group", _group())
        keystone.manage(
            "credential_setup", "--keystone-user", _user(), "--keystone-group", _group()
        )
        keystone.manage(
            "bootstrap",
            "--bootstrap-username",
            ADMIN,
            "--bootstrap-password",
            self.admin_password,
            "--bootstrap-project-name",
            ADMIN,
            "--bootstrap-role-name",
            ADMIN,
            "--bootstrap-service-name",
            "keystone",
            "--bootstrap-region-id",
            "RegionOne",
            "--bootstrap-public-url",
            keystone.url,
        )
        keystone.start()
        self.processes.append(keystone.process)  # type: ignore[arg-type]
        self._populate()

    def admin_token(self) -> str:
        status, headers, body = api(
            "POST",
            self.keystone.url + "/v3/auth/tokens",
            body={
                "auth": {
                    "identity": {
                        "methods": ["password"],
                        "password": {
                            "user": {
                                "name": ADMIN,
                                "domain": {"id": "default"},
                                "password": self.admin_password,
                            }
                        },
                    },
                    "scope": {"project": {"name": ADMIN, "domain": {"id": "default"}}},
                }
            },
        )
        assert status == 201, (status, body)
        self.admin_id = body["token"]["user"]["id"]
        self.admin_project_id = body["token"]["project"]["id"]
        return headers["X-Subject-Token"]

    def admin(self, method: str, path: str, body: Any = None, **kwargs: Any) -> Any:
        status, _, answer = api(
            method, self.keystone.url + path, token=self.admin_token(), body=body, **kwargs
        )
        assert status < 300, (method, path, status, answer)
        return answer

    def _populate(self) -> None:
        token = self.admin_token()

        def call(method: str, path: str, body: Any = None) -> Any:
            status, _, answer = api(method, self.keystone.url + path, token=token, body=body)
            assert status < 300, (method, path, status, answer)
            return answer

        project = call("POST", "/v3/projects", {"project": {"name": "occ", "domain_id": "default"}})
        self.project_id = project["project"]["id"]
        user = call(
            "POST",
            "/v3/users",
            {
                "user": {
                    "name": "occ-instance",
                    "password": self.password,
                    "domain_id": "default",
                    "default_project_id": self.project_id,
                }
            },
        )
        self.user_id = user["user"]["id"]
        member = call("GET", "/v3/roles?name=member")["roles"][0]["id"]
        call("PUT", f"/v3/projects/{self.project_id}/users/{self.user_id}/roles/{member}")
        call("POST", "/v3/regions", {"region": {"id": "RegionTwo"}})
        heat = f"http://127.0.0.1:{self.heat_port}"
        closed = f"http://127.0.0.1:{self.closed_port}"
        catalog = {
            "orchestration": [
                ("RegionOne", "public", heat + "/RegionOne/v1/%(tenant_id)s"),
                ("RegionOne", "internal", heat + "/internal/v1/%(tenant_id)s"),
                ("RegionOne", "admin", heat + "/admin/v1/%(tenant_id)s"),
                ("RegionTwo", "public", heat + "/RegionTwo/v1/%(tenant_id)s"),
            ],
            "messaging": [
                ("RegionOne", "internal", closed),
                ("RegionOne", "public", f"http://127.0.0.1:{self.zaqar_port}"),
                ("RegionOne", "admin", closed),
            ],
            "messaging-websocket": [
                ("RegionOne", "internal", closed.replace("http:", "ws:")),
                ("RegionOne", "public", f"ws://127.0.0.1:{self.zaqar_ws_port}"),
                ("RegionOne", "admin", closed.replace("http:", "ws:")),
            ],
        }
        for service_type, endpoints in catalog.items():
            service = call(
                "POST", "/v3/services", {"service": {"type": service_type, "name": service_type}}
            )
            for region, interface, url in endpoints:
                endpoint = {
                    "service_id": service["service"]["id"],
                    "region_id": region,
                    "interface": interface,
                    "url": url,
                }
                call("POST", "/v3/endpoints", {"endpoint": endpoint})

    def short_keystone(self) -> Keystone:
        """Return a second Keystone process over the same database and keys whose tokens
        expire after ``SHORT_EXPIRATION`` seconds, started on first use."""
        if self._short is None:
            short = Keystone(
                self.python, self.workdir, "keystone-short", expiration=SHORT_EXPIRATION
            )
            short.start()
            self.processes.append(short.process)  # type: ignore[arg-type]
            self._short = short
        return self._short

    def revoke(self, token: str) -> None:
        """Revoke ``token`` through Keystone's API (DELETE /v3/auth/tokens)."""
        self.admin("DELETE", "/v3/auth/tokens", headers={"X-Subject-Token": token})

    # -- the Heat-shaped endpoint -----------------------------------------------------------

    def middleware_options(self) -> dict[str, str]:
        """keystonemiddleware auth_token options: Keystone validates every token, no cache."""
        return {
            "www_authenticate_uri": self.keystone.url + "/v3",
            "auth_url": self.keystone.url,
            "auth_type": "password",
            "username": ADMIN,
            "password": self.admin_password,
            "project_name": ADMIN,
            "user_domain_id": "default",
            "project_domain_id": "default",
            "interface": "public",  # bootstrap made only Keystone's public endpoint
            # a revoked token is seen at once
            "token_cache_time": "-1",
        }

    def start_heat(self) -> None:
        config = self.workdir / "heat.json"
        config.write_text(
            json.dumps(
                {
                    "port": self.heat_port,
                    "request_log": str(self.heat_log.path),
                    "auth_token": self.middleware_options(),
                    "stacks": {STACK_NAME: {"id": STACK_ID, "resources": {RESOURCE: METADATA}}},
                }
            )
        )
        script = str(Path(__file__).parent / "servers" / "heat_app.py")
        process = Process("heat", [str(self.python), script, str(config)], self.workdir, {})
        self.processes.append(process)
        process.wait_ready(lambda: http_answers(f"http://127.0.0.1:{self.heat_port}/"))

    # -- redis and Zaqar --------------------------------------------------------------------

    def start_zaqar(self, redis_server: str) -> None:
        """Start redis and Zaqar's two transports over it (once)."""
        if self.zaqar_started:
            return
        self.zaqar_started = True
        redis = Process(
            "redis",
            [
                redis_server,
                "--bind", "127.0.0.1",
                "--port", str(self.redis_port),
                "--save", "",
                "--appendonly", "no",
                "--dir", str(self.workdir),
            ],
            self.workdir,
            {},
        )  # fmt: skip
        self.processes.append(redis)
        redis.wait_ready(lambda: port_open(self.redis_port))
        middleware = "\n".join(f"{k} = {v}" for k, v in self.middleware_options().items())
        for transport, ready in (
            ("wsgi", lambda: http_answers(f"http://127.0.0.1:{self.zaqar_port}/")),
            ("websocket", lambda: port_open(self.zaqar_ws_port)),
        ):
            config = self.workdir / f"zaqar-{transport}.conf"
            config.write_text(
                textwrap.dedent(f"""\
                [DEFAULT]
                auth_strategy = keystone
                unreliable = true
                [drivers]
                transport = {transport}
                message_store = redis
                management_store = redis
                [drivers:message_store:redis]
                uri = redis://127.0.0.1:{self.redis_port}
                [drivers:management_store:redis]
                uri = redis://127.0.0.1:{self.redis_port}
                [drivers:transport:wsgi]
                bind = 127.0.0.1
                port = {self.zaqar_port}
                [drivers:transport:websocket]
                bind = 127.0.0.1
                port = {self.zaqar_ws_port}
                notification_bind = 127.0.0.1
                notification_port = {self.notification_port}
                [storage]
                # subscription notifications (the websocket transport waits for them)
                message_pipeline = zaqar.notification.notifier
                [keystone_authtoken]
                """)
                + middleware
                + "\n"
            )
            server = str(self.python.parent / "zaqar-server")
            process = Process(
                f"zaqar-{transport}", [server, "--config-file", str(config)], self.workdir, {}
            )
            self.processes.append(process)
            process.wait_ready(ready)

    def zaqar_api(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """Call Zaqar's v2 HTTP API as the program's user (a login of the test suite)."""
        token, _ = self.keystone.login(self.user_id, self.password, self.project_id)
        status, _, answer = api(
            method,
            f"http://127.0.0.1:{self.zaqar_port}{path}",
            token=token,
            body=body,
            headers={"Client-ID": str(uuid.uuid4()), "X-Project-Id": self.project_id},
        )
        return status, answer

    def post_message(self, queue: str, body: Any) -> None:
        status, answer = self.zaqar_api(
            "POST", f"/v2/queues/{queue}/messages", {"messages": [{"body": body, "ttl": 600}]}
        )
        assert status == 201, (status, answer)

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()


SHORT_EXPIRATION = 315  # seconds: the program stops reusing a token 300 s before it expires


def _user() -> str:
    return pwd.getpwuid(os.getuid()).pw_name


def _group() -> str:
    return grp.getgrgid(os.getgid()).gr_name
