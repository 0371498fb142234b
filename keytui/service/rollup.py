"""Folding the hourly usage counters into daily ones.

Verification keeps one counter row per key, module and hour; on a large platform most keys make
a call now and then, so a month holds nearly one row per call. Once a UTC day is over (and an
hour more, for processes whose clocks lag), the watch folds that day into `UsageDaily`: one row
per key and one per calling module. Analytics reads the folded days plus the hourly rows after
them, so a 30-day chart stays fast and exact. Days are folded in order, in the watch pass's
short transactions; `folded_until` says where the folded days end.
"""

from __future__ import annotations

from datetime import datetime
from functools import partial

from keytui.clock import DAY_MS, to_ms
from keytui.service.context import Context, uses_store
from keytui.service.paced import CHUNK, Paced
from keytui.store import meta
from keytui.store.models import UsageDaily, UsageRollup
from keytui.store.sql import chunks, execute_many, param_style, run, table

SETTLE_MS = 3_600_000  # a day is folded only this long after it ended
FOLDED_UNTIL = "usage_daily_until"
ALL = "*"  # key_id of the per-module rows, module of the per-key rows


@uses_store
def folded_until(ctx: Context) -> int | None:
    """Epoch ms where the folded days end (exclusive), or None when none are folded."""
    value = meta.get(FOLDED_UNTIL)
    return int(value) if value else None


@uses_store
def fold_complete_days(ctx: Context, now: datetime, paced: Paced | None = None) -> int:
    """Fold every complete, settled day not yet folded; returns how many days were folded.

    A settled day's hourly rows no longer change, so each day is summed with a read (which
    takes no lock) and written in short transactions; the daily rows are upserted with their
    totals, so a day written twice (a pass killed half-way) ends up the same, and
    `folded_until` moves past a day only in the transaction that writes its last rows."""
    end = (to_ms(now) - SETTLE_MS) // DAY_MS * DAY_MS
    start = folded_until(ctx)
    if start is None:
        first = UsageRollup.select(UsageRollup.hour).order_by(UsageRollup.hour).limit(1).scalar()
        if first is None:
            return 0
        start = first // DAY_MS * DAY_MS
    if end <= start:
        return 0
    paced = paced or Paced(ctx)
    for day in range(start, end, DAY_MS):
        rows = _day_totals(ctx, day)  # read before the transactions that write them
        paced.each(chunks(rows, CHUNK), partial(_upsert, ctx), finish=partial(_folded, day + DAY_MS))
    return (end - start) // DAY_MS


def _day_totals(ctx: Context, day: int) -> list[tuple]:
    rows = []
    for key_col, module_col, group in (("key_id", f"'{ALL}'", "key_id"), (f"'{ALL}'", "module", "module")):
        rows += run(ctx.db, f"SELECT {day}, {key_col}, {module_col}, SUM(ok), SUM(failed) FROM {table(UsageRollup)} "
                            f"WHERE hour >= ? AND hour < ? GROUP BY {group}", (day, day + DAY_MS))
    return rows


def _upsert(ctx: Context, rows: list[tuple]) -> None:
    sql = (f"INSERT INTO {table(UsageDaily)} (day, key_id, module, ok, failed) VALUES (?, ?, ?, ?, ?) "
           "ON CONFLICT (day, key_id, module) DO UPDATE SET ok = excluded.ok, failed = excluded.failed")
    execute_many(ctx.db, param_style(ctx.db, sql), rows)


def _folded(until: int) -> None:
    meta.put(FOLDED_UNTIL, str(until))
