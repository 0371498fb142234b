"""The watch: the background worker that keeps the registry honest.

One pass marks expired keys `expired`, auto-rotates keys inside the rotation window, raises
expiry alerts, runs suspicious-activity detection over the events since the last pass,
re-judges org policy flags, and folds finished days of usage counters (keytui.rollup). It acts as the `system` operator, so each change is audited as done
by `system`.

A pass is one write transaction (BEGIN IMMEDIATE on SQLite): a second process starting a pass
at the same moment waits for the first and then finds nothing left to do, so no key is rotated
twice and no alert is raised twice (alert dedupe keys are unique as well). Verifications from
other processes queue behind the pass for its few milliseconds, as behind any write.

Detection reads the activity events, so with Usage Monitoring off it sees nothing; the hourly
counters keep the charts alive but carry no IP or code, which detection needs.
"""

from __future__ import annotations

import signal
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable

from keytui.clock import from_ms, to_ms
from peewee import SQL

from keytui.domain import RuleError, Status, live_sql
from keytui.service import alerts, audit, integrity, lifecycle, orgpolicy, policies, rollup
from keytui.service.context import Context, uses_store
from keytui.service.integrity import TAMPERED
from keytui.store.models import ActivityEvent, ApiKey, KeySecret, Meta
from keytui.store.sql import chunks

SYSTEM = "system"
CURSOR = "watch_event_cursor"  # the last event id detection has looked at
LAST_PASS = "watch_last_pass"  # epoch ms of the last pass
FIRST_PASS_LOOKBACK = timedelta(hours=24)  # how far the very first pass looks back
DEFAULT_INTERVAL_S = 60.0


@dataclass
class PassReport:
    at: datetime
    expired: list[str] = field(default_factory=list)
    rotated: list[str] = field(default_factory=list)
    rotation_failed: dict[str, str] = field(default_factory=dict)
    alerts: list[int] = field(default_factory=list)
    events_scanned: int = 0
    flagged: int = 0
    cleared: int = 0
    days_folded: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return {"at": self.at.isoformat(), "expired": self.expired, "rotated": self.rotated,
                "rotation_failed": self.rotation_failed, "alerts": self.alerts,
                "events_scanned": self.events_scanned, "flagged": self.flagged, "cleared": self.cleared,
                "days_folded": self.days_folded,
                "seconds": round(self.seconds, 3)}

    def summary(self) -> str:
        return (f"{self.at:%Y-%m-%d %H:%M:%S} expired {len(self.expired)}, rotated {len(self.rotated)}"
                f"{f' ({len(self.rotation_failed)} failed)' if self.rotation_failed else ''}, "
                f"{len(self.alerts)} new alerts, {self.events_scanned} events scanned")


def _meta(name: str) -> str | None:
    row = Meta.get_or_none(Meta.name == name)
    return row.value if row else None


def _set_meta(name: str, value: str) -> None:
    Meta.insert(name=name, value=value).on_conflict(conflict_target=[Meta.name], update={Meta.value: value}).execute()


@uses_store
def run_pass(ctx: Context) -> PassReport:
    """One idempotent pass of the watch (see the module docstring)."""
    started = time.perf_counter()
    system = ctx.as_operator(SYSTEM)
    system.require_writable()
    now = system.now()
    report = PassReport(now)
    with system.transaction():
        audit.check_head(system)
        for key_id, problem in integrity.revocations_undone():
            _raise(system, report, "row-tampering", "high", problem, f"revocation-undone:{key_id}", key_id=key_id)
        settings = policies.read_all(system)
        last = _meta(LAST_PASS)
        since = from_ms(int(last)) if last else now - FIRST_PASS_LOOKBACK
        report.expired = lifecycle.expire_due(system)
        if settings["auto_rotation"]:
            _auto_rotate(system, settings, report)
        if settings["expiry_alerts"]:
            _expiry_alerts(system, settings, since, report)
        newest = ActivityEvent.select(ActivityEvent.id).order_by(ActivityEvent.id.desc()).scalar() or 0
        cursor = int(_meta(CURSOR) or _first_cursor(since, newest))
        if settings["suspicious_detection"] and newest > cursor:
            report.events_scanned = _detect(system, settings, cursor, newest, report)
        _set_meta(CURSOR, str(max(cursor, newest)))
        report.days_folded = rollup.fold_complete_days(system, now)
        _set_meta(LAST_PASS, str(to_ms(now)))
    report.flagged, report.cleared = orgpolicy.refresh_flags(system)
    report.seconds = time.perf_counter() - started
    return report


def _first_cursor(since: datetime, newest: int) -> int:
    """The very first pass looks back FIRST_PASS_LOOKBACK, not over all history: an install on a
    database with months of events should not open with an alert for every old failure."""
    first = (ActivityEvent.select(ActivityEvent.id).where(ActivityEvent.ts >= since)
             .order_by(ActivityEvent.id).limit(1).scalar())
    return first - 1 if first else newest


