"""Copying a whole keytui database to another (SQLite to PostgreSQL and back), row for row.

Every table is copied with its ids, so the audit chain (whose MACs cover sequence numbers, not
row ids), the seals over key and secret rows and the master key check arrive intact: the copy
verifies with the same master key. The target is written in one transaction and must hold no
keytui rows: a copy never merges into or overwrites a database in use.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

from peewee import AutoField, Database, sort_models

from keytui.domain import RuleError
from keytui.store import migrations
from keytui.store.binding import using
from keytui.store.db import connect_url
from keytui.store.models import MODELS, Meta
from keytui.store.sql import chunks, is_sqlite, table

ROWS_PER_INSERT = 500


def connect(url: str) -> Database:
    """The target named by `url`: postgresql://… or sqlite:///PATH (a new file is made 0600)."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres", "sqlite"):
        raise RuleError(f"db copy: --to {safe_url(url)}: give postgresql://… or sqlite:///PATH")
    if parts.scheme == "sqlite" and parts.path and not os.path.exists(parts.path):
        os.close(os.open(parts.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY | getattr(os, "O_NOFOLLOW", 0), 0o600))
    db = connect_url(url)
    db.connect()
    return db


def safe_url(url: str) -> str:
    """The URL without user, password or query (sslmode, passfile…): what messages and the audit log show."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def copy_all(source: Database, target: Database) -> dict[str, int]:
    """Every row of every table from `source` into the empty `target`; rows per table."""
    _refuse_non_empty(target)
    migrations.migrate(target)
    copied = {}
    with using(target), target.atomic():
        Meta.delete().execute()  # the new schema's own version row; the source's rows replace it
        for model in sort_models(MODELS):
            with using(source):
                rows = list(model.select().order_by(model._meta.primary_key).tuples())
            fields = list(model._meta.sorted_fields)
            for part in chunks(rows, ROWS_PER_INSERT):
                model.insert_many(part, fields=fields).execute()
            if not is_sqlite(target) and isinstance(model._meta.primary_key, AutoField):
                _advance_sequence(target, model)
            copied[table(model)] = len(rows)
    return copied


def _refuse_non_empty(target: Database) -> None:
    with using(target):
        for model in MODELS:
            if target.table_exists(table(model)) and model.select().exists():
                raise RuleError(f"db copy: the target already holds keytui data (table {table(model)} has rows); "
                                "copy only into an empty database")


def _advance_sequence(db: Database, model) -> None:
    """PostgreSQL's id sequence past the copied ids, so the next insert does not collide."""
    name, column = table(model), model._meta.primary_key.column_name
    db.execute_sql(f"SELECT setval(pg_get_serial_sequence('{name}', '{column}'), "
                   f"COALESCE(MAX({column}), 1), MAX({column}) IS NOT NULL) FROM {name}")
