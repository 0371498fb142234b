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
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from keytui.clock import to_ms
from keytui.domain import RuleError
from keytui.service import integrity
from keytui.store import bulk, chain, meta
from keytui.store.locks import writers_lock
from keytui.store.models import ApiKey, AuditEntry, Operator

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


BREAK, REANCHOR = "audit.break", "audit.reanchor"


def append(ctx: "Context", entries: list[tuple[str, str | None, dict]], *, now: datetime | None = None) -> None:
    """Append (action, key_id, details) entries as the context's operator, in a few statements
    however many (bulk key creation). Must run inside the transaction of the change they record.

    The head anchor is checked against the last entry first. If they disagree (entries cut
    from the end, the head replaced or removed), the chain is not silently extended from
    whatever is left: an `audit.break` entry recording what was found goes first, and a high
    alert is raised, so the break stays reported until an operator re-anchors with MFA.
    """
    if entries:
        _write(ctx, entries, now or ctx.now(), check_head=True)


def check_head(ctx: "Context") -> bool:
    """Record a break if the head anchor disagrees with the log (the watch calls this each pass,
    so a cut log is reported even when nothing else is written). True if one was found."""
    with ctx.bound():
        return _write(ctx, [], ctx.now(), check_head=True)


def _write(ctx: "Context", entries: list, now: datetime, *, check_head: bool) -> bool:
    key = ctx.keyring.audit_key
    operator = ctx.operator
    writers_lock(ctx.db)  # taken already in ctx.transaction(); here for any other transaction
    last = chain.last_entry(ctx.db)
    broken = _head_problem(key, last, meta.get(HEAD), entries) if check_head else None
    if broken:
        entries = [(BREAK, None, {"problem": broken})] + list(entries)
    if not entries:
        return False
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
    meta.put(HEAD, head)
    if broken:
        from keytui.service import alerts  # alerts append through this module

        alerts.raise_alert(ctx, kind="audit-chain-broken", severity="high", dedupe_key=f"audit-break:{rows[0]['seq']}",
                           message=f"the audit log was tampered with: {broken}; run `keytui audit verify`")
    return bool(broken)


def _head_problem(key: bytes, last, head: str | None, appending=()) -> str | None:
    """What is wrong between the head anchor and the last entry, or None."""
    if last is None and head is None:
        return "the log is empty but keys or enrolled operators exist (entries deleted?)" \
            if _audited_state_exists(appending) else None
    end = last.seq if last else 0
    if head is None:
        return f"the log ends at entry {end} but the head anchor is missing (entries removed from the end?)"
    seq, _, rest = head.partition(":")
    if not seq.isdigit() or not hmac.compare_digest(head, _head_value(key, int(seq), rest.partition(":")[0])):
        return f"the log ends at entry {end} but the head anchor is not one keytui wrote"
    if last is None or int(seq) != last.seq or not hmac.compare_digest(rest.partition(":")[0], last.mac):
        return f"the log ends at entry {end} but the head anchor records entry {seq} (entries removed from the end?)"
    return None


@dataclass
class ChainReport:
    ok: bool
    entries: int
    problem: str | None = None
    seq: int | None = None
    problems: list[str] = field(default_factory=list)  # every problem not re-anchored, first one first
    acknowledged: int = 0  # problems an operator re-anchored (with MFA)

    def as_dict(self) -> dict:
        return {"ok": self.ok, "entries": self.entries, "problem": self.problem, "seq": self.seq,
                "problems": self.problems, "acknowledged": self.acknowledged}


def verify_chain(ctx: "Context") -> ChainReport:
    """The chain, its head, and every key and secret row's seal: the one check for tampering.
    Row problems cannot be re-anchored; they last as long as the row is wrong."""
    with ctx.bound():
        report = _verify_chain(ctx.keyring.audit_key)
        rows = integrity.scan(ctx.keyring)
    if not rows:
        return report
    problems = report.problems + rows
    return ChainReport(False, report.entries, problems[0], report.seq, problems, report.acknowledged)


def _verify_chain(key: bytes) -> ChainReport:
    found, count, acknowledged = _walk(key)
    open_problems = [(p, seq) for p, seq in found if p not in acknowledged]
    if not open_problems:
        return ChainReport(True, count, acknowledged=len(found))
    first, seq = open_problems[0]
    return ChainReport(False, count, first, seq, [p for p, _ in open_problems], len(found) - len(open_problems))


def _walk(key: bytes) -> tuple[list[tuple[str, int]], int, set[str]]:
    """Every (problem, seq) in the chain and at its end, the number of entries, and the problems
    acknowledged by re-anchor entries."""
    found: list[tuple[str, int]] = []
    acknowledged: set[str] = set()
    prev, expected, count, last = GENESIS, 1, 0, None
    for e in AuditEntry.select().order_by(AuditEntry.seq).iterator():
        if e.seq != expected:
            found.append((f"entry {expected} is missing (next is {e.seq})", expected))
        elif not hmac.compare_digest(e.prev_mac, prev):
            found.append((f"entry {e.seq} does not follow entry {e.seq - 1} (reordered or replaced)", e.seq))
        intact = hmac.compare_digest(_mac(key, e.seq, to_ms(e.ts), e.operator, e.action, e.key_id, e.details,
                                          e.prev_mac), e.mac)
        if not intact:
            found.append((f"entry {e.seq} was modified", e.seq))
        elif e.action == BREAK:
            found.append((json.loads(e.details).get("problem", "the chain was broken"), e.seq))
        elif e.action == REANCHOR:
            acknowledged.update(json.loads(e.details).get("acknowledged", []))
        prev, expected, count, last = e.mac, e.seq + 1, count + 1, e
    problem = _head_problem(key, last, meta.get(HEAD))
    if problem:
        found.append((problem, count))
    return found, count, acknowledged


def reanchor(ctx: "Context", totp: str | None) -> list[str]:
    """An operator who has looked at the breaks `audit verify` reports accepts them (MFA, audited):
    later checks report only what happens after. Returns the problems acknowledged."""
    from keytui.service import mfa  # mfa audits through this module

    ctx.require_writable()
    with ctx.bound():
        if _verify_chain(ctx.keyring.audit_key).ok:
            raise RuleError("audit: the log is intact; there is nothing to re-anchor")
        mfa.confirm(ctx, totp)
        with ctx.transaction():
            report = _verify_chain(ctx.keyring.audit_key)
            ctx.audit(REANCHOR, None, acknowledged=report.problems)
    return report.problems


def _audited_state_exists(appending=()) -> bool:
    """Keys and enrolments are only ever created by audited changes, so an empty log beside them
    was emptied (those being appended now are the ones this transaction created)."""
    keys = sum(1 for action, _, _ in appending if action == "key.create")
    operators = sum(1 for action, _, _ in appending if action == "mfa.enroll")
    return ApiKey.select().count() > keys or Operator.select().count() > operators


def entries(ctx: "Context", key_id: str | None = None, limit: int | None = None) -> list[dict]:
    """Audit entries, newest first (all, or one key's)."""
    with ctx.bound():
        return _entries(key_id, limit)


def _entries(key_id: str | None, limit: int | None) -> list[dict]:
    q = AuditEntry.select().order_by(AuditEntry.seq.desc())
    if key_id:
        q = q.where(AuditEntry.key_id == key_id.strip().lower())
    if limit:
        q = q.limit(limit)
    return [{"seq": e.seq, "ts": e.ts.isoformat(), "operator": e.operator, "action": e.action,
             "key_id": e.key_id, "details": json.loads(e.details)} for e in q]