# ---------------------------------------------------------------------------------- rotation and expiry
def _window(settings: dict, name: str) -> timedelta:
    return timedelta(days=settings[name])


def _auto_rotate(system, settings: dict, report: PassReport) -> None:
    """Rotate active keys expiring within the window, once: a key whose current token was issued
    inside the window (by an earlier pass, or by hand) is left alone."""
    now = system.now()
    window = _window(settings, "auto_rotation_days")
    due = (ApiKey.select(ApiKey.id, ApiKey.key_id, ApiKey.expires_at)
           .where(SQL(live_sql(to_ms(now))) & (ApiKey.expires_at <= now + window)).order_by(ApiKey.expires_at))
    for row in due:
        newest = (KeySecret.select(KeySecret.created_at).where((KeySecret.key == row.id) & KeySecret.ended_by.is_null())
                  .order_by(KeySecret.id.desc()).scalar())
        if newest is not None and newest >= row.expires_at - window:
            continue
        try:
            with system.transaction():
                issued = lifecycle.rotate(system, row.key_id, origin="auto-rotate")
        except RuleError as exc:
            report.rotation_failed[row.key_id] = str(exc)
            _raise(system, report, "rotation-failed", "high", f"auto-rotation refused: {exc}",
                   f"rotation-failed:{row.key_id}:{to_ms(row.expires_at)}", key_id=row.key_id)
            continue
        report.rotated.append(row.key_id)
        _raise(system, report, "auto-rotated", "low",
               f"rotated automatically; the previous token works until "
               f"{min(now + timedelta(hours=24), row.expires_at):%Y-%m-%d %H:%M} UTC; new expiry "
               f"{issued.key.expires_at:%Y-%m-%d}" if issued.key.expires_at else "rotated automatically",
               f"auto-rotated:{row.key_id}:{to_ms(row.expires_at)}", key_id=row.key_id)


def _expiry_alerts(system, settings: dict, since: datetime, report: PassReport) -> None:
    now = system.now()
    soon = now + _window(settings, "expiry_alert_days")
    expiring = ApiKey.select(ApiKey.key_id, ApiKey.name, ApiKey.expires_at, ApiKey.environment).where(
        SQL(live_sql(to_ms(now))) & (ApiKey.expires_at <= soon))
    for key_id, name, expires, env in expiring.tuples():
        days = (expires - now).total_seconds() / 86400
        _raise(system, report, "expiring", "medium" if env == "production" else "low",
               f"{name} ({env}) expires in {days:.1f} days, on {expires:%Y-%m-%d %H:%M} UTC",
               f"expiring:{key_id}:{to_ms(expires)}", key_id=key_id)
    ended = ApiKey.select(ApiKey.key_id, ApiKey.name, ApiKey.expires_at, ApiKey.environment).where(
        (ApiKey.status == Status.EXPIRED.value) & (ApiKey.expires_at > since) & (ApiKey.expires_at <= now))
    for key_id, name, expires, env in ended.tuples():
        _raise(system, report, "expired", "high" if env == "production" else "medium",
               f"{name} ({env}) expired on {expires:%Y-%m-%d %H:%M} UTC; its token no longer works",
               f"expired:{key_id}:{to_ms(expires)}", key_id=key_id)


def _raise(system, report: PassReport, kind: str, severity: str, message: str, dedupe_key: str, **kw) -> None:
    new_id = alerts.raise_alert(system, kind=kind, severity=severity, message=message, dedupe_key=dedupe_key, **kw)
    if new_id:
        report.alerts.append(new_id)


# ---------------------------------------------------------------------------------- detection
# verification code -> (alert kind, severity)
MISUSE = {
    "IP_NOT_ALLOWED": ("ip-not-allowed", "high"),
    "REVOKED": ("revoked-key-used", "high"),
    "EXPIRED": ("expired-key-used", "medium"),
    "WRONG_ENVIRONMENT": ("wrong-environment", "medium"),
    TAMPERED: ("row-tampering", "high"),
}


