"""Canary keys: tokens planted as bait. A canary verifies as NOT_FOUND (the caller learns
nothing), and verification records its use with the code CANARY; the watch turns those
events into one high alert per burst, naming the callers' addresses and modules.

A burst is a run of uses of one canary key with no gap longer than the suspicious-activity
window. Its alert is keyed by the burst's first event, so a burst that goes on across several
watch passes (or two watch processes) still raises exactly one alert.
"""

from __future__ import annotations

from collections import Counter, defaultdict

from keytui.clock import to_ms
from keytui.domain import CANARY_CODE
from keytui.service import alerts
from keytui.service.context import Context
from keytui.store.models import ActivityEvent, ApiKey
from keytui.store.sql import chunks


def _previous_use_ms(key_id: str, before_id: int) -> int | None:
    ts = (ActivityEvent.select(ActivityEvent.ts)
          .where((ActivityEvent.key_id == key_id) & (ActivityEvent.id < before_id)
                 & (ActivityEvent.code == CANARY_CODE))
          .order_by(ActivityEvent.id.desc()).limit(1).scalar())
    return to_ms(ts) if ts is not None else None


def _bursts(uses: list[tuple], window_ms: int, previous_ms: int | None) -> list[list[tuple]]:
    """The bursts that start among `uses` (id, ts_ms, ip, module), oldest first; uses that
    continue a burst begun before them (previous_ms) belong to it and start nothing."""
    out: list[list[tuple]] = []
    current: list[tuple] | None = None
    last = previous_ms
    for use in uses:
        if last is not None and use[1] - last <= window_ms:
            if current is not None:
                current.append(use)
        else:
            current = [use]
            out.append(current)
        last = use[1]
    return out


def _describe(counter: Counter, limit: int = 5) -> str:
    shown = [f"{value} ({n}×)" for value, n in counter.most_common(limit)]
    more = len(counter) - limit
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


def alert_on_use(system: Context, cursor: int, newest: int, window_ms: int) -> list[int]:
    """Alerts for canary uses among the events in (cursor, newest]; runs in the watch's transaction."""
    found = (ActivityEvent.select(ActivityEvent.id, ActivityEvent.ts, ActivityEvent.key_id, ActivityEvent.ip,
                                  ActivityEvent.module)
             .where((ActivityEvent.id > cursor) & (ActivityEvent.id <= newest) & (ActivityEvent.code == CANARY_CODE))
             .order_by(ActivityEvent.id).tuples())
    by_key: dict[str, list[tuple]] = defaultdict(list)
    for ev_id, ts, key_id, ip, module in found:
        by_key[key_id].append((ev_id, to_ms(ts), ip, module))
    keys = {}
    for chunk in chunks(list(by_key)):
        keys.update((k.key_id, k) for k in ApiKey.select(ApiKey.key_id, ApiKey.name, ApiKey.environment)
                    .where(ApiKey.key_id.in_(chunk)))
    raised = []
    for key_id, uses in by_key.items():
        key = keys.get(key_id)
        for burst in _bursts(uses, window_ms, _previous_use_ms(key_id, uses[0][0])):
            ips = Counter(u[2] or "unknown address" for u in burst)
            modules = Counter(u[3] for u in burst)
            name = f"{key.name} ({key.environment})" if key else key_id
            new_id = alerts.raise_alert(
                system, kind="canary-used", severity="high", key_id=key_id, ip=burst[0][2],
                message=f"canary key {name} was presented {len(burst)} time(s) from {_describe(ips)}; "
                        f"module {_describe(modules)}",
                dedupe_key=f"canary-used:{key_id}:{burst[0][0]}", evidence=[u[0] for u in burst])
            if new_id:
                raised.append(new_id)
    return raised
