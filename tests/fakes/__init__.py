"""Fake network services for tests: real HTTP servers on 127.0.0.1 with ephemeral ports.

``server.FakeServer`` is the general scriptable server; ``ec2`` is a standalone EC2 metadata
service that the systemd end-to-end tests also run inside a container.
"""
