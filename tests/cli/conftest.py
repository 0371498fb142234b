"""Fixtures for CLI tests: the real `keytui` command at the test's clock, direct SQL on the
database file (as a tamperer or a forensic reader would), and the store's row counts."""

from __future__ import annotations

import pytest

from keytui.totp import STEP_SECONDS, code_for


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
        clock.advance(seconds=STEP_SECONDS)
        return code_for(secret, clock.now())

    return next_code


@pytest.fixture
def history(vault):
    """Five audit entries: three keys created, one rotated, one revoked."""
    keys = [vault.create(f"Key {n}", "agents", ["read"], "sandbox", expires_in_days=30).key.key_id for n in range(3)]
    vault.rotate(keys[0])
    vault.revoke(keys[1])
    return keys
