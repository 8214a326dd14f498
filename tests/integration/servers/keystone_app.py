"""Keystone's own WSGI application (keystone.server.wsgi), served on 127.0.0.1 with a request
log. Usage: keystone_app.py PORT REQUEST_LOG; the configuration file comes from
OS_KEYSTONE_CONFIG_FILES, as under any WSGI server."""

import sys

from keystone.server import wsgi
from serve import serve

if __name__ == "__main__":
    port, log_path = int(sys.argv[1]), sys.argv[2]
    del sys.argv[1:]  # keystone parses the command line as its own
    serve(wsgi.initialize_public_application(), port, log_path)
