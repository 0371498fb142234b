"""Suspicious-activity detection: what the failed verifications since the last pass amount to.

Detection only reads (the events, and the alerts already raised); it returns findings, and
the watch stores them in short transactions, moving its cursor together with the last one. A
pass killed in between finds the same findings again next time, and each is stored once: an
alert's dedupe key is unique, and an open alert for the same key or IP holds back a repeat.

Detection reads the activity events, so with Usage Monitoring off it sees nothing; the hourly
counters keep the charts alive but carry no IP or code, which detection needs. Calls the
gateway answered 503 (UNAVAILABLE) are its own failure, not a caller's, and count for nothing.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from keytui.clock import to_ms
from keytui.domain import CANARY_CODE, UNAVAILABLE
from keytui.service import alerts
from keytui.service.context import Context
from keytui.service.integrity import TAMPERED
from keytui.store.models import ActivityEvent, ApiKey
from keytui.store.sql import chunks

# verification code -> (alert kind, severity)
MISUSE = {
    "IP_NOT_ALLOWED": ("ip-not-allowed", "high"),
    "REVOKED": ("revoked-key-used", "high"),
    "EXPIRED": ("expired-key-used", "medium"),
    "WRONG_ENVIRONMENT": ("wrong-environment", "medium"),
    TAMPERED: ("row-tampering", "high"),
}


@dataclass(frozen=True)
class Finding:
    """An alert to raise (see alerts.raise_alert)."""

    kind: str
    severity: str
    message: str
    dedupe_key: str
    key_id: str | None = None
    ip: str | None = None
    evidence: tuple[int, ...] = ()


def newest_event() -> int:
    return ActivityEvent.select(ActivityEvent.id).order_by(ActivityEvent.id.desc()).scalar() or 0


def first_cursor(since: datetime, newest: int) -> int:
    """The very first pass looks back to `since`, not over all history: an install on a
    database with months of events should not open with an alert for every old failure."""
    first = (ActivityEvent.select(ActivityEvent.id).where(ActivityEvent.ts >= since)
             .order_by(ActivityEvent.id).limit(1).scalar())
    return first - 1 if first else newest


def detect(ctx: Context, settings: dict, cursor: int, newest: int) -> tuple[list[Finding], int]:
    """Findings from the failed verifications in (cursor, newest], and how many events that range held.

    Bursts look back one window before the cursor, so a burst that straddles two passes is
    still seen; failures that continue an open burst alert for the same key or IP (within one
    window of its last evidence) are not reported again until it is acknowledged.
    """
    window_ms = settings["suspicious_window_minutes"] * 60_000
    threshold = settings["suspicious_failures"]
    first_new_ts = (ActivityEvent.select(ActivityEvent.ts).where(ActivityEvent.id > cursor)
                    .order_by(ActivityEvent.id).limit(1).scalar())
    lookback = first_new_ts - timedelta(milliseconds=window_ms)
    failed = (ActivityEvent.select(ActivityEvent.id, ActivityEvent.ts, ActivityEvent.key_id, ActivityEvent.ip,
                                   ActivityEvent.code, ActivityEvent.environment)
              .where((ActivityEvent.status == "failed") & (ActivityEvent.code != UNAVAILABLE)
                     & (ActivityEvent.ts >= lookback) & (ActivityEvent.id <= newest))
              .order_by(ActivityEvent.id).tuples())
    by_key, by_ip = defaultdict(list), defaultdict(list)
    misuse: dict[tuple, list[int]] = defaultdict(list)
    for ev_id, ts, key_id, ip, code, env in failed:
        if code == CANARY_CODE:  # a canary's use has an alert of its own (keytui.service.canaries)
            continue
        ts_ms = to_ms(ts)
        if key_id:
            by_key[key_id].append((ev_id, ts_ms))
        if ip:
            by_ip[ip].append((ev_id, ts_ms))
        if ev_id > cursor and code in MISUSE and key_id:
            misuse[(code, key_id, ip if code == "IP_NOT_ALLOWED" else None, env)].append(ev_id)
    found: list[Finding] = []
    for key_id, evs in by_key.items():
        found += _bursts(ctx, "failure-burst-key", evs, cursor, threshold, window_ms, key_id=key_id)
    for ip, evs in by_ip.items():
        found += _bursts(ctx, "failure-burst-ip", evs, cursor, threshold, window_ms, ip=ip)
    found += _misuse(ctx, misuse)
    scanned = ActivityEvent.select().where((ActivityEvent.id > cursor) & (ActivityEvent.id <= newest)).count()
    return found, scanned


def _bursts(ctx: Context, kind: str, evs: list[tuple[int, int]], cursor: int, threshold: int, window_ms: int,
            *, key_id: str | None = None, ip: str | None = None) -> list[Finding]:
    if len(evs) < threshold or evs[-1][0] <= cursor:
        return []
    done, still_open = alerts.last_evidence(ctx, kind, key_id=key_id, ip=ip)
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
        if burst[-1][0] <= cursor:
            return []
        subject = f"key {key_id}" if key_id else f"IP {ip}"
        minutes = (burst[-1][1] - burst[0][1]) / 60_000
        return [Finding(kind, "high", f"{len(burst)} failed verifications from {subject} within {minutes:.1f} minutes",
                        f"{kind}:{key_id or ip}:{burst[0][0]}", key_id=key_id, ip=ip,
                        evidence=tuple(e[0] for e in burst))]
    return []


def _misuse(ctx: Context, misuse: dict[tuple, list[int]]) -> list[Finding]:
    key_envs = {}
    for chunk in chunks({k[1] for k in misuse}):
        key_envs.update(ApiKey.select(ApiKey.key_id, ApiKey.environment).where(ApiKey.key_id.in_(chunk)).tuples())
    found, seen = [], set()
    for (code, key_id, ip, env), ev_ids in misuse.items():
        kind, severity = MISUSE[code]
        if (kind, key_id, ip) in seen or alerts.open_alert_exists(ctx, kind, key_id, ip):
            continue
        seen.add((kind, key_id, ip))
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
        found.append(Finding(kind, severity, message, f"{kind}:{key_id}:{ip or env}:{ev_ids[0]}", key_id=key_id,
                             ip=ip, evidence=tuple(ev_ids)))
    return found
