"""A keytui database on PostgreSQL with a table dropped behind its back is a damaged store, as a
damaged SQLite file is: one line and exit 3 from the CLI, 503 in the store's words from the
gateway, never a bare 500 (PostgreSQL's errors are recognised by their SQLSTATE codes)."""

from __future__ import annotations

import httpx
import psycopg2

from tests.gateway.server import seed, start_server

DAMAGED = "the database is not a keytui database or is damaged: restore it from a backup"


def test_a_dropped_table_is_a_damaged_database_for_the_cli_and_the_gateway(vault, home, pg_url, cli):
    tokens = seed(home)
    server = start_server(home)
    try:
        with psycopg2.connect(pg_url) as conn, conn.cursor() as cur:
            cur.execute("DROP TABLE key_secret CASCADE")
        answer = httpx.post(f"{server.url}/v1/keys/verify", json={"token": tokens["sandbox"],
                                                                  "environment": "sandbox"}, timeout=10)
        assert answer.status_code == 503
        assert DAMAGED in answer.text
    finally:
        server.stop()
    done = cli("keys", "list")
    assert done.code == 3
    assert done.err == f"keytui: {DAMAGED}\n"
