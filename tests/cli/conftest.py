"""Fixtures for CLI tests: the real `keytui` command at the test's clock, direct SQL on the
database file (as a tamperer or a forensic reader would), and the store's row counts."""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing

import pytest

from tests.pg import database_rows
from tests.support import TOTP_STEP_S, totp_code


@pytest.fixture
def kt(cli, clock, home):
    """Run the CLI with KEYTUI_NOW pinned to the test clock, so grace periods and expiry can be stepped
    through (in a home marked as a test home: anywhere else KEYTUI_NOW is refused)."""
    from keytui.service.homekind import mark_test_home

    mark_test_home(home)

    def run(*args: str, input: str | None = None, env: dict | None = None):
        return cli(*args, input=input, env={"KEYTUI_NOW": clock.now().isoformat(), **(env or {})})

    return run


@pytest.fixture
def db_dump(home):
    """The whole database as SQL text (schema and every row): 'nothing was written' means this did not change."""

    def dump() -> list[str]:
        if not os.environ.get("KEYTUI_DATABASE_URL"):
            with closing(sqlite3.connect(home / "keytui.db")) as conn:
                return list(conn.iterdump())
        tables = database_rows(home, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' "
                                     "ORDER BY table_name")
        return [f"{name}: {tuple(bytes(v) if isinstance(v, memoryview) else v for v in row)!r}"  # bytea, as bytes
                for (name,) in tables for row in database_rows(home, f'SELECT * FROM "{name}" ORDER BY 1')]

    return dump


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


@pytest.fixture
def populated(kt, vault, tmp_path):
    """A home with something for every writing command to act on (made through the service, in
    this process: only the command under test runs as a subprocess): a live key, one that expires
    in 30 days, a revoked key whose use raised an alert, an org policy file; ids and paths by name."""
    live = vault.create("Demo Build Key", "demo-builds", ["read"], "dev", no_expiry=True).key.key_id
    expiring = vault.create("Demo Preview Deployer", "demo-builds", ["read"], "dev", expires_in_days=30).key.key_id
    revoked = vault.create("Leaked Key", "agents", ["read"], "sandbox", expires_in_days=30)
    vault.revoke(revoked.key.key_id)
    vault.verify(revoked.token, "sandbox")
    vault.run_watch_pass()
    [alert] = vault.alerts()
    policy = tmp_path / "org-policy.toml"
    policy.write_text('name = "strict"\n[defaults]\nrequire_ip_restriction = true\n')
    return {"live": live, "expiring": expiring, "revoked": revoked.key.key_id, "alert": str(alert.id),
            "policy": str(policy), "export": str(tmp_path / "registry.csv")}


@pytest.fixture
def history(vault):
    """Five audit entries: three keys created, one rotated, one revoked."""
    keys = [vault.create(f"Key {n}", "agents", ["read"], "sandbox", expires_in_days=30).key.key_id for n in range(3)]
    vault.rotate(keys[0])
    vault.revoke(keys[1])
    return keys
