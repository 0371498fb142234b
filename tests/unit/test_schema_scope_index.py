"""Schema step 5: on SQLite the Scopes page's per-scope counts read one index, not every key
row, and a home at version 4 gets that index in place, keeping its data; a key whose IP allow
list is far too long for an index entry on PostgreSQL is stored and counted on both engines."""

import ipaddress
import random

import pytest

from keytui.store import migrations


@pytest.mark.sqlite_only
def test_a_version_4_home_migrates_in_place_and_gets_the_scope_counts_index(vault, make_key):
    key_id = make_key(permissions=("read", "write")).key.key_id
    db = vault.ctx.db
    assert migrations.MIGRATIONS[5].__name__ == "_scope_counts_index"
    db.execute_sql("DROP INDEX api_key_scope_counts")
    db.execute_sql("UPDATE meta SET value = '4' WHERE name = 'schema_version'")
    migrations.migrate(db)
    assert migrations.current_version(db) == migrations.SCHEMA_VERSION
    assert "api_key_scope_counts" in {index.name for index in db.get_indexes("api_key")}
    assert vault.get(key_id).name == "Agents Execution Key" and vault.verify_audit().ok
    agents = next(s for s in vault.scope_summaries() if s.scope.value == "agents")
    assert agents.keys == 1 and agents.active == 1


@pytest.mark.sqlite_only
def test_the_scope_counts_read_the_index_alone(vault, make_key, sql_trace):
    make_key()
    vault.scope_summaries()
    counts = next(sql for sql in sql_trace if "GROUP BY k.scope" in sql and "COUNT(*)" in sql and "JOIN" not in sql)
    plan = " ".join(row[-1] for row in vault.ctx.db.execute_sql(f"EXPLAIN QUERY PLAN {counts}").fetchall())
    assert "COVERING INDEX api_key_scope_counts" in plan


def test_a_key_with_a_very_long_ip_allow_list_is_stored_and_counted(vault, make_key):
    rng = random.Random(5)
    networks = [str(ipaddress.IPv6Address(rng.getrandbits(128))) for _ in range(300)]  # ~11 kB, barely compressible
    made = make_key(ip_allowlist=networks)
    assert len(vault.get(made.key.key_id).ip_allowlist) == 300
    agents = next(s for s in vault.scope_summaries() if s.scope.value == "agents")
    assert agents.keys == 1 and agents.active == 1
    assert vault.verify(made.token, "sandbox", ip=networks[-1]).valid
