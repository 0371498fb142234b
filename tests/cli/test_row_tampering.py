"""Rows edited without the master key: a revoked key set active again, a development key made
production admin, a secret's end cleared. Verification refuses them (as NOT_FOUND, recorded as
TAMPERED), the watch raises a high alert, `audit verify` names them, and no later change blesses
the edit."""

from __future__ import annotations

import pytest

DEV_ADMIN = ("UPDATE api_key SET environment = 'production', permissions = 'admin' WHERE key_id = '{key_id}'",)
REVIVE = ("UPDATE api_key SET status = 'active', revoked_at = NULL WHERE key_id = '{key_id}'",
          "UPDATE key_secret SET ended_by = NULL, valid_until = NULL WHERE key_id = "
          "(SELECT id FROM api_key WHERE key_id = '{key_id}')")


@pytest.fixture
def revoked(vault):
    issued = vault.create("Leaked Key", "agents", ["read"], "sandbox", expires_in_days=30)
    vault.revoke(issued.key.key_id, "leaked")
    return issued


@pytest.fixture
def dev(vault):
    return vault.create("Dev Key", "agents", ["read"], "development", expires_in_days=30)


def _tamper(raw_sql, statements, key_id):
    raw_sql(*[s.format(key_id=key_id) for s in statements])


def test_a_revoked_key_set_active_again_does_not_verify(cli, raw_sql, revoked):
    assert cli("verify", "-", "--environment", "sandbox", input=revoked.token).out.startswith("REVOKED")
    _tamper(raw_sql, REVIVE, revoked.key.key_id)
    result = cli("verify", "-", "--environment", "sandbox", "--json", input=revoked.token)
    assert result.code == 1 and result.json()["code"] == "NOT_FOUND" and result.json()["key_id"] is None
    assert raw_sql("SELECT code, key_id FROM activity_event ORDER BY id DESC LIMIT 1") == [
        ("TAMPERED", revoked.key.key_id)]
    report = cli("audit", "verify")
    assert report.code == 1 and f"key {revoked.key.key_id}: its row was changed" in report.err, report
    assert "secret" in report.err and revoked.token not in report.err
    cli("watch", "--once")
    alerts = [a for a in cli("alerts", "--json").json() if a["kind"] == "row-tampering"]
    assert {(a["severity"], a["key_id"]) for a in alerts} == {("high", revoked.key.key_id)}


def test_a_development_key_made_production_admin_does_not_verify(cli, raw_sql, dev):
    _tamper(raw_sql, DEV_ADMIN, dev.key.key_id)
    for env, perm in (("production", "admin"), ("development", "read")):
        result = cli("verify", "-", "--environment", env, "--permission", perm, "--json", input=dev.token)
        assert result.code == 1 and result.json()["code"] == "NOT_FOUND"
    assert cli("audit", "verify").code == 1


def test_a_seal_copied_from_another_key_does_not_hold(cli, raw_sql, vault, dev, mfa_code):
    prod = vault.create("Prod Admin", "agents", ["admin"], "production", expires_in_days=30, totp=mfa_code())
    raw_sql(f"UPDATE api_key SET environment = 'production', permissions = 'admin', expires_at = "
            f"(SELECT expires_at FROM api_key WHERE key_id = '{prod.key.key_id}'), seal = "
            f"(SELECT seal FROM api_key WHERE key_id = '{prod.key.key_id}') WHERE key_id = '{dev.key.key_id}'")
    result = cli("verify", "-", "--environment", "production", "--json", input=dev.token)
    assert result.json()["code"] == "NOT_FOUND"


def test_a_cleared_seal_does_not_hold(cli, raw_sql, dev):
    raw_sql("UPDATE api_key SET seal = NULL")
    assert cli("verify", "-", "--environment", "development", "--json", input=dev.token).json()["code"] == "NOT_FOUND"
    assert cli("audit", "verify").code == 1


@pytest.mark.parametrize("change", [["keys", "rotate", "{key_id}"], ["keys", "regenerate", "{key_id}"],
                                    ["keys", "edit", "{key_id}", "--ip", "10.0.0.0/8"]])
def test_no_change_reseals_a_tampered_key(cli, raw_sql, vault, change):
    issued = vault.create("Soon Revoked", "agents", ["read"], "sandbox", expires_in_days=30)
    vault.rotate(issued.key.key_id, 0)  # an ended secret to revive
    raw_sql(f"UPDATE key_secret SET ended_by = NULL, valid_until = NULL WHERE key_id = "
            f"(SELECT id FROM api_key WHERE key_id = '{issued.key.key_id}')")
    result = cli(*[issued.key.key_id if a == "{key_id}" else a for a in change])
    assert result.code == 2 and "failed its integrity check" in result.err, result
    assert cli("verify", "-", "--environment", "sandbox", "--json", input=issued.token).json()["code"] == "NOT_FOUND"
    revoked = cli("keys", "revoke", issued.key.key_id)  # revoking is always allowed; it stays reported
    assert revoked.code == 0, revoked
    assert cli("audit", "verify").code == 1


def test_the_watch_does_not_auto_rotate_a_tampered_key(kt, raw_sql, vault, clock):
    issued = vault.create("Rotating", "agents", ["read"], "sandbox", expires_in_days=30)
    raw_sql(f"UPDATE api_key SET permissions = 'admin' WHERE key_id = '{issued.key.key_id}'")
    clock.advance(days=25)
    passed = kt("watch", "--once", "--json").json()
    assert passed["rotated"] == [] and issued.key.key_id in passed["rotation_failed"]
    assert raw_sql("SELECT count(*) FROM key_secret") == [(1,)]


def test_a_revoked_row_put_back_from_an_older_copy_is_found(cli, raw_sql, vault):
    issued = vault.create("Rolled Back", "agents", ["read"], "sandbox", expires_in_days=30)
    key_before = raw_sql(f"SELECT status, revoked_at, updated_at, seal FROM api_key WHERE key_id = '{issued.key.key_id}'")
    secret_before = raw_sql("SELECT valid_until, ended_by, seal FROM key_secret")
    vault.revoke(issued.key.key_id, "leaked")
    (status, revoked_at, updated_at, seal), = key_before
    (valid_until, ended_by, secret_seal), = secret_before
    raw_sql(f"UPDATE api_key SET status = '{status}', revoked_at = NULL, seal = '{seal}'",
            f"UPDATE key_secret SET valid_until = NULL, ended_by = NULL, seal = '{secret_seal}'")
    report = cli("audit", "verify")
    assert report.code == 1 and "records its revocation but its row is not revoked" in report.err
    cli("watch", "--once")
    kinds = [(a["kind"], a["severity"]) for a in cli("alerts", "--json").json()]
    assert ("row-tampering", "high") in kinds
