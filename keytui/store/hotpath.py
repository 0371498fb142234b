"""The verification hot path's SQL, written once per database in its own parameter style.

Building a Peewee query per call costs more than the lookup itself (see DESIGN.md), so these
statements are plain text executed with `execute_sql` / `keytui.store.sql.execute_many`.
"""

from __future__ import annotations

from dataclasses import dataclass

from peewee import Database

from keytui.store.models import ActivityEvent, ApiKey, KeySecret, UsageRollup
from keytui.store.sql import is_sqlite, table


LOOKUP_MANY = 500  # digests per lookup_many statement, by default (a last short chunk repeats its last digest)
_LOOKUP_COLUMNS = ("k.id, k.key_id, k.scope, k.permissions, k.environment, k.status, k.expires_at, k.ip_allowlist, "
                   "s.valid_until, s.ended_by, k.revoked_at, k.expiry_days, k.seal, s.created_at, s.seal, s.id, k.canary")


@dataclass(frozen=True)
class VerificationSQL:
    lookup: str  # (digest) -> the key and secret fields verification judges, and the rows' seals
    lookup_many: str  # (`many` digests) -> (digest, the same fields) for each one that matches
    many: int
    insert_event: str
    touch_key: str  # last_used_at (successful verifications), only forward
    bump_rollup: str  # the hourly counters, upserted

    @classmethod
    def for_database(cls, db: Database, many: int = LOOKUP_MANY) -> "VerificationSQL":
        p = db.param
        k, s, e, r = table(ApiKey), table(KeySecret), table(ActivityEvent), table(UsageRollup)
        joined = f"FROM {s} s JOIN {k} k ON k.id = s.{KeySecret.key.column_name}"
        return cls(
            lookup=f"SELECT {_LOOKUP_COLUMNS} {joined} WHERE s.digest = {p}",
            lookup_many=f"SELECT s.digest, {_LOOKUP_COLUMNS} {joined} WHERE s.digest IN ({', '.join([p] * many)})",
            many=many,
            insert_event=(f"INSERT INTO {e} (ts, key_id, module, action, status, code, ip, environment, secret_id) "
                          f"VALUES ({p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p})"),
            touch_key=(f"UPDATE {k} SET last_used_at = {p} WHERE id = {p} "
                       f"AND (last_used_at IS NULL OR last_used_at < {p})"),
            bump_rollup=(f"INSERT INTO {r} (hour, key_id, module, ok, failed) VALUES ({p}, {p}, {p}, {p}, {p}) "
                         f"ON CONFLICT (hour, key_id, module) DO UPDATE SET ok = {r}.ok + excluded.ok, "
                         f"failed = {r}.failed + excluded.failed"),
        )


def transaction_id(db: Database) -> int | None:
    """The open transaction's id on PostgreSQL; None on SQLite, whose COMMIT is local: when it
    raises, nothing was committed."""
    return None if is_sqlite(db) else db.execute_sql("SELECT txid_current()").fetchone()[0]


def transaction_status(db: Database, txid: int) -> str | None:
    """'committed', 'aborted' or 'in progress'; None once the server no longer remembers it
    (PostgreSQL keeps the outcome of every recent transaction: `txid_status`)."""
    return db.execute_sql("SELECT txid_status(%s)", (txid,)).fetchone()[0]
