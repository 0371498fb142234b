"""The watch: the background worker that keeps the registry honest.

One pass marks expired keys `expired`, auto-rotates keys inside the rotation window, raises
expiry alerts, runs suspicious-activity detection over the events since the last pass,
re-judges org policy flags, and folds finished days of usage counters (keytui.rollup). It acts
as the `system` operator, so each change is audited as done by `system`.

A pass is many short transactions (keytui.service.paced), never one long one: on SQLite a
transaction holds the database's only write lock, and a pass over 20,000 keys held it for 24 s
while every gateway verification waited and failed. Each unit re-checks inside its own
transaction that it is still due (a key still live and unrotated inside the window, an alert
not yet raised, a day not yet folded), so a pass killed at any point leaves every committed
unit done and the next pass does the rest exactly once. Two passes (two processes, or the
console and `keytui watch`) take turns on the home's watch lock, so the second finds nothing
left to do.
"""

from __future__ import annotations

import signal
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable

from peewee import SQL

from keytui.clock import from_ms, to_ms
from keytui.domain import RuleError, Status, StoreUnavailable, is_live, live_sql
from keytui.service import (alerts, audit, canaries, delivery, detection, integrity, lifecycle, orgpolicy, policies,
                            rollup, rotation)
from keytui.service.context import Context, uses_store
from keytui.service.detection import Finding
from keytui.service.paced import Paced
from keytui.store.locks import watch_lock
from keytui.store import meta
from keytui.store.models import ApiKey, KeySecret

SYSTEM = "system"
CURSOR = "watch_event_cursor"  # the last event id detection has looked at
LAST_PASS = "watch_last_pass"  # epoch ms of the last pass
FIRST_PASS_LOOKBACK = timedelta(hours=24)  # how far the very first pass looks back
DEFAULT_INTERVAL_S = 60.0
SIGNAL_CHECK_S = 0.2  # how soon a stop by signal is seen while waiting for the next pass


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
    transactions: int = 0
    longest_transaction_ms: float = 0.0
    delivery: delivery.DeliveryReport = field(default_factory=delivery.DeliveryReport)

    def as_dict(self) -> dict:
        return {"at": self.at.isoformat(), "expired": self.expired, "rotated": self.rotated,
                "rotation_failed": self.rotation_failed, "alerts": self.alerts,
                "events_scanned": self.events_scanned, "flagged": self.flagged, "cleared": self.cleared,
                "days_folded": self.days_folded, "delivery": self.delivery.as_dict(),
                "seconds": round(self.seconds, 3),
                "transactions": self.transactions, "longest_transaction_ms": round(self.longest_transaction_ms, 1)}

    def summary(self) -> str:
        return (f"{self.at:%Y-%m-%d %H:%M:%S} expired {len(self.expired)}, rotated {len(self.rotated)}"
                f"{f' ({len(self.rotation_failed)} failed)' if self.rotation_failed else ''}, "
                f"{len(self.alerts)} new alerts, {self.events_scanned} events scanned"
                + (f", {self.delivery.delivered} alert deliveries sent, {self.delivery.retrying} to retry"
                   if self.delivery.delivered or self.delivery.retrying else ""))


@uses_store
def run_pass(ctx: Context, *, step_aside: bool = True) -> PassReport:
    """One idempotent pass of the watch (see the module docstring). Without `step_aside` each
    step is one transaction with no pauses: only for the demo's pass on the home it is
    building, where no other writer waits."""
    started = time.perf_counter()
    system = ctx.as_operator(SYSTEM)
    system.require_writable()
    with watch_lock(system.settings, system.db):
        now = system.now()
        report = PassReport(now)
        paced = Paced(system) if step_aside else Paced.unlimited(system)
        with paced.transaction():
            audit.check_head(system)
            for key_id, problem in integrity.revocations_undone():
                _raise(system, report, Finding("row-tampering", "high", problem, f"revocation-undone:{key_id}",
                                               key_id=key_id))
        settings = policies.read_all(system)
        last = meta.get(LAST_PASS)
        since = from_ms(int(last)) if last else now - FIRST_PASS_LOOKBACK
        report.expired = lifecycle.expire_due(system, paced)
        if settings["auto_rotation"]:
            _auto_rotate(system, paced, settings, report)
        if settings["expiry_alerts"]:
            _expiry_alerts(system, paced, settings, since, report)
        _detect(system, paced, settings, since, report)
        with paced.transaction():
            report.alerts += rotation.grace_ending_alerts(system)
        report.days_folded = rollup.fold_complete_days(system, now, paced)
        with paced.transaction():
            meta.put(LAST_PASS, str(to_ms(now)))
        report.flagged, report.cleared = orgpolicy.refresh_flags(system, paced)
        report.delivery = delivery.deliver_due(system)
    report.transactions, report.longest_transaction_ms = paced.transactions, paced.longest_s * 1000
    report.seconds = time.perf_counter() - started
    return report


