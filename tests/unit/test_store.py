"""The store: schema versions migrate in place, and the SQLite settings several processes rely on."""

from __future__ import annotations

import pytest
from peewee import TextField

from keytui.store import migrations


def test_a_later_schema_change_migrates_in_place_and_keeps_the_data(vault, make_key, monkeypatch):
    key_id = make_key().key.key_id
    later = migrations.SCHEMA_VERSION + 1
    monkeypatch.setattr(migrations, "SCHEMA_VERSION", later)
    monkeypatch.setitem(migrations.MIGRATIONS, later,
                        lambda m: [m.add_column("api_key", "team", TextField(null=True))])
    migrations.migrate(vault.ctx.db)
    migrations.migrate(vault.ctx.db)  # a second open changes nothing
    assert migrations.current_version(vault.ctx.db) == later
    assert "team" in [c.name for c in vault.ctx.db.get_columns("api_key")]
    assert vault.get(key_id).name == "Agents Execution Key"
    assert vault.verify_audit().ok


@pytest.mark.sqlite_only
def test_sqlite_runs_in_wal_with_a_busy_timeout_and_foreign_keys(vault):
    pragma = lambda name: vault.ctx.db.execute_sql(f"PRAGMA {name}").fetchone()[0]  # noqa: E731
    assert pragma("journal_mode") == "wal"
    assert pragma("foreign_keys") == 1
    assert pragma("busy_timeout") >= 10_000


@pytest.mark.sqlite_only
def test_opening_a_current_database_takes_no_write_lock(vault, home, monkeypatch):
    """Migrations run only when the schema is behind: opening waits for no writer."""
    import sqlite3
    import time

    from keytui.service import Vault

    holder = sqlite3.connect(home / "keytui.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        monkeypatch.setenv("KEYTUI_BUSY_TIMEOUT", "5")
        started = time.monotonic()
        other = Vault.open(home, operator="bob")
        assert other.list_keys() == []
        assert time.monotonic() - started < 2
        other.close()
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_a_read_only_open_never_migrates_and_a_reader_upgrades_first(vault, make_key, home, monkeypatch):
    from keytui.domain import StoreUnavailable
    from keytui.service import Vault

    key_id = make_key().key.key_id
    vault.close()
    later = migrations.SCHEMA_VERSION + 1
    monkeypatch.setattr(migrations, "SCHEMA_VERSION", later)
    monkeypatch.setitem(migrations.MIGRATIONS, later,
                        lambda m: [m.add_column("api_key", "team", TextField(null=True))])
    with pytest.raises(StoreUnavailable, match="needs an upgrade .*open it once without --read-only") as refused:
        Vault.open(home, operator="bob", read_only=True)
    assert refused.value.reason == "schema"
    reader = Vault.open(home, operator="bob", reader=True)
    assert migrations.current_version(reader.ctx.db) == later and reader.read_only
    assert reader.get(key_id).name == "Agents Execution Key"
    reader.close()
    again = Vault.open(home, operator="bob", read_only=True)
    assert again.get(key_id).name == "Agents Execution Key"
    again.close()
