"""Schema step 3 (canary keys, the secret each verification matched, alert channels, the delivery
outbox, seen leak reports): a home at version 2 migrates in place and keeps its data."""

import sqlite3
from contextlib import closing

import pytest

from keytui.service import Vault
from keytui.store import migrations


@pytest.mark.sqlite_only
def test_a_version_2_home_migrates_in_place_and_keeps_its_data(home, clock):
    vault = Vault.open(home, operator="alice", clock=clock)
    made = vault.create("Agents Execution Key", "agents", ["read"], "sandbox", expires_in_days=30)
    vault.verify(made.token, "sandbox", ip="10.0.0.1")
    vault.close()
    with closing(sqlite3.connect(home / "keytui.db")) as con, con:  # back to the version 2 schema
        con.execute("ALTER TABLE api_key DROP COLUMN canary")
        con.execute("ALTER TABLE activity_event DROP COLUMN secret_id")
        for name in ("alert_channel", "alert_delivery", "leak_report_seen"):
            con.execute(f"DROP TABLE {name}")
        con.execute("UPDATE meta SET value = '2' WHERE name = 'schema_version'")

    vault = Vault.open(home, operator="alice", clock=clock)
    try:
        assert migrations.current_version(vault.ctx.db) == migrations.SCHEMA_VERSION  # 3 and any later step
        key = vault.get(made.key.key_id)
        assert key.name == "Agents Execution Key" and key.canary is False
        assert [e.ip for e in vault.events()] == ["10.0.0.1"]
        assert vault.verify(made.token, "sandbox").valid and vault.verify_audit().ok
        assert vault.alert_channels() == []
        clock.advance(minutes=1)
        vault.rotate(made.key.key_id)
        vault.verify(made.token, "sandbox", ip="10.0.0.2")
        assert [c.ip for c in vault.rotation_traffic(made.key.key_id).old_callers] == ["10.0.0.2"]
    finally:
        vault.close()