def _raise(system: Context, report: PassReport, finding: Finding) -> None:
    new_id = alerts.raise_alert(system, kind=finding.kind, severity=finding.severity, message=finding.message,
                                dedupe_key=finding.dedupe_key, key_id=finding.key_id, ip=finding.ip,
                                evidence=list(finding.evidence))
    if new_id:
        report.alerts.append(new_id)


# ---------------------------------------------------------------------------------- rotation and expiry
def _window(settings: dict, name: str) -> timedelta:
    return timedelta(days=settings[name])


def _auto_rotate(system: Context, paced: Paced, settings: dict, report: PassReport) -> None:
    """Rotate active keys expiring within the window, once: a key whose current token was issued
    inside the window (by an earlier pass, or by hand) is left alone."""
    now = system.now()
    window = _window(settings, "auto_rotation_days")
    due = list(ApiKey.select(ApiKey.key_id)
               .where(SQL(live_sql(to_ms(now))) & (ApiKey.expires_at <= now + window) & ~ApiKey.canary)
               .order_by(ApiKey.expires_at).tuples())
    paced.each((key_id for (key_id,) in due), lambda key_id: _rotate_if_due(system, key_id, now, window, report))


def _rotate_if_due(system: Context, key_id: str, now: datetime, window: timedelta, report: PassReport) -> None:
    """Inside the key's transaction: still live, still inside the window, not yet rotated there?"""
    row = ApiKey.get_or_none(ApiKey.key_id == key_id)
    if row is None or row.expires_at is None or not is_live(row.status, row.expires_at, now):
        return
    if row.expires_at > now + window:
        return
    newest = (KeySecret.select(KeySecret.created_at).where((KeySecret.key == row.id) & KeySecret.ended_by.is_null())
              .order_by(KeySecret.id.desc()).scalar())
    if newest is not None and newest >= row.expires_at - window:
        return
    try:
        issued = lifecycle.rotate(system, key_id, origin="auto-rotate")
    except RuleError as exc:
        report.rotation_failed[key_id] = str(exc)
        _raise(system, report, Finding("rotation-failed", "high", f"auto-rotation refused: {exc}",
                                       f"rotation-failed:{key_id}:{to_ms(row.expires_at)}", key_id=key_id))
        return
    report.rotated.append(key_id)
    grace_end = min(now + timedelta(hours=24), row.expires_at)
    message = (f"rotated automatically; the previous token works until {grace_end:%Y-%m-%d %H:%M} UTC; new expiry "
               f"{issued.key.expires_at:%Y-%m-%d}" if issued.key.expires_at else "rotated automatically")
    _raise(system, report, Finding("auto-rotated", "low", message, f"auto-rotated:{key_id}:{to_ms(row.expires_at)}",
                                   key_id=key_id))


