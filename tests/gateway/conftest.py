"""Gateway tests run the real `keytui serve` (tests/gateway/server.py) and talk HTTP to it."""

from __future__ import annotations

import pytest

from tests.gateway.server import Server, start_seeded


@pytest.fixture
def fresh_server(tmp_path):
    """A server of its own, for tests that kill or stop it."""
    servers: list[Server] = []

    def start(*args: str) -> Server:
        server = start_seeded(tmp_path, *args)
        servers.append(server)
        return server

    yield start
    for server in servers:
        if server.proc.poll() is None:
            server.proc.kill()
            server.proc.wait()
        leaked = any(token in server.logs() for token in server.tokens.values())
        assert not leaked, "a token appeared in the server's output"
