"""Serve a WSGI application on 127.0.0.1 with a threaded wsgiref server, logging every request
(method, path, query, User-Agent, status) as one JSON line to a request log.

Runs under the service virtualenv's Python (tests/integration/services.py starts it), never
under the test suite's: only the standard library is used here.
"""

from __future__ import annotations

import json
import socketserver
import sys
import threading
from wsgiref import simple_server


class RequestLog:
    """Wraps a WSGI application; appends one JSON line per request to ``path``."""

    def __init__(self, app, path: str) -> None:
        self.app = app
        self.file = open(path, "a", buffering=1)  # noqa: SIM115 - lives as long as the server
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        # Read before the application runs: Keystone rewrites PATH_INFO (strips a trailing /).
        seen = {
            "method": environ.get("REQUEST_METHOD", ""),
            "path": environ.get("PATH_INFO", ""),
            "query": environ.get("QUERY_STRING", ""),
            "agent": environ.get("HTTP_USER_AGENT", ""),
            "status": None,
        }

        def recording_start_response(status, headers, exc_info=None):
            seen["status"] = int(status.split(" ", 1)[0])
            return start_response(status, headers, exc_info)

        try:
            return self.app(environ, recording_start_response)
        finally:
            with self.lock:
                self.file.write(json.dumps(seen) + "\n")


class Server(socketserver.ThreadingMixIn, simple_server.WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


class QuietHandler(simple_server.WSGIRequestHandler):
    def log_message(self, format, *args):  # the request log records requests
        pass


def serve(app, port: int, log_path: str) -> None:
    """Serve ``app`` on 127.0.0.1:``port`` until killed, logging requests to ``log_path``."""
    server = simple_server.make_server(
        "127.0.0.1",
        port,
        RequestLog(app, log_path),
        server_class=Server,
        handler_class=QuietHandler,
    )
    print(f"serving on 127.0.0.1:{port}", file=sys.stderr, flush=True)
    server.serve_forever()
