"""Each rule has a Python form and an SQL form built from the same constants: they agree."""

from __future__ import annotations

import itertools
import sqlite3

import pytest

from keytui.domain import (PERMISSION_ORDER, Status, effective_status, format_permissions, needs_mfa,
                           privileged_sql, status_sql)

NOW = 1_000_000
EXPIRIES = (None, NOW - 1, NOW, NOW + 1)


@pytest.fixture
def conn():
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE k (status TEXT, expires_at INTEGER, permissions TEXT)")
    yield db
    db.close()


@pytest.mark.parametrize("stored", list(Status))
@pytest.mark.parametrize("expires_at", EXPIRIES)
def test_effective_status_in_python_and_sql_agree(conn, stored, expires_at):
    conn.execute("INSERT INTO k VALUES (?, ?, '')", (stored.value, expires_at))
    in_python = effective_status(stored, expires_at, NOW)
    in_sql = [st for st in Status
              if conn.execute(f"SELECT COUNT(*) FROM k WHERE {status_sql(st, NOW)}").fetchone()[0]]
    assert in_sql == [in_python]
    assert conn.execute(f"SELECT COUNT(*) FROM k k WHERE {status_sql(in_python, NOW, 'k.')}").fetchone()[0] == 1


def test_privileged_in_python_and_sql_agree(conn):
    for n in range(len(PERMISSION_ORDER) + 1):
        for perms in itertools.combinations(PERMISSION_ORDER, n):
            conn.execute("DELETE FROM k")
            conn.execute("INSERT INTO k VALUES ('active', NULL, ?)", (format_permissions(perms),))
            in_sql = conn.execute(f"SELECT COUNT(*) FROM k WHERE {privileged_sql('permissions')}").fetchone()[0]
            assert bool(in_sql) == needs_mfa(perms), perms
