"""Fixtures for service-level tests: a key factory with sensible defaults, a trace of the SQL the
database actually runs, and the bytes keytui keeps on disk."""

from __future__ import annotations

import pytest


@pytest.fixture
def make_key(vault):
    """Create a key through the service; only what a test cares about needs saying."""

    def make(name: str = "Agents Execution Key", *, scope: str = "agents", permissions=("read",),
             environment: str = "sandbox", **options):
        if not {"expires_in_days", "expires_at", "no_expiry"} & options.keys():
            options["expires_in_days"] = 30
        return vault.create(name, scope, list(permissions), environment, **options)

    return make


@pytest.fixture
def sql_trace(vault):
    """Every SQL statement SQLite executes on the vault's connection from now on."""
    statements: list[str] = []
    conn = vault.ctx.db.connection()
    conn.set_trace_callback(statements.append)
    yield statements
    conn.set_trace_callback(None)


@pytest.fixture
def store_bytes(home):
    """All bytes of the database files (main file, WAL, shared memory), as an attacker copying them would get."""

    def read() -> bytes:
        return b"".join(p.read_bytes() for p in sorted(home.iterdir()) if p.name.startswith("keytui.db"))

    return read
