"""The audit chain's newest entry, read with a statement written once (the head anchor it is
checked against lives in `keytui.store.meta`).

Every change appends to the chain and reads its newest entry first; built by Peewee that query
cost more than the append itself when a bulk change (the demo's hundreds of issue and revoke
batches) appends many times.
"""

from __future__ import annotations

from typing import NamedTuple

from peewee import Database

from keytui.store.models import AuditEntry
from keytui.store.sql import table


class Last(NamedTuple):
    seq: int
    mac: str


LAST = f"SELECT seq, mac FROM {table(AuditEntry)} ORDER BY seq DESC LIMIT 1"


def last_entry(db: Database) -> Last | None:
    row = db.execute_sql(LAST).fetchone()
    return Last(*row) if row else None
