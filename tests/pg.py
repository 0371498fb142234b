"""A PostgreSQL database of a test's own on the server KEYTUI_TEST_DATABASE_URL names.

Each test gets a new database (a few tens of milliseconds with CREATE DATABASE), so tests, the
processes they start and pytest-xdist's workers never see each other's rows, and a test that
leaves a process connected cannot break the next one: the database is dropped WITH (FORCE).
"""

from __future__ import annotations

import os
import uuid
from contextlib import closing, contextmanager
from typing import Iterator
from urllib.parse import urlsplit, urlunsplit


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def _admin(url: str):
    import psycopg2

    conn = psycopg2.connect(url)
    conn.autocommit = True
    return conn


@contextmanager
def pg_database(server_url: str) -> Iterator[str]:
    name = f"keytui_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    conn = _admin(server_url)
    try:
        with conn.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
        try:
            yield with_database(server_url, name)
        finally:
            with conn.cursor() as cur:
                cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        conn.close()


def run_statements(home, statements, params: tuple = ()) -> list[tuple]:
    """Run `statements` (`?` placeholders, `params` for the last) in one transaction on the
    database a `keytui` started now would use: KEYTUI_DATABASE_URL's (set by the test) or the
    home's SQLite file, with the engine's own driver (never keytui's code); the last one's rows."""
    url = os.environ.get("KEYTUI_DATABASE_URL") or ""
    if not url.startswith("postgres"):
        import sqlite3

        with closing(sqlite3.connect(f"{home}/keytui.db")) as con, con:
            rows = []
            for n, statement in enumerate(statements, 1):
                rows = con.execute(statement, params if n == len(statements) else ()).fetchall()
            return rows
    import psycopg2

    with closing(psycopg2.connect(url)) as conn, conn, conn.cursor() as cur:
        rows = []
        for n, statement in enumerate(statements, 1):
            last = n == len(statements)
            cur.execute(statement.replace("?", "%s") if last and params else statement, params if last else None)
            rows = cur.fetchall() if cur.description else []
        return rows


def database_rows(home, sql: str, params: tuple = ()) -> list[tuple]:
    """Rows of one query (see run_statements)."""
    return run_statements(home, [sql], params)
