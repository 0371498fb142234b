"""Alerts: what the watch found that an operator should look at.

An alert is raised once: its dedupe key is unique, so two watch passes (or two processes) that
find the same thing store one alert. Raising and acknowledging are both audited.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from keytui.domain import InputError, NotFoundError
from keytui.service.context import Context, uses_store
from keytui.store.models import Alert, ApiKey
from keytui.store.sql import chunks

SEVERITIES = ("low", "medium", "high")
EVIDENCE_MAX = 50  # event ids kept as evidence per alert: the newest, so the last one is always there

# kind -> what it means (shown by `keytui alerts` and the console)
KINDS = {
    "expiring": "a key expires soon",
    "expired": "a key expired",
    "auto-rotated": "the watch rotated a key; hand the new token to its consumer before the grace period ends",
    "rotation-failed": "the watch could not rotate a key inside the rotation window",
    "failure-burst-key": "many failed verifications with one key in a short time",
    "failure-burst-ip": "many failed verifications from one IP address in a short time",
    "ip-not-allowed": "a valid token was presented from an IP outside its allowlist",
    "revoked-key-used": "a revoked key was presented",
    "expired-key-used": "an expired key was presented",
    "wrong-environment": "a token was presented in another environment (cross-environment misuse)",
    "audit-chain-broken": "the audit log was cut, rolled back or edited behind keytui's back (see `keytui audit verify`)",
    "row-tampering": "a key or secret row was changed without the master key (see `keytui audit verify`)",
}


@dataclass(frozen=True)
class AlertView:
    id: int
    created_at: datetime
    kind: str
    severity: str
    key_id: str | None
    key_name: str | None
    ip: str | None
    message: str
    evidence: list[int]
    acknowledged_at: datetime | None
    acknowledged_by: str | None

    def as_dict(self) -> dict:
        return {"id": self.id, "created_at": self.created_at.isoformat(), "kind": self.kind,
                "severity": self.severity, "key_id": self.key_id, "key_name": self.key_name, "ip": self.ip,
                "message": self.message, "evidence": self.evidence,
                "acknowledged_at": self.acknowledged_at.isoformat() if self.acknowledged_at else None,
                "acknowledged_by": self.acknowledged_by}


def _views(rows: list[Alert]) -> list[AlertView]:
    names = {}
    for chunk in chunks({r.key_id for r in rows if r.key_id}):
        names.update(ApiKey.select(ApiKey.key_id, ApiKey.name).where(ApiKey.key_id.in_(chunk)).tuples())
    return [AlertView(r.id, r.created_at, r.kind, r.severity, r.key_id, names.get(r.key_id), r.ip, r.message,
                      json.loads(r.evidence), r.acknowledged_at, r.acknowledged_by) for r in rows]


@uses_store
def list_alerts(ctx: Context, *, include_acknowledged: bool = False, key_id: str | None = None,
                limit: int = 200) -> list[AlertView]:
    """Newest first; open alerts only unless include_acknowledged."""
    q = Alert.select().order_by(Alert.id.desc()).limit(limit)
    if not include_acknowledged:
        q = q.where(Alert.acknowledged_at.is_null())
    if key_id:
        q = q.where(Alert.key_id == key_id.strip().lower())
    return _views(list(q))


@uses_store
def get(ctx: Context, alert_id: int) -> AlertView:
    row = Alert.get_or_none(Alert.id == _alert_id(alert_id))
    if row is None:
        raise NotFoundError(f"alert: no alert with id {alert_id!r}")
    return _views([row])[0]


def _alert_id(value) -> int:
    try:
        return int(str(value).strip())
    except ValueError:
        raise InputError("alert", f"{value!r} is not an alert id (a whole number)") from None


@uses_store
def acknowledge(ctx: Context, alert_id: int | str) -> AlertView:
    """Mark an alert as seen by the context's operator (audited); acknowledging twice changes nothing."""
    ctx.require_writable()
    alert_id = _alert_id(alert_id)
    with ctx.transaction():
        row = Alert.get_or_none(Alert.id == alert_id)
        if row is None:
            raise NotFoundError(f"alert: no alert with id {alert_id}")
        if row.acknowledged_at is None:
            Alert.update(acknowledged_at=ctx.now(), acknowledged_by=ctx.operator).where(
                Alert.id == alert_id).execute()
            ctx.audit("alert.acknowledge", row.key_id, alert=alert_id, kind=row.kind)
    return get(ctx, alert_id)


@uses_store
def raise_alert(ctx: Context, *, kind: str, severity: str, message: str, dedupe_key: str, key_id: str | None = None,
                ip: str | None = None, evidence: list[int] = ()) -> int | None:
    """Store an alert unless one with the same dedupe key exists; returns its id when new.
    Runs inside the caller's write transaction (the watch pass), so the check and the insert
    cannot interleave with another process's; the unique dedupe key backs that up."""
    if kind not in KINDS or severity not in SEVERITIES:
        raise ValueError(f"alert: unknown kind {kind!r} or severity {severity!r}")
    dedupe_key = dedupe_key[:128]
    if Alert.select().where(Alert.dedupe_key == dedupe_key).exists():
        return None
    new_id = Alert.insert(created_at=ctx.now(), kind=kind, severity=severity, key_id=key_id, ip=ip,
                          message=message, evidence=json.dumps(sorted(evidence)[-EVIDENCE_MAX:]),
                          dedupe_key=dedupe_key).execute()
    ctx.audit("alert.raise", key_id, alert=new_id, kind=kind, severity=severity, ip=ip)
    return new_id


@uses_store
def open_alert_exists(ctx: Context, kind: str, key_id: str | None, ip: str | None = None) -> bool:
    q = Alert.select().where((Alert.kind == kind) & Alert.acknowledged_at.is_null())
    q = q.where(Alert.key_id == key_id) if key_id else q.where(Alert.key_id.is_null())
    if ip:
        q = q.where(Alert.ip == ip)
    return q.exists()


@uses_store
def last_evidence(ctx: Context, kind: str, *, key_id: str | None = None, ip: str | None = None) -> tuple[int, bool]:
    """The newest event id used as evidence by the latest alert of this kind for this key or IP
    (0 if none), and whether that alert is still open."""
    q = (Alert.select(Alert.evidence, Alert.acknowledged_at).where(Alert.kind == kind)
         .order_by(Alert.id.desc()))
    q = q.where(Alert.key_id == key_id) if key_id else q.where(Alert.ip == ip)
    row = q.first()
    ids = json.loads(row.evidence) if row else []
    return (max(ids) if ids else 0), bool(row and row.acknowledged_at is None)
