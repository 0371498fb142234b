"""Schema creation and versioned migrations.

The first run creates every table; later schema changes are added to MIGRATIONS as functions
taking a playhouse.migrate SchemaMigrator, applied once each in order, so existing data is kept.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from peewee import CharField, IntegerField

from keytui.store.binding import using
from keytui.store.models import MODELS, ActivityEvent, ApiKey, Meta, RoleGrant
from keytui.store.sql import is_sqlite, table

if TYPE_CHECKING:
    from playhouse.migrate import SchemaMigrator

SCHEMA_VERSION = 5

# The Scopes page counts keys per scope by every column below (live, production, privileged,
# IP-restricted, flagged), read from this index alone instead of 100,000 rows. SQLite only:
# PostgreSQL refuses an index entry over ~2.7 kB, which a long IP allow list makes, and scans
# the table with parallel workers instead.
SQLITE_INDEXES = ["CREATE INDEX IF NOT EXISTS api_key_scope_counts ON api_key (scope, status, expires_at, "
                  "environment, permissions, ip_allowlist, policy_violation)"]


def _row_seals(migrator: SchemaMigrator) -> list:
    """Version 2: key and secret rows carry a seal (keytui.service.integrity). The migration has
    no master key, so it only adds the columns and leaves a note; the first open with the key
    seals the existing rows, once, audited."""
    Meta.insert(name="unsealed_rows", value="v1").on_conflict_ignore().execute()
    return [migrator.add_column("api_key", "seal", CharField(max_length=64, null=True)),
            migrator.add_column("key_secret", "seal", CharField(max_length=64, null=True))]


def _leaks(migrator: SchemaMigrator) -> list:
    """Version 3: canary keys, and which secret each verification matched (rotation traffic).
    The new tables (alert channels, the delivery outbox, seen leak reports) come from
    create_tables.

    The NOT NULL column is added with its default in one statement: the migrator would add it
    nullable and then rebuild the table on SQLite to make it NOT NULL, which the foreign keys
    from key_secret refuse."""
    db = migrator.database
    boolean, false = ("INTEGER", "0") if is_sqlite(db) else ("BOOLEAN", "FALSE")
    db.execute_sql(f"ALTER TABLE {table(ApiKey)} ADD COLUMN canary {boolean} NOT NULL DEFAULT {false}")
    return [migrator.add_column(table(ActivityEvent), "secret_id", IntegerField(null=True))]


def _add_roles(migrator: SchemaMigrator) -> list:
    """Version 4: the roles table of the daemon's users (no existing data changes)."""
    migrator.database.create_tables([RoleGrant], safe=True)
    return []


def _scope_counts_index(migrator: SchemaMigrator) -> list:
    """Version 5: the index the Scopes page counts from on SQLite (SQLITE_INDEXES, made with the
    tables); no data changes."""
    return []


# version -> function(migrator) returning a list of migrator operations
MIGRATIONS: dict[int, callable] = {2: _row_seals, 3: _leaks, 4: _add_roles, 5: _scope_counts_index}


def current_version(db) -> int:
    """The stored schema version; 0 for a database without keytui's tables (a new one)."""
    if not db.table_exists(Meta._meta.table_name):
        return 0
    with using(db):
        row = Meta.get_or_none(Meta.name == "schema_version")
    return int(row.value) if row else 0


def migrate(db) -> None:
    with using(db), db.atomic():
        db.create_tables(MODELS, safe=True)
        if is_sqlite(db):
            for sql in SQLITE_INDEXES:
                db.execute_sql(sql)
        version = current_version(db)
        if version == 0:
            Meta.insert(name="schema_version", value=str(SCHEMA_VERSION)).on_conflict_ignore().execute()
            return
        # imported only for a home to upgrade: playhouse.migrate brings every engine's driver with it
        from playhouse.migrate import SchemaMigrator, migrate as run_migrations

        for step in range(version + 1, SCHEMA_VERSION + 1):
            run_migrations(*MIGRATIONS[step](SchemaMigrator.from_database(db)))
            Meta.update(value=str(step)).where(Meta.name == "schema_version").execute()
