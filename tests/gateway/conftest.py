"""Gateway tests run the real `keytui serve` (tests/gateway/server.py) and talk HTTP to it."""

from __future__ import annotations

import pytest

from tests.conftest import TEST_DATABASE_URL
from tests.gateway.server import Server, start_seeded
from tests.pg import pg_database


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


@pytest.fixture(scope="module")
def module_database():
    """On a PostgreSQL run, a database for a module's shared server, named by KEYTUI_DATABASE_URL
    while the module's fixtures start it (a module-scoped server starts before any test's own
    database exists); None on SQLite. Its tests use it through `on_module_database`."""
    if not TEST_DATABASE_URL:
        yield None
        return
    with pg_database(TEST_DATABASE_URL) as url, pytest.MonkeyPatch.context() as patch:
        patch.setenv("KEYTUI_DATABASE_URL", url)
        yield url


@pytest.fixture
def on_module_database(module_database, database_url, monkeypatch):
    """The test reads and writes its module's database (the shared server's), not one of its own:
    `pytestmark = pytest.mark.usefixtures("on_module_database")`."""
    if module_database:
        monkeypatch.setenv("KEYTUI_DATABASE_URL", module_database)
