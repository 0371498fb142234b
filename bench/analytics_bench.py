"""Analytics queries the console needs, against the naive way of answering them, on demo data.

The data set is built by ``keytui.service.demo.build`` (100,000 keys and 1,000,000 events by default,
through the service API: real tokens, digests, audit entries and the verification path), and
its build time is printed. Each query the TUI runs for a screen (overview cards, scope cards,
usage charts for 24 h / 7 d / 30 d, the first page of the activity log and its count) is timed
against the naive approach: load the rows into Python and count, bucket and sort there. The
naive side loads plain tuples (not model instances), which is the fastest way to be naive.

Run: ``python bench/analytics_bench.py [--keys 100000] [--events 1000000] [--home DIR]``
With --home, a database built earlier in DIR with the same sizes is reused.
Target: every query under 10% of its naive counterpart's time.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from datetime import datetime, timezone
from pathlib import Path

from keytui.clock import HOUR_MS, FixedClock, to_ms
from keytui.domain import Scope
from keytui.service import Context
from keytui.service import analytics, demo
from keytui.store.models import ActivityEvent, ApiKey

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=timezone.utc)
TARGET = 0.10


def timed(fn, repeat: int) -> float:
    """Median seconds of `repeat` runs."""
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


# ---------------------------------------------------------------------------------- naive screens
def naive_overview(vault):
    now = vault.now()
    counts = Counter()
    for status, expires, env in ApiKey.select(ApiKey.status, ApiKey.expires_at, ApiKey.environment).tuples():
        judged = "expired" if status == "active" and expires is not None and expires <= now else status
        counts[judged] += 1
        counts[env] += 1
    return counts


def naive_scopes(vault):
    now_ms = to_ms(vault.now())
    keys = {k: (scope, status, exp) for k, scope, status, exp in
            ApiKey.select(ApiKey.key_id, ApiKey.scope, ApiKey.status, ApiKey.expires_at).tuples()}
    last, ok, failed = {}, Counter(), Counter()
    for key_id, ts, status in ActivityEvent.select(ActivityEvent.key_id, ActivityEvent.ts,
                                                   ActivityEvent.status).tuples():
        if key_id not in keys:
            continue
        scope = keys[key_id][0]
        if status == "success":
            last[scope] = max(last.get(scope, ts), ts)
        if to_ms(ts) >= now_ms - 24 * HOUR_MS:
            (ok if status == "success" else failed)[scope] += 1
    return [(s, last.get(s.value), ok[s.value], failed[s.value]) for s in Scope]


def naive_usage(vault, window: str):
    start, width, count = analytics.window_start(window, vault.now())
    ok, failed, agents = [0] * count, [0] * count, [0] * count
    per_key = defaultdict(lambda: [0, 0])
    for key_id, ts, status, module in ActivityEvent.select(ActivityEvent.key_id, ActivityEvent.ts,
                                                           ActivityEvent.status, ActivityEvent.module).tuples():
        ms = to_ms(ts)
        if ms < start:
            continue
        b = (ms - start) // width
        (ok if status == "success" else failed)[b] += 1
        agents[b] += module == "agents"
        if key_id:
            per_key[key_id][status != "success"] += 1
    return ok, failed, agents, sorted(per_key.items(), key=lambda kv: -sum(kv[1]))[:10]


def naive_events_page(vault):
    rows = list(ActivityEvent.select().tuples())
    rows.sort(key=lambda r: r[0], reverse=True)
    return rows[:200]


def naive_count(vault):
    return len(list(ActivityEvent.select(ActivityEvent.id).tuples()))


SCREENS = [
    ("overview cards", analytics.overview, naive_overview),
    ("scope cards", analytics.scope_summaries, naive_scopes),
    ("usage 24h", lambda v: analytics.usage(v, "24h"), lambda v: naive_usage(v, "24h")),
    ("usage 7d", lambda v: analytics.usage(v, "7d"), lambda v: naive_usage(v, "7d")),
    ("usage 30d", lambda v: analytics.usage(v, "30d"), lambda v: naive_usage(v, "30d")),
    ("activity first page", lambda v: analytics.events(v, limit=200), naive_events_page),
    ("activity count", analytics.count_events, naive_count),
    ("activity failed page", lambda v: analytics.events(v, status="failed", limit=200),
     lambda v: [r for r in naive_events_page(v) if r[5] == "failed"]),
]


def open_data(home: Path, keys: int, events: int) -> tuple[Context, float | None]:
    marker = home / "bench-sizes.json"
    wanted = {"keys": keys, "events": events}
    vault = Context.open(home, operator="bench", clock=FixedClock(NOW))
    if marker.exists() and json.loads(marker.read_text()) == wanted:
        return vault, None
    started = time.perf_counter()
    report = demo.build(vault, keys=keys, events=events, seed=7)
    built = time.perf_counter() - started
    marker.write_text(json.dumps(wanted))
    print(f"demo.build: {report.keys:,} keys ({report.active:,} active, {report.expired:,} expired, "
          f"{report.revoked:,} revoked), {report.events:,} events, {report.alerts} alerts in {built:.1f} s")
    return vault, built


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--home", type=Path, default=None, help="reuse/keep the database here")
    parser.add_argument("--repeat", type=int, default=5, help="runs per keytui query (median)")
    args = parser.parse_args()
    home = args.home or Path(tempfile.mkdtemp(prefix="keytui-analytics-bench-"))
    vault, built = open_data(home, args.keys, args.events)
    if built is None:
        print(f"reusing the database in {home}")
    print(f"{'screen':<22} {'keytui ms':>10} {'naive ms':>10} {'ratio':>8}  target < {TARGET:.0%}")
    worst = 0.0
    for name, fast, naive in SCREENS:
        fast(vault)  # warm the page cache for both sides alike
        t_fast = timed(lambda: fast(vault), args.repeat)
        with vault.bound():  # the naive side reads the models directly
            t_naive = timed(lambda: naive(vault), 1)
        ratio = t_fast / t_naive
        worst = max(worst, ratio)
        print(f"{name:<22} {t_fast * 1000:>10.1f} {t_naive * 1000:>10.1f} {ratio:>8.2%}  "
              f"{'ok' if ratio < TARGET else 'MISSED'}")
    print(f"worst ratio {worst:.2%} (target < {TARGET:.0%})")
    vault.close()
    return 0 if worst < TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
