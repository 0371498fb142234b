"""Binding the models to a database: embedded SQLite by default, PostgreSQL via KEYTUI_DATABASE_URL.

Several processes (TUI, its worker, CLI, gateway) share one SQLite file: WAL lets readers run
beside the writer, every write transaction starts with BEGIN IMMEDIATE (so no transaction has
to upgrade a read lock and fail with "database is locked"), and a generous busy timeout makes
writers queue instead of failing.
"""

from __future__ import annotations

import hmac

from peewee import Database, SqliteDatabase

from keytui.config import ConfigError, Settings, create_private_file
from keytui.store import migrations
from keytui.store.binding import using
from keytui.store.models import Meta

BUSY_TIMEOUT_S = 60
MASTER_KEY_CHECK = "master_key_check"
SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    # WAL + NORMAL: a committed transaction survives a killed process; only an OS crash or
    # power loss can drop the last commits. The benchmarks compare against the same setting.
    "synchronous": "normal",
    "cache_size": -16000,
}


def open_database(settings: Settings) -> Database:
    if settings.database_url:
        from playhouse.db_url import connect

        db = connect(settings.database_url)
    else:
        create_private_file(settings.db_path)
        db = SqliteDatabase(str(settings.db_path), pragmas=SQLITE_PRAGMAS, timeout=BUSY_TIMEOUT_S,
                            lock_type="IMMEDIATE", check_same_thread=False)
    db.connect(reuse_if_open=True)
    with using(db):
        migrations.migrate(db)
    return db


def bind_master_key(db: Database, check_value: str) -> None:
    """The first master key to open the database is the only one it accepts: a wrong key would
    otherwise issue tokens that the other processes cannot verify and cannot decrypt."""
    with using(db):
        stored = Meta.get_or_none(Meta.name == MASTER_KEY_CHECK)
        if stored is None:
            with db.atomic():
                Meta.insert(name=MASTER_KEY_CHECK, value=check_value).on_conflict_ignore().execute()
                stored = Meta.get(Meta.name == MASTER_KEY_CHECK)
    if not hmac.compare_digest(stored.value, check_value):
        raise ConfigError("master key: this database was created with a different master key "
                          "(check KEYTUI_MASTER_KEY or the master.key file in the home)")
