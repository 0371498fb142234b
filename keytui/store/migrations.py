"""Schema creation and versioned migrations.

The first run creates every table; later schema changes are added to MIGRATIONS as functions
taking a playhouse.migrate SchemaMigrator, applied once each in order, so existing data is kept.
"""

from __future__ import annotations

from peewee import CharField
from playhouse.migrate import SchemaMigrator, migrate as run_migrations

from keytui.store.binding import using
from keytui.store.models import MODELS, Meta

SCHEMA_VERSION = 2


def _row_seals(migrator: SchemaMigrator) -> list:
    """Version 2: key and secret rows carry a seal (keytui.service.integrity). The migration has
    no master key, so it only adds the columns and leaves a note; the first open with the key
    seals the existing rows, once, audited."""
    Meta.insert(name="unsealed_rows", value="v1").on_conflict_ignore().execute()
    return [migrator.add_column("api_key", "seal", CharField(max_length=64, null=True)),
            migrator.add_column("key_secret", "seal", CharField(max_length=64, null=True))]


# version -> function(migrator) returning a list of migrator operations
MIGRATIONS: dict[int, callable] = {2: _row_seals}


def current_version(db) -> int:
    with using(db):
        row = Meta.get_or_none(Meta.name == "schema_version")
    return int(row.value) if row else 0


def migrate(db) -> None:
    with using(db), db.atomic():
        db.create_tables(MODELS, safe=True)
        version = current_version(db)
        if version == 0:
            Meta.insert(name="schema_version", value=str(SCHEMA_VERSION)).on_conflict_ignore().execute()
            return
        for step in range(version + 1, SCHEMA_VERSION + 1):
            run_migrations(*MIGRATIONS[step](SchemaMigrator.from_database(db)))
            Meta.update(value=str(step)).where(Meta.name == "schema_version").execute()
