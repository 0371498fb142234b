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
