"""Read-side queries for the overview cards, scope cards, usage charts and the activity log.

Everything is answered by SQL aggregates over indexed columns and the hourly ``UsageRollup``
counters that verification keeps, never by loading rows into Python: the console must stay
responsive on 100,000 keys and millions of events (see bench/analytics_bench.py). The rollups
also keep the charts honest when Usage Monitoring is off and no per-event rows are written.

Decisions the faces rely on:
- A key counts as expired when its stored status says so *or* its expiry time has passed,
  even before the watch has marked it (the same judgement as the registry filter).
- ``by_environment`` counts every key, revoked ones included, so the four numbers add up to the
  Total card; ``by_environment_status`` splits each environment by status for anyone who
  wants the live inventory only.
- Scope risk (``scope_summaries``), one rule, reasons listed:
  high   - an open high-severity alert on a key of the scope, or >= 20 % failed verifications
           in the last 24 h (at least 20 attempts), or an active production key with
           execute/admin and no IP restriction;
  medium - any other open alert, >= 5 % failed verifications in the last 24 h (at least 20
           attempts), an active production key with execute/admin (restricted), or a key
           flagged by the org policy;
  low    - none of these.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from keytui.clock import DAY_MS, HOUR_MS, from_ms, to_ms
from keytui.domain import (Environment, InputError, Scope, Status, live_sql, parse_datetime, parse_ip,
                           privileged_sql, status_sql)
from keytui.service import rollup
from keytui.service.context import Context, uses_store
from keytui.service.verification import parse_module
from keytui.store.models import ActivityEvent, Alert, ApiKey, UsageDaily, UsageRollup
from keytui.store.sql import join_hints, run, table, when

COUNT_CAP = 100_000  # count_events stops counting here; faces show "100,000+"
TOP_KEYS = 10
RISK_WINDOW_MS = 24 * HOUR_MS
RISK_MIN_ATTEMPTS = 20
RISK_HIGH_FAILURE_RATE = 0.20
RISK_MEDIUM_FAILURE_RATE = 0.05
EVENT_STATUSES = ("success", "failed")

# window -> (bucket width in ms, number of buckets)
WINDOWS = {
    "24h": (HOUR_MS, 24),
    "7d": (6 * HOUR_MS, 28),
    "30d": (24 * HOUR_MS, 30),
}

_AGENT_CALLS = "SUM(CASE WHEN module = 'agents' THEN ok + failed ELSE 0 END)"


# ---------------------------------------------------------------------------------- overview
@dataclass(frozen=True)
class Overview:
    total: int
    active: int
    expired: int
    revoked: int
    by_environment: dict[Environment, int]
    by_environment_status: dict[Environment, dict[Status, int]]
    open_alerts: int


@uses_store
def overview(ctx: Context) -> Overview:
    now_ms = to_ms(ctx.now())
    grid = {env: {st: 0 for st in Status} for env in Environment}
    # read in the order of the (environment, status, expires_at) index: no sort, no table reads
    sums = ", ".join(f"SUM({when(status_sql(st, now_ms))})" for st in Status)
    for env, *counts in run(ctx.db, f"SELECT environment, {sums} FROM {table(ApiKey)} GROUP BY environment"):
        if env in grid:
            grid[Environment(env)] = {st: int(n or 0) for st, n in zip(Status, counts)}
    totals = {st: sum(grid[env][st] for env in Environment) for st in Status}
    open_alerts = Alert.select().where(Alert.acknowledged_at.is_null()).count()
    return Overview(
        total=sum(totals.values()), active=totals[Status.ACTIVE], expired=totals[Status.EXPIRED],
        revoked=totals[Status.REVOKED], by_environment={env: sum(grid[env].values()) for env in Environment},
        by_environment_status=grid, open_alerts=open_alerts)


# ---------------------------------------------------------------------------------- scopes
@dataclass(frozen=True)
class ScopeSummary:
    scope: Scope
    keys: int
    active: int
    last_execution: datetime | None
    risk: str
    reasons: list[str]


@uses_store
def scope_summaries(ctx: Context) -> list[ScopeSummary]:
    now_ms = to_ms(ctx.now())
    k_t, r_t, a_t = table(ApiKey), table(UsageRollup), table(Alert)
    live = live_sql(now_ms, "k.")
    privileged = privileged_sql("k.permissions")
    open_priv = f"{live} AND k.environment = '{Environment.PRODUCTION.value}' AND {privileged} AND k.ip_allowlist = ''"
    restricted_priv = (f"{live} AND k.environment = '{Environment.PRODUCTION.value}' AND {privileged} "
                       f"AND k.ip_allowlist <> ''")
    flagged = f"k.policy_violation IS NOT NULL AND k.status <> '{Status.REVOKED.value}'"
    counts = {row[0]: row[1:] for row in run(ctx.db, (
        f"SELECT k.scope, COUNT(*), SUM({when(live)}), "
        f"SUM({when(open_priv)}), SUM({when(restricted_priv)}), SUM({when(flagged)}) "
        f"FROM {k_t} k GROUP BY k.scope"))}
    # summed per key before the join: each key's row is looked up once, not once per hour and module
    traffic = {row[0]: row[1:] for row in run(ctx.db, (
        f"SELECT k.scope, SUM(t.ok), SUM(t.failed) FROM (SELECT r.key_id, SUM(r.ok) AS ok, SUM(r.failed) AS failed "
        f"FROM {r_t} r WHERE r.hour >= ? GROUP BY r.key_id) t JOIN {k_t} k ON k.key_id = t.key_id GROUP BY k.scope"),
        (now_ms - now_ms % HOUR_MS - RISK_WINDOW_MS + HOUR_MS,))}
    alerts = {(row[0], row[1]): row[2] for row in run(ctx.db, (
        f"SELECT k.scope, a.severity, COUNT(*) FROM {a_t} a JOIN {k_t} k ON k.key_id = a.key_id "
        f"WHERE a.acknowledged_at IS NULL GROUP BY k.scope, a.severity"))}
    out = []
    for scope in Scope:
        keys, active, n_open, n_restricted, n_flagged = (int(x or 0) for x in counts.get(scope.value, (0,) * 5))
        ok, failed = (int(x or 0) for x in traffic.get(scope.value, (0, 0)))
        high_alerts = alerts.get((scope.value, "high"), 0)
        other_alerts = sum(n for (s, sev), n in alerts.items() if s == scope.value and sev != "high")
        high, medium = [], []
        if high_alerts:
            high.append(_plural(high_alerts, "open high-severity alert"))
        if other_alerts:
            medium.append(_plural(other_alerts, "open alert"))
        attempts = ok + failed
        if attempts >= RISK_MIN_ATTEMPTS:
            rate = failed / attempts
            text = f"{rate:.0%} failed verifications in 24 h"
            if rate >= RISK_HIGH_FAILURE_RATE:
                high.append(text)
            elif rate >= RISK_MEDIUM_FAILURE_RATE:
                medium.append(text)
        if n_open:
            high.append(f"{_plural(n_open, 'production execute/admin key')} without IP restriction")
        if n_restricted:
            medium.append(_plural(n_restricted, "production execute/admin key"))
        if n_flagged:
            medium.append(f"{_plural(n_flagged, 'key')} violating the org policy")
        risk = "high" if high else "medium" if medium else "low"
        out.append(ScopeSummary(scope, keys, active, _last_execution(ctx, scope), risk, high + medium))
    return out


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}{'s' if n != 1 else ''}"


def _last_execution(ctx: Context, scope: Scope) -> datetime | None:
    """The last successful verification of a key in the scope.

    The newest hour with a success comes from the rollups (walked newest first on their
    index, so an active scope stops at once); the exact moment from that hour's events, or
    the hour itself when Usage Monitoring kept no event rows.
    """
    k_t, r_t, e_t = table(ApiKey), table(UsageRollup), table(ActivityEvent)
    found = run(ctx.db, (
        f"SELECT r.hour FROM {r_t} r JOIN {k_t} k ON k.key_id = r.key_id "
        f"WHERE k.scope = ? AND r.ok > 0 ORDER BY r.hour DESC LIMIT 1"), (scope.value,))
    if not found:
        return None
    hour = found[0][0]
    # the hour's events by their time index (on SQLite, CROSS JOIN fixes the join order and "+"
    # keeps the planner off the status index; PostgreSQL's planner needs neither hint)
    join, plus = join_hints(ctx.db)
    exact = run(ctx.db, (
        f"SELECT MAX(e.ts) FROM {e_t} e {join} {k_t} k ON k.key_id = e.key_id "
        f"WHERE e.ts >= ? AND e.ts < ? AND {plus}e.status = 'success' AND k.scope = ?"),
        (hour, hour + HOUR_MS, scope.value))
    return from_ms(exact[0][0] if exact and exact[0][0] is not None else hour)


# ---------------------------------------------------------------------------------- usage
@dataclass(frozen=True)
class KeyCount:
    key_id: str
    name: str
    ok: int
    failed: int

    @property
    def total(self) -> int:
        return self.ok + self.failed


@dataclass(frozen=True)
class Usage:
    window: str
    bucket_seconds: int
    buckets: list[datetime]
    ok: list[int]
    failed: list[int]
    agent_calls: list[int]
    executions_per_key: list[KeyCount]
    most_used: list[KeyCount]

    @property
    def total_ok(self) -> int:
        return sum(self.ok)

    @property
    def total_failed(self) -> int:
        return sum(self.failed)


def window_start(window: str, now: datetime) -> tuple[int, int, int]:
    """(first bucket start in ms, bucket width in ms, bucket count); the last bucket holds now.

    Buckets are aligned to UTC hours, 6-hour blocks or days, so a chart does not shift
    while the clock moves inside a bucket.
    """
    if window not in WINDOWS:
        raise InputError("window", f"{window!r} is not a time range; allowed: {', '.join(WINDOWS)}")
    width, count = WINDOWS[window]
    now_ms = to_ms(now)
    return now_ms - now_ms % width - (count - 1) * width, width, count


@uses_store
def usage(ctx: Context, window: str, *, top: int = TOP_KEYS) -> Usage:
    """Charts of seed section 7 over 24h (hourly), 7d (6-hourly) or 30d (daily) buckets.

    executions_per_key: the top keys by verification attempts (successes and failures);
    most_used: the top keys by successful verifications; agent_calls: every verification
    whose calling module is `agents`.
    """
    start, width, count = window_start(window, ctx.now())
    r_t, d_t = table(UsageRollup), table(UsageDaily)
    # whole days the watch has folded are read from the daily counters, the rest hourly
    day_from = -(-start // DAY_MS) * DAY_MS
    folded = max(rollup.folded_until(ctx) or 0, day_from)
    hourly = f"(hour < {day_from} OR hour >= {folded})"
    ok, failed, agents = [0] * count, [0] * count, [0] * count
    daily_buckets = width == DAY_MS and folded > day_from
    parts = [(f"SELECT (hour - ?) / ? AS b, SUM(ok), SUM(failed), {_AGENT_CALLS} FROM {r_t} "
              f"WHERE hour >= ? {f'AND {hourly}' if daily_buckets else ''} GROUP BY b", (start, width, start))]
    if daily_buckets:
        parts.append((f"SELECT (day - ?) / ? AS b, SUM(ok), SUM(failed), {_AGENT_CALLS} FROM {d_t} "
                      f"WHERE day >= ? AND day < ? AND key_id = '{rollup.ALL}' GROUP BY b",
                      (start, width, day_from, folded)))
    for sql, params in parts:
        for b, s_ok, s_failed, s_agents in run(ctx.db, sql, params):
            if 0 <= b < count:
                ok[b] += int(s_ok)
                failed[b] += int(s_failed)
                agents[b] += int(s_agents)
    # Both rankings in SQL, over one materialized sum per key: the tens of thousands of keys used
    # in a window came back as Python rows before, one GIL hand-back each, and the page reads this
    # beside Textual building it (300 ms instead of 40 on 100,000 keys).
    ranked = run(ctx.db, (
        f"WITH per_key AS MATERIALIZED (SELECT key_id, SUM(ok) AS ok, SUM(failed) AS failed FROM ("
        f"SELECT key_id, ok, failed FROM {r_t} WHERE hour >= ? AND {hourly} AND key_id <> '' "
        f"UNION ALL SELECT key_id, ok, failed FROM {d_t} WHERE day >= ? AND day < ? "
        f"AND module = '{rollup.ALL}' AND key_id <> '') AS usage GROUP BY key_id) "
        f"SELECT * FROM (SELECT 1, key_id, ok, failed FROM per_key ORDER BY ok + failed DESC, key_id LIMIT ?) AS t "
        f"UNION ALL SELECT * FROM (SELECT 2, key_id, ok, failed FROM per_key WHERE ok > 0 "
        f"ORDER BY ok DESC, key_id LIMIT ?) AS o"), (start, day_from, folded, top, top))
    by_total = [row[1:] for row in ranked if row[0] == 1]
    by_ok = [row[1:] for row in ranked if row[0] == 2]
    names = _names(r[0] for r in by_total + by_ok)

    def counts(rows) -> list[KeyCount]:
        return [KeyCount(k, names.get(k, "?"), int(o), int(f)) for k, o, f in rows]

    return Usage(window, width // 1000, [from_ms(start + i * width) for i in range(count)], ok, failed, agents,
                 counts(by_total), counts(by_ok))


def _names(key_ids) -> dict[str, str]:
    ids = list({k for k in key_ids if k})
    if not ids:
        return {}
    return dict(ApiKey.select(ApiKey.key_id, ApiKey.name).where(ApiKey.key_id.in_(ids)).tuples())


# ---------------------------------------------------------------------------------- events
@dataclass(frozen=True)
class EventView:
    id: int
    ts: datetime
    key_id: str | None
    key_name: str | None
    module: str
    action: str
    status: str
    code: str
    ip: str | None
    environment: str | None


def _event_filter(key_id, module, status, ip, since, until, before_id, after_id) -> tuple[list[str], list]:
    cond, params = [], []
    if key_id:
        cond.append("key_id = ?")
        params.append(str(key_id).strip().lower())
    if module:
        cond.append("module = ?")
        params.append(parse_module(module))
    if status:
        text = str(status).strip().lower()
        if text not in EVENT_STATUSES:
            raise InputError("status", f"{status!r} is not an event status; allowed: {', '.join(EVENT_STATUSES)}")
        cond.append("status = ?")
        params.append(text)
    if ip:
        cond.append("ip = ?")
        params.append(parse_ip(ip))
    if since is not None:
        cond.append("ts >= ?")
        params.append(to_ms(parse_datetime(since, "since")))
    if until is not None:
        cond.append("ts < ?")
        params.append(to_ms(parse_datetime(until, "until")))
    if before_id is not None:
        cond.append("id < ?")
        params.append(int(before_id))
    if after_id is not None:
        cond.append("id > ?")
        params.append(int(after_id))
    return cond, params


@uses_store
def events(ctx: Context, *, key_id=None, module=None, status=None, ip=None, since=None, until=None,
           before_id=None, after_id=None, limit: int = 200) -> list[EventView]:
    """One page of the activity log, newest first; with after_id, oldest first (a live tail
    asks for what came after the last id it shows). Pages by id (keyset), never OFFSET."""
    cond, params = _event_filter(key_id, module, status, ip, since, until, before_id, after_id)
    if not 1 <= int(limit) <= 10_000:
        raise InputError("limit", f"{limit!r} is not allowed; give 1 to 10000")
    where = f"WHERE {' AND '.join(cond)}" if cond else ""
    order = "ASC" if after_id is not None else "DESC"
    rows = run(ctx.db, (
        f"SELECT id, ts, key_id, module, action, status, code, ip, environment FROM {table(ActivityEvent)} "
        f"{where} ORDER BY id {order} LIMIT ?"), (*params, int(limit)))
    names = _names(r[2] for r in rows)
    return [EventView(r[0], from_ms(r[1]), r[2], names.get(r[2]), r[3], r[4], r[5], r[6], r[7], r[8]) for r in rows]


@uses_store
def count_events(ctx: Context, *, key_id=None, module=None, status=None, ip=None, since=None, until=None,
                 before_id=None, after_id=None) -> int:
    """Matching events, exact up to COUNT_CAP; at the cap it returns COUNT_CAP (show "100,000+")."""
    cond, params = _event_filter(key_id, module, status, ip, since, until, before_id, after_id)
    where = f"WHERE {' AND '.join(cond)}" if cond else ""
    rows = run(ctx.db, f"SELECT COUNT(*) FROM (SELECT 1 FROM {table(ActivityEvent)} {where} LIMIT ?) AS capped",
                 (*params, COUNT_CAP))
    return int(rows[0][0])


@uses_store
def latest_event_id(ctx: Context) -> int:
    """The newest event id (0 when there is none): where a live tail starts."""
    rows = run(ctx.db, f"SELECT MAX(id) FROM {table(ActivityEvent)}")
    return int(rows[0][0] or 0)


def key_activity(ctx: Context, key_id: str, limit: int = 50) -> list[EventView]:
    """The newest authentication attempts with one key (the key detail view)."""
    return events(ctx, key_id=key_id, limit=limit)

