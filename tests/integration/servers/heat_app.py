"""A Heat-shaped metadata endpoint behind the real keystonemiddleware auth_token filter.

Usage: heat_app.py CONFIG.json. The configuration names the port, the request log, the
middleware's options (Keystone URL, service credentials, token_cache_time = -1) and the
stacks: {"stacks": {NAME: {"id": ID, "resources": {RESOURCE: METADATA}}}}.

Like Heat's API it answers, under any path prefix (one per catalog region)
  GET <prefix>/v1/<tenant>/stacks/<name or id>            302 to .../stacks/<name>/<id>
  GET <prefix>/v1/<tenant>/stacks/<name>/<id>/resources/<resource>/metadata
                                                          200 {"metadata": {...}}
with 401 for a token the middleware rejected, 403 when <tenant> is not the token's project,
404 for anything unknown. Each metadata answer carries "served_by": <prefix>, so a test can
tell which catalog endpoint the program chose.
"""

import json
import re
import sys
from urllib.parse import unquote

from keystonemiddleware import auth_token
from serve import serve

ROUTE = re.compile(
    r"^(?P<prefix>.*?)/v1/(?P<tenant>[^/]+)/stacks/(?P<stack>[^/]+)"
    r"(?:/(?P<id>[^/]+)(?:/resources/(?P<resource>[^/]+)/metadata)?)?$"
)


def application(stacks):
    def app(environ, start_response):
        def reply(status, body=None, headers=()):
            data = json.dumps(body).encode() if body is not None else b""
            start_response(
                status,
                [
                    ("Content-Type", "application/json"),
                    ("Content-Length", str(len(data))),
                    *headers,
                ],
            )
            return [data]

        if environ.get("HTTP_X_IDENTITY_STATUS") != "Confirmed":
            return reply("401 Unauthorized", {"error": "authentication required"})
        match = ROUTE.match(environ.get("PATH_INFO", ""))
        if environ["REQUEST_METHOD"] != "GET" or not match:
            return reply("404 Not Found", {"error": "not found"})
        if match["tenant"] != environ.get("HTTP_X_PROJECT_ID"):
            return reply("403 Forbidden", {"error": "wrong project"})
        name = unquote(match["stack"])
        if name not in stacks:  # a stack id instead of a name
            name = next((n for n, s in stacks.items() if s["id"] == name), name)
        stack = stacks.get(name)
        if stack is None:
            return reply("404 Not Found", {"error": "no such stack"})
        if match["id"] is None:
            host = environ.get("HTTP_HOST", "127.0.0.1")
            base = f"http://{host}{match['prefix']}/v1/{match['tenant']}/stacks"
            location = f"{base}/{name}/{stack['id']}"
            return reply("302 Found", {"location": location}, [("Location", location)])
        resource = unquote(match["resource"] or "")
        if match["id"] != stack["id"] or resource not in stack["resources"]:
            return reply("404 Not Found", {"error": "no such resource"})
        metadata = dict(stack["resources"][resource], served_by=match["prefix"].strip("/"))
        return reply("200 OK", {"metadata": metadata})

    return app


if __name__ == "__main__":
    with open(sys.argv[1]) as file:
        config = json.load(file)
    app = auth_token.AuthProtocol(application(config["stacks"]), config["auth_token"])
    serve(app, config["port"], config["request_log"])
