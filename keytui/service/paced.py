"""Long jobs in short write transactions, so nobody waits behind them.

SQLite has one write lock per database. A watch pass over 20,000 keys held it for 24 s as one
transaction, and every gateway verification in that time waited out its commit timeout and got
503. Here a job does as much work as fits in BUDGET_S per transaction, then commits; once it
has held the lock for BUDGET_S in a row it steps aside for PAUSE_S. A writer that is waiting
polls for the lock: SQLite's busy handler sleeps 1, 2, 5, 10, 15, 20 and then 25 ms between
tries, so a pause as long as its usual sleep lets a waiting CLI or console write in between
two of the job's transactions; the gateway looks again every few milliseconds (see
keytui.gateway.batcher), so its batches wait for at most one of them. The price is a pass
that takes about twice its work in wall time, on a background worker.

Each unit of work must be safe to repeat and check its own precondition inside its
transaction: a job killed between two transactions leaves every committed unit done and the
rest untouched, and the next run does the rest exactly once.
"""

from __future__ import annotations

import math
import time
from contextlib import contextmanager
from typing import Callable, Iterable, Iterator, TypeVar

from keytui.service.context import Context

T = TypeVar("T")
BUDGET_S = 0.02
PAUSE_S = 0.025
CHUNK = 100  # rows written per unit of work (a unit is never split between transactions)


class Paced:
    def __init__(self, ctx: Context, *, budget_s: float = BUDGET_S, pause_s: float = PAUSE_S):
        self.ctx = ctx
        self.budget_s = budget_s
        self.pause_s = pause_s
        self.held_s = 0.0  # lock time since the last pause
        self.longest_s = 0.0  # the longest transaction so far
        self.transactions = 0

    @classmethod
    def unlimited(cls, ctx: Context) -> "Paced":
        """No budget and no pause: each step in one transaction, for a job on a home nobody else
        writes to yet (the demo's own pass on the home it is building)."""
        return cls(ctx, budget_s=math.inf, pause_s=0.0)

    @contextmanager
    def transaction(self) -> Iterator[float]:
        """One short write transaction; yields its start (perf_counter) for `spent`."""
        if self.held_s >= self.budget_s:
            time.sleep(self.pause_s)
            self.held_s = 0.0
        started = time.perf_counter()
        with self.ctx.transaction():
            yield started
        took = time.perf_counter() - started
        self.held_s += took
        self.longest_s = max(self.longest_s, took)
        self.transactions += 1

    def spent(self, started: float) -> bool:
        return time.perf_counter() - started >= self.budget_s

    def each(self, items: Iterable[T], fn: Callable[[T], None], *, finish: Callable[[], None] | None = None) -> None:
        """fn(item) for every item, as many to a transaction as fit in the budget; `finish` runs
        in the transaction of the last item (so a marker of the whole job, like a cursor,
        moves only together with the last of its work)."""
        pending = iter(items)
        item = next(pending, _END)
        while True:
            with self.transaction() as started:
                while item is not _END:
                    fn(item)
                    item = next(pending, _END)
                    if self.spent(started):
                        break
                if item is _END:
                    if finish is not None:
                        finish()
                    return

    def repeat(self, step: Callable[[], int]) -> None:
        """Call step() (a chunk of work that re-selects what is left) until it does nothing."""
        while True:
            with self.transaction() as started:
                while True:
                    if not step():
                        return
                    if self.spent(started):
                        break


_END = object()
