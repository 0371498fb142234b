"""Alert delivery: draining the outbox that `alerts.raise_alert` fills.

Each outbox row is one alert for one channel. A delivery step claims the rows that are due
(moving their next attempt a lease ahead, in a short write transaction, so a second process
running a step at the same time skips them), sends each outside any transaction, then records
the outcome: delivered, or retried later with growing backoff, or failed after MAX_ATTEMPTS.
Once a channel fails in a step, its other alerts are not tried in that step (a receiver that
times out would otherwise hold the watch for a timeout per alert); they back off with it.
A process killed mid-send leaves its rows pending; the lease runs out and another step sends
them again, which is why delivery is at least once and every delivery carries an id that
stays the same across retries. The watch runs a step after each pass; `keytui alerts deliver`
runs one on demand.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from keytui.service import alerts, channels, senders
from keytui.service.context import Context, uses_store
from keytui.store.models import AlertChannel, AlertDelivery

BACKOFF_S = (10, 30, 60, 300, 900, 1800, 3600)  # after the 1st, 2nd, ... failed attempt; then hourly
MAX_ATTEMPTS = 30  # about a day of hourly retries after the first few
LEASE = timedelta(minutes=2)  # longer than a send can take (TIMEOUT_S), shorter than a retry
BATCH = 50
PAYLOAD_VERSION = 1
GONE = "channel removed"  # (alerts are never deleted, so only a channel can be missing)


@dataclass
class DeliveryReport:
    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    errors: dict[str, str] = field(default_factory=dict)  # channel -> the last error seen

    def as_dict(self) -> dict:
        return {"delivered": self.delivered, "retrying": self.retrying, "failed": self.failed, "errors": self.errors}


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=BACKOFF_S[min(attempts, len(BACKOFF_S)) - 1])


def payload(alert: dict, delivery_id: str, kind: str = "alert") -> bytes:
    """The webhook body (documented in the README for receivers)."""
    return json.dumps({"version": PAYLOAD_VERSION, "type": kind, "delivery_id": delivery_id,
                       "sent_at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "alert": alert},
                      sort_keys=True, separators=(",", ":")).encode()


def send(ctx: Context, channel: AlertChannel, alert: dict, delivery_id: str, kind: str = "alert") -> None:
    """Send one alert through one channel; DeliveryError says why it did not go."""
    if channel.kind == "webhook":
        secret = ctx.keyring.decrypt(channel.secret, channels.aad(channel.name)).encode()
        senders.post_webhook(channel.target, secret, payload(alert, delivery_id, kind), delivery_id)
    else:
        senders.send_syslog(channel.target, senders.syslog_message(alert))


def _claim(ctx: Context, now: datetime, limit: int) -> list[AlertDelivery]:
    with ctx.transaction():
        due = list(AlertDelivery.select().where((AlertDelivery.status == "pending")
                                                & (AlertDelivery.next_attempt_at <= now))
                   .order_by(AlertDelivery.next_attempt_at, AlertDelivery.id).limit(limit))
        claimed = []
        for row in due:
            took = (AlertDelivery.update(next_attempt_at=now + LEASE, attempts=row.attempts + 1)
                    .where((AlertDelivery.id == row.id) & (AlertDelivery.attempts == row.attempts)
                           & (AlertDelivery.status == "pending")).execute())
            if took:
                row.attempts += 1
                claimed.append(row)
        return claimed


@uses_store
def deliver_due(ctx: Context, *, limit: int = BATCH) -> DeliveryReport:
    """One delivery step (see the module docstring)."""
    report = DeliveryReport()
    if ctx.read_only:
        return report
    now = ctx.now()
    claimed = _claim(ctx, now, limit)
    if not claimed:
        return report
    found = {c.name: c for c in AlertChannel.select().where(AlertChannel.name.in_({r.channel for r in claimed}))}
    views = {a.id: a for a in alerts.by_ids(ctx, list({r.alert_id for r in claimed}))}
    outcomes: list[tuple[AlertDelivery, str | None]] = []
    for row in claimed:
        channel, alert = found.get(row.channel), views.get(row.alert_id)
        if channel is None or alert is None:  # removed between the claim and now
            outcomes.append((row, GONE))
        elif row.channel in report.errors:  # it just failed: the rest of its alerts back off with it
            outcomes.append((row, report.errors[row.channel]))
        else:
            try:
                send(ctx, channel, alert.as_dict(include_deliveries=False), row.delivery_id)
                outcomes.append((row, None))
            except senders.DeliveryError as exc:
                outcomes.append((row, str(exc)))
                report.errors[row.channel] = str(exc)
    _record(ctx, outcomes, report)
    return report


def _record(ctx: Context, outcomes: list[tuple[AlertDelivery, str | None]], report: DeliveryReport) -> None:
    now = ctx.now()
    with ctx.transaction():
        for row, error in outcomes:
            if error is None:
                fields = dict(status="delivered", delivered_at=now, next_attempt_at=None, last_error=None)
                report.delivered += 1
            elif row.attempts >= MAX_ATTEMPTS or error == GONE:
                fields = dict(status="failed", next_attempt_at=None, last_error=error)
                report.failed += 1
            else:
                fields = dict(next_attempt_at=now + backoff(row.attempts), last_error=error)
                report.retrying += 1
            AlertDelivery.update(**fields).where((AlertDelivery.id == row.id)
                                                 & (AlertDelivery.status == "pending")).execute()


@uses_store
def send_test(ctx: Context, name: str) -> str | None:
    """Send a test alert through one channel now (audited); returns None when delivered, else why not."""
    ctx.require_writable()
    channel = channels.get(name)
    alert = {"id": 0, "created_at": ctx.now().isoformat(), "kind": "test", "severity": "low", "key_id": None,
             "key_name": None, "ip": None, "evidence": [],
             "message": f"test alert from keytui, sent by {ctx.operator} through channel {channel.name}"}
    try:
        send(ctx, channel, alert, "dlv_test_" + secrets.token_hex(8), kind="test")
        error = None
    except senders.DeliveryError as exc:
        error = str(exc)
    with ctx.transaction():
        ctx.audit("alert.channel.test", None, channel=channel.name, delivered=error is None, error=error)
    return error