def _expiry_alerts(system: Context, paced: Paced, settings: dict, since: datetime, report: PassReport) -> None:
    now = system.now()
    soon = now + _window(settings, "expiry_alert_days")
    fields = (ApiKey.key_id, ApiKey.name, ApiKey.expires_at, ApiKey.environment)
    expiring = list(ApiKey.select(*fields).where(SQL(live_sql(to_ms(now))) & (ApiKey.expires_at <= soon)
                                                 & ~ApiKey.canary).tuples())
    ended = list(ApiKey.select(*fields).where((ApiKey.status == Status.EXPIRED.value) & (ApiKey.expires_at > since)
                                              & (ApiKey.expires_at <= now) & ~ApiKey.canary).tuples())
    findings = []
    for key_id, name, expires, env in expiring:
        days = (expires - now).total_seconds() / 86400
        findings.append(Finding("expiring", "medium" if env == "production" else "low",
                                f"{name} ({env}) expires in {days:.1f} days, on {expires:%Y-%m-%d %H:%M} UTC",
                                f"expiring:{key_id}:{to_ms(expires)}", key_id=key_id))
    for key_id, name, expires, env in ended:
        findings.append(Finding("expired", "high" if env == "production" else "medium",
                                f"{name} ({env}) expired on {expires:%Y-%m-%d %H:%M} UTC; its token no longer works",
                                f"expired:{key_id}:{to_ms(expires)}", key_id=key_id))
    paced.each(findings, lambda finding: _raise(system, report, finding))


def _detect(system: Context, paced: Paced, settings: dict, since: datetime, report: PassReport) -> None:
    """Detection over the events since the cursor; the cursor moves in the transaction that
    stores the last of the alerts found, never before them."""
    newest = detection.newest_event()
    cursor = int(meta.get(CURSOR) or detection.first_cursor(since, newest))
    findings: list[Finding] = []
    if settings["suspicious_detection"] and newest > cursor:
        findings, report.events_scanned = detection.detect(system, settings, cursor, newest)
    if newest > cursor:  # a canary is a tripwire: it alerts whatever the detection settings
        with paced.transaction():
            report.alerts += canaries.alert_on_use(system, cursor, newest,
                                                   settings["suspicious_window_minutes"] * 60_000)
    if findings or newest > cursor or meta.get(CURSOR) is None:
        paced.each(findings, lambda finding: _raise(system, report, finding),
                   finish=lambda: meta.put(CURSOR, str(max(cursor, newest))))


# ---------------------------------------------------------------------------------- the loop
def watch_loop(ctx: Context, *, interval: float = DEFAULT_INTERVAL_S, stop: threading.Event | None = None,
               on_report: Callable[[PassReport], None] | None = None, handle_signals: bool = False,
               on_fault: Callable[[StoreUnavailable], None] | None = None) -> int:
    """Run passes every `interval` seconds until `stop` is set; returns the number of passes."""
    return repeat_passes(lambda: run_pass(ctx), interval=interval, stop=stop, on_report=on_report,
                         handle_signals=handle_signals, on_fault=on_fault)


def repeat_passes(run: Callable[[], PassReport], *, interval: float = DEFAULT_INTERVAL_S,
                  stop: threading.Event | None = None, on_report: Callable[[PassReport], None] | None = None,
                  handle_signals: bool = False, on_fault: Callable[[StoreUnavailable], None] | None = None) -> int:
    """The loop around `run` (in process, or a daemon's pass for a remote client).

    With handle_signals (the CLI), Ctrl-C and SIGTERM set `stop`: the pass under way finishes
    (or, if it has not started writing, never starts) and the loop ends cleanly. With
    `on_fault`, a pass that found the database server unreachable (a restart; its transaction
    rolled back whole) is handed to it and the loop goes on: the next pass reconnects.
    """
    stop = stop or threading.Event()
    signalled: list[int] = []  # a plain flag: Event.set() from a handler can deadlock the wait it interrupts
    if handle_signals:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda number, _frame: signalled.append(number))

    def stopping() -> bool:
        return bool(signalled) or stop.is_set()

    passes = 0
    while not stopping():
        try:
            report = run()
        except StoreUnavailable as exc:
            if on_fault is None or exc.reason != "unreachable":
                raise
            on_fault(exc)
        else:
            passes += 1
            if on_report:
                on_report(report)
        next_pass = time.monotonic() + interval
        while not stopping() and (left := next_pass - time.monotonic()) > 0:
            stop.wait(min(left, SIGNAL_CHECK_S))
    return passes
