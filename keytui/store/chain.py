"""The audit chain's per-append statements, written once per database in its own parameter style.

Every change appends to the chain: it reads the newest entry and the head anchor and moves the
anchor. Built by Peewee these three queries cost more than the append itself when a bulk
change (the demo's hundreds of issue and revoke batches) appends many times.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

from peewee import Database

from keytui.store.models import AuditEntry, Meta
from keytui.store.sql import table


class Last(NamedTuple):
    seq: int
    mac: str


class Head(NamedTuple):
    value: str


@dataclass(frozen=True)
class ChainSQL:
    last: str  # () -> (seq, mac) of the newest entry
    meta: str  # (name) -> value
    set_meta: str  # (name, value), inserted or replaced

    @staticmethod
    @lru_cache(maxsize=8)
    def for_param(p: str) -> "ChainSQL":
        m = table(Meta)
        return ChainSQL(last=f"SELECT seq, mac FROM {table(AuditEntry)} ORDER BY seq DESC LIMIT 1",
                        meta=f"SELECT value FROM {m} WHERE name = {p}",
                        set_meta=(f"INSERT INTO {m} (name, value) VALUES ({p}, {p}) "
                                  f"ON CONFLICT (name) DO UPDATE SET value = excluded.value"))


def last_entry(db: Database) -> Last | None:
    row = db.execute_sql(ChainSQL.for_param(db.param).last).fetchone()
    return Last(*row) if row else None


def meta_value(db: Database, name: str) -> Head | None:
    row = db.execute_sql(ChainSQL.for_param(db.param).meta, (name,)).fetchone()
    return Head(row[0]) if row else None


def set_meta(db: Database, name: str, value: str) -> None:
    db.execute_sql(ChainSQL.for_param(db.param).set_meta, (name, value))
