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


class _Postgres:
    """sqlite3's `execute` (with `?` placeholders) on a psycopg2 connection."""

    def __init__(self, conn):
        self.conn = conn

    def execute(self, sql: str, params: tuple = ()):
        cur = self.conn.cursor()
        cur.execute(sql.replace("?", "%s") if params else sql, params or None)
        return cur


@contextmanager
def raw_connection(home) -> Iterator:
    """One transaction on the database a `keytui` started now would use (KEYTUI_DATABASE_URL's,
    set by the test, or the home's SQLite file), through the engine's own driver, never keytui's
    code: `.execute(sql, params)` with `?` placeholders returns a cursor, as sqlite3's does."""
    url = os.environ.get("KEYTUI_DATABASE_URL") or ""
    if not url.startswith("postgres"):
        import sqlite3

        with closing(sqlite3.connect(f"{home}/keytui.db")) as con, con:
            yield con
        return
    import psycopg2

    with closing(psycopg2.connect(url)) as conn, conn:
        yield _Postgres(conn)


def run_statements(home, statements, params: tuple = ()) -> list[tuple]:
    """Run `statements` in one transaction (see raw_connection), `params` for the last one;
    the last one's rows."""
    with raw_connection(home) as db:
        rows = []
        for n, statement in enumerate(statements, 1):
            cur = db.execute(statement, params if n == len(statements) else ())
            rows = cur.fetchall() if cur.description else []
        return rows


def database_rows(home, sql: str, params: tuple = ()) -> list[tuple]:
    """Rows of one query (see run_statements)."""
    return run_statements(home, [sql], params)


def copy_home(template, home) -> None:
    """A private copy of a home built once per session on SQLite (a demo home), and on a
    PostgreSQL run the test's own database replaced by a copy of its rows: copied once per
    process into a template database (keytui's `db copy`), then cloned for each test with
    CREATE DATABASE … TEMPLATE, a file copy on the server (~50 ms instead of ~700 ms a test)."""
    import shutil

    shutil.copytree(template, home)
    url = os.environ.get("KEYTUI_DATABASE_URL") or ""
    if not url.startswith("postgres"):
        return
    source = _template_database(str(template), url)
    name = urlsplit(url).path.lstrip("/")
    conn = _admin(with_database(url, "postgres"))
    try:
        with conn.cursor() as cur:  # the test's own database, still empty and unused: replaced by the clone
            cur.execute(f'DROP DATABASE "{name}"')
            cur.execute(f'CREATE DATABASE "{name}" TEMPLATE "{source}"')
    finally:
        conn.close()


_templates: dict[str, str] = {}  # SQLite template home -> its rows' template database on the server


def _template_database(template: str, url: str) -> str:
    if template not in _templates:
        import atexit

        from peewee import SqliteDatabase

        from keytui.store.copying import connect, copy_all

        name = f"keytui_template_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        conn = _admin(with_database(url, "postgres"))
        with conn.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
        atexit.register(_drop, conn, name)
        source, target = SqliteDatabase(f"{template}/keytui.db"), connect(with_database(url, name))
        try:
            copy_all(source, target)
        finally:
            source.close()
            target.close()
        _templates[template] = name
    return _templates[template]


def _drop(conn, name: str) -> None:
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    conn.close()
