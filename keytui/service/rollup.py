"""Folding the hourly usage counters into daily ones.

Verification keeps one counter row per key, module and hour; on a large platform most keys make
a call now and then, so a month holds nearly one row per call. Once a UTC day is over (and an
hour more, for processes whose clocks lag), the watch folds that day into `UsageDaily`: one row
per key and one per calling module. Analytics reads the folded days plus the hourly rows after
them, so a 30-day chart stays fast and exact. Days are folded once, in order, inside the watch
pass's transaction; `folded_until` says where the folded days end.
"""

from __future__ import annotations

from datetime import datetime

from keytui.clock import DAY_MS, to_ms
from keytui.service.context import Context, uses_store
from keytui.store.models import Meta, UsageDaily, UsageRollup
from keytui.store.sql import table

SETTLE_MS = 3_600_000  # a day is folded only this long after it ended
FOLDED_UNTIL = "usage_daily_until"
ALL = "*"  # key_id of the per-module rows, module of the per-key rows


@uses_store
def folded_until(ctx: Context) -> int | None:
    """Epoch ms where the folded days end (exclusive), or None when none are folded."""
    row = Meta.get_or_none(Meta.name == FOLDED_UNTIL)
    return int(row.value) if row else None


@uses_store
def fold_complete_days(ctx: Context, now: datetime) -> int:
    """Fold every complete, settled day not yet folded; returns how many days were folded.
    Runs inside the caller's write transaction."""
    db = ctx.db
    end = (to_ms(now) - SETTLE_MS) // DAY_MS * DAY_MS
    start = folded_until(ctx)
    if start is None:
        first = UsageRollup.select(UsageRollup.hour).order_by(UsageRollup.hour).limit(1).scalar()
        if first is None:
            return 0
        start = first // DAY_MS * DAY_MS
    r, d = table(UsageRollup), table(UsageDaily)
    p = db.param
    for day in range(start, end, DAY_MS):
        for group, key_col, module_col in (("key_id", "key_id", f"'{ALL}'"), ("module", f"'{ALL}'", "module")):
            db.execute_sql(
                f"INSERT INTO {d} (day, key_id, module, ok, failed) SELECT {p}, {key_col}, {module_col}, "
                f"SUM(ok), SUM(failed) FROM {r} WHERE hour >= {p} AND hour < {p} GROUP BY {group}",
                (day, day, day + DAY_MS))
    if end > start:
        Meta.insert(name=FOLDED_UNTIL, value=str(end)).on_conflict(
            conflict_target=[Meta.name], update={Meta.value: str(end)}).execute()
    return max(0, (end - start) // DAY_MS)
