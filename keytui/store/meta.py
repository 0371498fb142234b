"""The meta table's named values (the audit head, the watch's cursors, the folded days, the home
kind), read and written on the database in use (`keytui.store.binding.using`).

One statement each, written once per parameter style: the audit chain moves its head on every
change, and Peewee built that upsert afresh each time (more than the append itself in a bulk
issue), with a copy of the same helpers in each service module that kept a value here.
"""

from __future__ import annotations

from functools import lru_cache

from keytui.store.models import Meta
from keytui.store.sql import table


@lru_cache(maxsize=8)
def _statements(param: str) -> tuple[str, str]:
    m = table(Meta)
    return (f"SELECT value FROM {m} WHERE name = {param}",
            f"INSERT INTO {m} (name, value) VALUES ({param}, {param}) "
            f"ON CONFLICT (name) DO UPDATE SET value = excluded.value")


def get(name: str) -> str | None:
    db = Meta._meta.database
    row = db.execute_sql(_statements(db.param)[0], (name,)).fetchone()
    return row[0] if row else None


def put(name: str, value: str) -> None:
    """Insert or replace the value (in the caller's transaction)."""
    db = Meta._meta.database
    db.execute_sql(_statements(db.param)[1], (name, value))
