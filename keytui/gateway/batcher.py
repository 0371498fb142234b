"""Group commit: many requests checked and their activity events written in one go.

A request hands its work to `submit` and gets its outcome only once the batch holding its
event has committed, so an answered request always has its event in the database, even if
the process is killed right after answering. One task takes everything queued so far (up to
MAX_BATCH) to the writer while requests keep arriving, so batches grow with load and a lone
request waits for nothing but its own commit.

A batch whose write fails is retried, never dropped; its requests get CommitTimeout (503)
after `commit_timeout_s` while their events still wait to be written.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Callable, Sequence

from keytui.gateway.metrics import Metrics
from keytui.service import Event

log = logging.getLogger("keytui.gateway")

MAX_BATCH = 1000
RETRY_DELAYS_S = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0)

# prepare(items) -> (outcome per item, events to record); runs where the database calls run.
Prepare = Callable[[Sequence[Any]], tuple[list[Any], list[Event]]]
# run_db(fn, *args): runs fn where the database calls belong (the service backend's on_loop).
RunDb = Callable[..., Awaitable[Any]]


def events_only(items: Sequence[Event]) -> tuple[list[Any], list[Event]]:
    return [None] * len(items), list(items)


class CommitTimeout(Exception):
    """The activity log could not be written in time; the request must not be answered with a verdict."""


def _busy(error: Exception) -> bool:
    return "locked" in str(error) or "busy" in str(error)


def _time_out(done: asyncio.Future) -> None:
    if not done.done():
        done.set_exception(CommitTimeout())


class GroupCommit:
    def __init__(self, record: Callable[[Sequence[Event]], None], run_db: RunDb, metrics: Metrics,
                 *, commit_timeout_s: float, prepare: Prepare = events_only):
        self._prepare = prepare
        self._record = record
        self._run_db = run_db
        self._metrics = metrics
        self._timeout = commit_timeout_s
        self._pending: list[tuple[Any, asyncio.Future]] = []
        self._wake = asyncio.Event()
        self._closing = False
        self._in_flight = 0
        self.failing = False
        self._task = asyncio.get_running_loop().create_task(self._run(), name="keytui-group-commit")

    @property
    def pending(self) -> int:
        """Requests queued or in the batch being written."""
        return len(self._pending) + self._in_flight

    async def submit(self, item: Any) -> Any:
        """The item's outcome, once its event has committed; CommitTimeout if that takes too long.
        An outcome may be an exception, which the caller raises for its own request."""
        loop = asyncio.get_running_loop()
        done = loop.create_future()
        self._pending.append((item, done))
        self._wake.set()
        # One timer, not wait_for(shield(...)): this runs for every request, and the batch
        # leaves a future that already timed out (or was cancelled) alone.
        timer = loop.call_later(self._timeout, _time_out, done)
        try:
            return await done
        finally:
            timer.cancel()

    async def _run(self) -> None:
        while True:
            if not self._pending:
                if self._closing:
                    return
                self._wake.clear()
                await self._wake.wait()
                continue
            batch = self._pending[:MAX_BATCH]
            del self._pending[:MAX_BATCH]
            self._in_flight = len(batch)
            try:
                outcomes = await self._write([item for item, _ in batch])
            except Exception as exc:  # noqa: BLE001 — a bug in checking fails these requests, not the gateway
                log.error("verification batch of %d failed: %s", len(batch), type(exc).__name__)
                outcomes = [exc] * len(batch)
            finally:
                self._in_flight = 0
            for (_, done), outcome in zip(batch, outcomes):
                if not done.done():
                    done.set_result(outcome)

    def _prepare_and_record(self, items: list) -> tuple[list, list[Event], Exception | None]:
        outcomes, events = self._prepare(items)
        try:
            self._record(events)
        except Exception as exc:  # noqa: BLE001 — retried by the caller
            return outcomes, events, exc
        return outcomes, events, None

    async def _write(self, items: list) -> list:
        outcomes, events, error = await self._run_db(self._prepare_and_record, items)
        attempt = 0
        while error is not None:
            delay = RETRY_DELAYS_S[min(attempt, len(RETRY_DELAYS_S) - 1)]
            attempt += 1
            self.failing = True
            self._metrics.batch_retries += 1
            if _busy(error):  # another process holds the write lock: wait our turn
                log.info("activity batch of %d events waits for another writer; retry %d in %.2f s",
                         len(events), attempt, delay)
            else:
                log.warning("activity batch of %d events not written (%s: %s); retry %d in %.2f s",
                            len(events), type(error).__name__, error, attempt, delay)
            await asyncio.sleep(delay)
            try:
                await self._run_db(self._record, events)
                error = None
            except Exception as exc:  # noqa: BLE001 — any failure is retried; the message carries no token
                error = exc
        self.failing = False
        self._metrics.batch_size.observe(len(events))
        return outcomes

    async def close(self, timeout_s: float) -> None:
        """Write what is still queued, then stop; give up (and say so) after timeout_s."""
        self._closing = True
        self._wake.set()
        try:
            await asyncio.wait_for(self._task, timeout_s)
        except asyncio.TimeoutError:
            log.error("shutting down with %d activity events unwritten (their requests were answered 503)",
                      self.pending)
