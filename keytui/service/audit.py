"""The tamper-evident audit log.

Each entry's MAC covers its sequence number, content and the previous entry's MAC under a key
derived from the master key, and a MAC'd head anchor records the last sequence number. Editing,
deleting, inserting or reordering rows, or cutting the tail off, breaks the chain, and without
the master key nobody can forge a new one. Entries are written inside the caller's transaction,
so a change and its audit entry land together or not at all.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from keytui.clock import to_ms
from keytui.store import bulk
from keytui.store.binding import using
from keytui.store.models import ApiKey, AuditEntry, Meta, Operator

if TYPE_CHECKING:  # the context appends through this module, so it is imported there, not here
    from keytui.service.context import Context

GENESIS = "0" * 64
HEAD = "audit_head"


def canonical(details: dict) -> str:
    return json.dumps(details, sort_keys=True, separators=(",", ":"), default=str)


def _mac(key: bytes, seq: int, ts_ms: int, operator: str, action: str, key_id: str | None,
         details: str, prev_mac: str) -> str:
    body = json.dumps([seq, ts_ms, operator, action, key_id, details, prev_mac], separators=(",", ":"))
    return hmac.new(key, body.encode(), hashlib.sha256).hexdigest()


def _head_value(key: bytes, seq: int, mac: str) -> str:
    anchor = hmac.new(key, f"head:{seq}:{mac}".encode(), hashlib.sha256).hexdigest()
    return f"{seq}:{mac}:{anchor}"


def append(ctx: "Context", entries: list[tuple[str, str | None, dict]], *, now: datetime | None = None) -> None:
    """Append (action, key_id, details) entries as the context's operator, in a few statements
    however many (bulk key creation). Must run inside the transaction of the change they record."""
    if not entries:
        return
    key = ctx.keyring.audit_key
    operator = ctx.operator
    now = now or ctx.now()
    last = AuditEntry.select(AuditEntry.seq, AuditEntry.mac).order_by(AuditEntry.seq.desc()).first()
    seq = last.seq if last else 0
    prev = last.mac if last else GENESIS
    ts_ms = to_ms(now)
    rows = []
    for action, key_id, details in entries:
        seq += 1
        text = canonical(details)
        mac = _mac(key, seq, ts_ms, operator, action, key_id, text, prev)
        rows.append(dict(seq=seq, ts=ts_ms, operator=operator, action=action, key_id=key_id, details=text,
                         prev_mac=prev, mac=mac))
        prev = mac
    bulk.insert_rows(ctx.db, AuditEntry, rows)
    head = _head_value(key, seq, prev)
    Meta.insert(name=HEAD, value=head).on_conflict(conflict_target=[Meta.name], update={Meta.value: head}).execute()


@dataclass
class ChainReport:
    ok: bool
    entries: int
    problem: str | None = None
    seq: int | None = None


def verify_chain(ctx: "Context") -> ChainReport:
    with using(ctx.db):
        return _verify_chain(ctx.keyring.audit_key)


def _verify_chain(key: bytes) -> ChainReport:
    prev = GENESIS
    expected = 1
    count = 0
    for e in AuditEntry.select().order_by(AuditEntry.seq).iterator():
        if e.seq != expected:
            return ChainReport(False, count, f"entry {expected} is missing (next is {e.seq})", expected)
        if not hmac.compare_digest(e.prev_mac, prev):
            return ChainReport(False, count, f"entry {e.seq} does not follow entry {e.seq - 1} (reordered or replaced)", e.seq)
        mac = _mac(key, e.seq, to_ms(e.ts), e.operator, e.action, e.key_id, e.details, e.prev_mac)
        if not hmac.compare_digest(mac, e.mac):
            return ChainReport(False, count, f"entry {e.seq} was modified", e.seq)
        prev = e.mac
        expected += 1
        count += 1
    head = Meta.get_or_none(Meta.name == HEAD)
    if count == 0 and head is None:
        if _audited_state_exists():
            return ChainReport(False, 0, "the log is empty but keys or enrolled operators exist (entries deleted?)", 1)
        return ChainReport(True, 0)
    if head is None or not hmac.compare_digest(head.value, _head_value(key, count, prev)):
        return ChainReport(False, count, f"the log ends at entry {count} but the head anchor disagrees (entries removed from the end?)", count)
    return ChainReport(True, count)


def _audited_state_exists() -> bool:
    """Keys and enrolments are only ever created by audited changes, so an empty log beside them was emptied."""
    return any(model.select().exists() for model in (ApiKey, Operator))


def entries(ctx: "Context", key_id: str | None = None, limit: int | None = None) -> list[dict]:
    """Audit entries, newest first (all, or one key's)."""
    with using(ctx.db):
        return _entries(key_id, limit)


def _entries(key_id: str | None, limit: int | None) -> list[dict]:
    q = AuditEntry.select().order_by(AuditEntry.seq.desc())
    if key_id:
        q = q.where(AuditEntry.key_id == key_id.strip().lower())
    if limit:
        q = q.limit(limit)
    return [{"seq": e.seq, "ts": e.ts.isoformat(), "operator": e.operator, "action": e.action,
             "key_id": e.key_id, "details": json.loads(e.details)} for e in q]
