"""A rotation you can watch: during its grace period, which callers still present the old token
and which already use the new one (verification records which secret matched), ending the
grace period early once the old token has gone quiet, and an alert when the grace period is
about to end while the old token is still in use.

Caller traffic comes from the activity log, so it needs Usage Monitoring on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from peewee import Case, fn

from keytui.domain import RuleError, is_live
from keytui.service import alerts, integrity
from keytui.service.context import Context, uses_store
from keytui.service.keys import refuse_if_final, row, view
from keytui.service.views import KeyView
from keytui.store.models import ActivityEvent, ApiKey, KeySecret

QUIET = timedelta(hours=1)  # the old token unused this long has "gone quiet"
GRACE_ALERT_BEFORE = timedelta(hours=2)  # alert this long before a grace period ends, if still in use


@dataclass(frozen=True)
class Caller:
    ip: str | None
    module: str
    calls: int
    failed: int
    last_seen: datetime

    def as_dict(self) -> dict:
        return {"ip": self.ip, "module": self.module, "calls": self.calls, "failed": self.failed,
                "last_seen": self.last_seen.isoformat()}


@dataclass(frozen=True)
class RotationTraffic:
    key_id: str
    rotated_at: datetime
    grace_ends: datetime
    old_hints: tuple[str, ...]
    new_hint: str | None
    old_callers: tuple[Caller, ...]
    new_callers: tuple[Caller, ...]
    old_last_used: datetime | None
    quiet: bool  # the old token unused for QUIET (or ever since the rotation)

    def as_dict(self) -> dict:
        return {"key_id": self.key_id, "rotated_at": self.rotated_at.isoformat(),
                "grace_ends": self.grace_ends.isoformat(), "old_hints": list(self.old_hints),
                "new_hint": self.new_hint, "old_callers": [c.as_dict() for c in self.old_callers],
                "new_callers": [c.as_dict() for c in self.new_callers],
                "old_last_used": self.old_last_used.isoformat() if self.old_last_used else None,
                "quiet": self.quiet}


def _in_grace(key: ApiKey, now: datetime) -> list[KeySecret]:
    """The key's old secrets that a rotation left working for now."""
    return list(KeySecret.select().where((KeySecret.key == key.id) & (KeySecret.ended_by == "rotation")
                                         & (KeySecret.valid_until > now)).order_by(KeySecret.id))


def _callers(key_id: str, secret_ids: list[int], since: datetime) -> dict[int, list[Caller]]:
    failed = fn.SUM(Case(None, [(ActivityEvent.status == "failed", 1)], 0))
    q = (ActivityEvent.select(ActivityEvent.secret_id, ActivityEvent.ip, ActivityEvent.module,
                              fn.COUNT(ActivityEvent.id), failed, fn.MAX(ActivityEvent.ts))
         .where((ActivityEvent.key_id == key_id) & (ActivityEvent.ts >= since)
                & ActivityEvent.secret_id.in_(secret_ids))
         .group_by(ActivityEvent.secret_id, ActivityEvent.ip, ActivityEvent.module).tuples())
    out: dict[int, list[Caller]] = {}
    for secret_id, ip, module, calls, failures, last in q:
        last = ActivityEvent.ts.python_value(last) if isinstance(last, int) else last
        out.setdefault(secret_id, []).append(Caller(ip, module, int(calls), int(failures or 0), last))
    for callers in out.values():
        callers.sort(key=lambda c: c.last_seen, reverse=True)
    return out


@uses_store
def traffic(ctx: Context, key_id: str) -> RotationTraffic | None:
    """Who presents the old and the new token since the rotation; None outside a grace period."""
    key = row(key_id)
    now = ctx.now()
    old = _in_grace(key, now) if is_live(key.status, key.expires_at, now) else []
    if not old:
        return None
    new = (KeySecret.select().where((KeySecret.key == key.id) & KeySecret.ended_by.is_null())
           .order_by(KeySecret.id.desc()).first())
    since = new.created_at if new else old[0].created_at
    callers = _callers(key.key_id, [s.id for s in old] + ([new.id] if new else []), since)
    old_callers = sorted((c for s in old for c in callers.get(s.id, [])), key=lambda c: c.last_seen, reverse=True)
    old_last = old_callers[0].last_seen if old_callers else None
    return RotationTraffic(key.key_id, since, max(s.valid_until for s in old), tuple(s.hint for s in old),
                           new.hint if new else None, tuple(old_callers),
                           tuple(callers.get(new.id, []) if new else ()), old_last,
                           old_last is None or old_last <= now - QUIET)


@uses_store
def end_grace(ctx: Context, key_id: str, *, force: bool = False) -> KeyView:
    """Stop the old token now instead of at the end of its grace period (audited). Refused while
    the old token is still in use (presented within QUIET) unless forced."""
    ctx.require_writable()
    now = ctx.now()
    with ctx.transaction():
        key = row(key_id)
        refuse_if_final(key, "changed")
        integrity.refuse_tampered(ctx.keyring, key)
        seen = traffic(ctx, key.key_id)
        if seen is None:
            raise RuleError(f"grace: {key.key_id} has no rotation grace period in progress")
        if not seen.quiet and not force:
            last = seen.old_callers[0]
            minutes = (now - last.last_seen).total_seconds() / 60
            raise RuleError(f"grace: the old token was presented {minutes:.0f} min ago from {last.ip or '-'} "
                            f"({last.module}); wait until it goes quiet ({QUIET.total_seconds() / 3600:g} h), "
                            f"or force it")
        old = _in_grace(key, now)
        KeySecret.update(valid_until=now).where(KeySecret.id.in_([s.id for s in old])).execute()
        integrity.reseal(ctx.db, ctx.keyring, [key.id])
        ctx.audit("key.end_grace", key.key_id, hints=[s.hint for s in old], forced=force and not seen.quiet,
                  previous_valid_until=seen.grace_ends.isoformat())
    return view(ctx, key)


def grace_ending_alerts(system: Context) -> list[int]:
    """In the watch's transaction: an alert for each grace period ending within
    GRACE_ALERT_BEFORE whose old token was presented within QUIET."""
    now = system.now()
    ending = (KeySecret.select(KeySecret, ApiKey).join(ApiKey)
              .where((KeySecret.ended_by == "rotation") & (KeySecret.valid_until > now)
                     & (KeySecret.valid_until <= now + GRACE_ALERT_BEFORE) & (ApiKey.canary == False)))  # noqa: E712
    raised = []
    for secret in ending:
        key = secret.key
        if not is_live(key.status, key.expires_at, now):
            continue
        recent = _callers(key.key_id, [secret.id], now - QUIET).get(secret.id)
        if not recent:
            continue
        who = ", ".join(f"{c.ip or '-'} ({c.module})" for c in recent[:5])
        new_id = alerts.raise_alert(
            system, kind="grace-ending", severity="high" if key.environment == "production" else "medium",
            key_id=key.key_id, ip=recent[0].ip,
            message=f"{key.name} ({key.environment}): the old token {secret.hint} stops working at "
                    f"{secret.valid_until:%Y-%m-%d %H:%M} UTC and is still presented by {who}",
            dedupe_key=f"grace-ending:{secret.id}")
        if new_id:
            raised.append(new_id)
    return raised