def _detect(system, settings: dict, cursor: int, newest: int, report: PassReport) -> int:
    """Alerts from the failed verifications in (cursor, newest]; returns how many events that range held.

    Bursts look back one window before the cursor, so a burst that straddles two passes is
    still seen; failures that continue an open burst alert for the same key or IP (within one
    window of its last evidence) are not reported again until it is acknowledged.
    """
    window_ms = settings["suspicious_window_minutes"] * 60_000
    threshold = settings["suspicious_failures"]
    first_new_ts = (ActivityEvent.select(ActivityEvent.ts).where(ActivityEvent.id > cursor)
                    .order_by(ActivityEvent.id).limit(1).scalar())
    lookback = first_new_ts - timedelta(milliseconds=window_ms)
    failed = list(ActivityEvent.select(ActivityEvent.id, ActivityEvent.ts, ActivityEvent.key_id, ActivityEvent.ip,
                                       ActivityEvent.code, ActivityEvent.environment)
                  .where((ActivityEvent.status == "failed") & (ActivityEvent.ts >= lookback)
                         & (ActivityEvent.id <= newest)).order_by(ActivityEvent.id).tuples())
    by_key, by_ip = defaultdict(list), defaultdict(list)
    misuse: dict[tuple, list[int]] = defaultdict(list)
    for ev_id, ts, key_id, ip, code, env in failed:
        ts_ms = to_ms(ts)
        if key_id:
            by_key[key_id].append((ev_id, ts_ms))
        if ip:
            by_ip[ip].append((ev_id, ts_ms))
        if ev_id > cursor and code in MISUSE and key_id:
            misuse[(code, key_id, ip if code == "IP_NOT_ALLOWED" else None, env)].append(ev_id)
    for key_id, evs in by_key.items():
        _bursts(system, report, "failure-burst-key", evs, cursor, threshold, window_ms, key_id=key_id)
    for ip, evs in by_ip.items():
        _bursts(system, report, "failure-burst-ip", evs, cursor, threshold, window_ms, ip=ip)
    _misuse_alerts(system, report, misuse)
    return (ActivityEvent.select().where((ActivityEvent.id > cursor) & (ActivityEvent.id <= newest)).count())


def _bursts(system, report: PassReport, kind: str, evs: list[tuple[int, int]], cursor: int, threshold: int,
            window_ms: int, *, key_id: str | None = None, ip: str | None = None) -> None:
    if len(evs) < threshold or evs[-1][0] <= cursor:
        return
    done, still_open = alerts.last_evidence(system, kind, key_id=key_id, ip=ip)
    # failures going on within the window after an open alert's evidence are the same burst
    done_ts = to_ms(ActivityEvent.get_by_id(done).ts) if still_open and done else None
    evs = [e for e in evs if e[0] > done and (done_ts is None or e[1] > done_ts + window_ms)]
    start = 0
    for end in range(len(evs)):
        while evs[end][1] - evs[start][1] > window_ms:
            start += 1
        if end - start + 1 < threshold:
            continue
        last = end
        while last + 1 < len(evs) and evs[last + 1][1] - evs[start][1] <= window_ms:
            last += 1
        burst = evs[start:last + 1]
        if burst[-1][0] > cursor:
            subject = f"key {key_id}" if key_id else f"IP {ip}"
            minutes = (burst[-1][1] - burst[0][1]) / 60_000
            _raise(system, report, kind, "high",
                   f"{len(burst)} failed verifications from {subject} within {minutes:.1f} minutes",
                   f"{kind}:{key_id or ip}:{burst[0][0]}", key_id=key_id, ip=ip, evidence=[e[0] for e in burst])
        return


def _misuse_alerts(system, report: PassReport, misuse: dict[tuple, list[int]]) -> None:
    key_envs = {}
    for chunk in chunks({k[1] for k in misuse}):
        key_envs.update(ApiKey.select(ApiKey.key_id, ApiKey.environment).where(ApiKey.key_id.in_(chunk)).tuples())
    for (code, key_id, ip, env), ev_ids in misuse.items():
        kind, severity = MISUSE[code]
        if alerts.open_alert_exists(system, kind, key_id, ip):
            continue
        key_env = key_envs.get(key_id, "?")
        if code == "WRONG_ENVIRONMENT":
            severity = "high" if "production" in (env, key_env) else "medium"
            message = f"a {key_env} token was presented in {env} {len(ev_ids)} time(s)"
        elif code == TAMPERED:
            message = (f"a token matched a key row changed without the master key {len(ev_ids)} time(s); "
                       "verification refused it (see `keytui audit verify`)")
        elif code == "IP_NOT_ALLOWED":
            message = f"a valid token was presented from {ip}, outside its allowlist, {len(ev_ids)} time(s)"
        else:
            message = f"the {code.lower()} key was presented {len(ev_ids)} time(s)"
        _raise(system, report, kind, severity, message, f"{kind}:{key_id}:{ip or env}:{ev_ids[0]}",
               key_id=key_id, ip=ip, evidence=ev_ids)


# ---------------------------------------------------------------------------------- the loop
def watch_loop(ctx: Context, *, interval: float = DEFAULT_INTERVAL_S, stop: threading.Event | None = None,
               on_report: Callable[[PassReport], None] | None = None, handle_signals: bool = False) -> int:
    """Run passes every `interval` seconds until `stop` is set; returns the number of passes.

    With handle_signals (the CLI), Ctrl-C and SIGTERM set `stop`: the pass under way finishes
    (or, if it has not started writing, never starts) and the loop ends cleanly.
    """
    stop = stop or threading.Event()
    if handle_signals:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
    passes = 0
    while not stop.is_set():
        report = run_pass(ctx)
        passes += 1
        if on_report:
            on_report(report)
        stop.wait(interval)
    return passes
