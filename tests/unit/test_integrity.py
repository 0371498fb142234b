"""Row seals: a token whose environment tag differs from its key's environment is refused even
when the row's seal holds, and a home made before seals existed is sealed once, audited, with a
planted 'please seal' note never blessing rows edited afterwards."""

from __future__ import annotations

import sqlite3
from datetime import datetime

import pytest

from keytui.service import Vault, integrity
from keytui.store.models import ApiKey


def test_a_token_for_another_environment_than_its_key_is_refused(vault, make_key, store):
    dev = make_key(environment="development")
    # someone holding the master key could reseal anything; what the tag check adds is that a
    # kt_dev_ token can only ever verify for a development key
    ApiKey.update(environment="production").where(ApiKey.key_id == dev.key.key_id).execute()
    integrity.reseal(vault.ctx.db, vault.ctx.keyring, [ApiKey.get(ApiKey.key_id == dev.key.key_id).id])
    assert vault.verify(dev.token, "production").code.value == "NOT_FOUND"
    assert vault.verify_audit().ok  # the seal holds: only the tag gives it away


def _downgrade_to_v1(home) -> None:
    """The database as keytui 1 left it: no seal columns (nor what version 3 added), schema version 1."""
    with sqlite3.connect(home / "keytui.db") as con:
        con.execute("ALTER TABLE api_key DROP COLUMN seal")
        con.execute("ALTER TABLE key_secret DROP COLUMN seal")
        con.execute("ALTER TABLE api_key DROP COLUMN canary")
        con.execute("ALTER TABLE activity_event DROP COLUMN secret_id")
        for name in ("alert_channel", "alert_delivery", "leak_report_seen"):
            con.execute(f"DROP TABLE {name}")
        con.execute("UPDATE meta SET value = '1' WHERE name = 'schema_version'")


@pytest.mark.sqlite_only
def test_a_home_from_before_seals_is_sealed_once_and_audited(home, clock, make_key, vault):
    issued = make_key()
    revoked = make_key("Old Key")
    vault.revoke(revoked.key.key_id)
    vault.close()
    _downgrade_to_v1(home)
    reopened = Vault.open(home, operator="alice", clock=clock)
    assert reopened.verify(issued.token, "sandbox").valid
    assert reopened.verify(revoked.token, "sandbox").code.value == "REVOKED"
    assert reopened.verify_audit().ok
    entry = reopened.audit_entries()[0]
    assert (entry["action"], entry["operator"], entry["details"]) == ("integrity.seal", "system",
                                                                      {"keys": 2, "secrets": 2})
    reopened.close()
    with sqlite3.connect(home / "keytui.db") as con:  # revive the revoked key, ask for sealing again
        con.execute("UPDATE api_key SET status = 'active', revoked_at = NULL, seal = NULL")
        con.execute("UPDATE key_secret SET ended_by = NULL, valid_until = NULL, seal = NULL")
        con.execute("INSERT INTO meta (name, value) VALUES ('unsealed_rows', 'v1')")
    again = Vault.open(home, operator="alice", clock=clock)
    assert again.verify(revoked.token, "sandbox").code.value == "NOT_FOUND"
    assert not again.verify_audit().ok
    again.close()


@pytest.mark.parametrize("expires_at", ["2039-03-08T19:46:13.411+00:00", "2031-06-30T23:59:59.999+00:00"])
def test_a_key_expiring_years_ahead_at_a_millisecond_keeps_its_seal_through_an_edit(vault, make_key, expires_at):
    """Its expiry was stored a millisecond short (float seconds times 1000), and the key then
    failed its own integrity check: refused to be edited as "rows changed without the master key"."""
    key = make_key(environment="development", expires_at=expires_at).key
    vault.update(key.key_id, name="Renamed Far Key")
    assert vault.get(key.key_id).expires_at == datetime.fromisoformat(expires_at)
    vault.run_watch_pass()
    assert [a for a in vault.alerts() if a.kind == "row-tampering"] == []


def test_milliseconds_and_datetimes_convert_exactly_both_ways():
    import random

    from keytui.clock import from_ms, to_ms

    rng = random.Random(14)
    samples = [rng.randint(0, 4_102_444_800_000) for _ in range(20_000)] + [2_183_226_373_411, 0, 1]
    assert [to_ms(from_ms(ms)) for ms in samples] == samples
