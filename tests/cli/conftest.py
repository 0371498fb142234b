"""Fixtures for CLI tests: the real `keytui` command at the test's clock, direct SQL on the
database file (as a tamperer or a forensic reader would), and the store's row counts."""

from __future__ import annotations

import sqlite3
from contextlib import closing

import pytest

from tests.support import TOTP_STEP_S, totp_code


@pytest.fixture
def kt(cli, clock):
    """Run the CLI with KEYTUI_NOW pinned to the test clock, so grace periods and expiry can be stepped through."""

    def run(*args: str, input: str | None = None, env: dict | None = None):
        return cli(*args, input=input, env={"KEYTUI_NOW": clock.now().isoformat(), **(env or {})})

    return run


@pytest.fixture
def raw_sql(home):
    """Run SQL on the database file with plain sqlite3 (no keytui code); returns the rows."""

    def run(*statements: str) -> list[tuple]:
        with closing(sqlite3.connect(home / "keytui.db")) as conn, conn:
            rows = []
            for statement in statements:
                rows = conn.execute(statement).fetchall()
            return rows

    return run


@pytest.fixture
def counts(raw_sql):
    """(keys, secrets, audit entries, activity events): what a refused command must leave alone."""

    def read() -> tuple[int, ...]:
        return raw_sql("SELECT (SELECT count(*) FROM api_key), (SELECT count(*) FROM key_secret), "
                       "(SELECT count(*) FROM audit_entry), (SELECT count(*) FROM activity_event)")[0]

    return read


@pytest.fixture
def totp(kt, clock):
    """Enrol alice through the CLI; returns a function giving the code for the test clock's next step."""
    secret = kt("mfa", "enroll", "--json").json()["secret"]

    def next_code() -> str:
        clock.advance(seconds=TOTP_STEP_S)
        return totp_code(secret, clock.now())

    return next_code
