"""Group commit: many requests checked and their activity events written in one go.

A request hands its work to `submit` and gets its outcome only once the batch holding its
event has committed, so an answered request always has its event in the database, even if
the process is killed right after answering. One task takes everything queued so far (up to
MAX_BATCH) to the writer while requests keep arriving, so batches grow with load and a lone
request waits for nothing but its own commit.

A batch whose write fails is retried, never dropped; its requests get CommitTimeout (503)
after `commit_timeout_s` while their events still wait to be written. Each event records what
its caller was answered: before every attempt to write a batch, the events of requests that
have already been answered 503 are rewritten as UNAVAILABLE (failed), so the activity log
never shows a verdict the client did not get. That holds because the write runs on the event
loop's own thread (keytui.store.connections.OnLoop): no timer can fire between the rewrite and
the commit. While writes fail, at most `max_pending` requests wait; the next is answered 503
at once (QueueFull) instead of piling up without bound. While the database server cannot be
reached at all (a PostgreSQL restart), waiting would only turn 503s into client timeouts: the
stuck batch's requests are answered 503 at once (their events retried as UNAVAILABLE), and so
is every new one (StoreDown, with no event) until a write succeeds again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from typing import Any, Awaitable, Callable, Sequence

from keytui.domain import UNAVAILABLE, StoreUnavailable
from keytui.gateway.metrics import Metrics
from keytui.service import Event
from keytui.service.verification import Receipt

log = logging.getLogger("keytui.gateway")

MAX_BATCH = 1000
MAX_PENDING = 10_000
RETRY_DELAYS_S = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0)
# Another writer's lock: look again soon (the watch's transactions last milliseconds), then less
# often, so a lock held for long does not keep the loop in SQLite's busy wait.
LOCKED_RETRY_S = (0.003, 0.006, 0.012, 0.025, 0.05, 0.1)

# prepare(items) -> (outcome per item, event per item or None); runs where the database calls run.
Prepare = Callable[[Sequence[Any]], tuple[list[Any], list[Event | None]]]
# run_db(fn, *args): runs fn where the database calls belong (the service backend's on_loop).
RunDb = Callable[..., Awaitable[Any]]
# explain(exc) -> the store fault behind a failed write, if it is one
Explain = Callable[[BaseException], StoreUnavailable | None]


def events_only(items: Sequence[Event]) -> tuple[list[Any], list[Event | None]]:
    return [None] * len(items), list(items)


class CommitTimeout(Exception):
    """The activity log could not be written in time; the request must not be answered with a verdict."""


class StoreDown(CommitTimeout):
    """The database server cannot be reached; answered 503 at once rather than after the commit timeout."""


class QueueFull(Exception):
    """Too many requests already wait for the activity log; this one is answered 503 at once."""


def _locked(error: Exception) -> bool:
    text = str(error)
    return "locked" in text or "busy" in text


def _answered_503(done: asyncio.Future | None) -> bool:
    return done is not None and done.done() and not done.cancelled() and isinstance(done.exception(), CommitTimeout)


def unavailable(event: Event) -> Event:
    return event.as_failed(UNAVAILABLE)


class GroupCommit:
    def __init__(self, record: Callable[[Sequence[Event], Receipt], None], run_db: RunDb, metrics: Metrics,
                 *, commit_timeout_s: float, prepare: Prepare = events_only, max_pending: int = MAX_PENDING,
                 explain: Explain = lambda exc: None):
        self._prepare = prepare
        self._record = record
        self._run_db = run_db
        self._metrics = metrics
        self._explain = explain
        self._timeout = commit_timeout_s
        self.max_pending = max_pending
        self._pending: list[tuple[Any, asyncio.Future | None]] = []
        self._wake = asyncio.Event()
        self._closing = False
        self._in_flight = 0
        self.failing_since: float | None = None  # monotonic time of the first failed write, while failing
        self.fault: StoreUnavailable | None = None  # why writes fail, while they do
        self._said: str | None = None  # the cause last logged
        self._explained_at = 0.0
        self._deadlines: deque[tuple[float, asyncio.Future]] = deque()  # oldest first
        self._sweep: asyncio.TimerHandle | None = None
        self._task = asyncio.get_running_loop().create_task(self._run(), name="keytui-group-commit")

    @property
    def pending(self) -> int:
        """Requests queued or in the batch being written."""
        return len(self._pending) + self._in_flight

    @property
    def failing(self) -> bool:
        return self.failing_since is not None

    def failing_for(self) -> float:
        return 0.0 if self.failing_since is None else time.monotonic() - self.failing_since

    async def submit(self, item: Any) -> Any:
        """The item's outcome, once its event has committed; CommitTimeout if that takes too long,
        QueueFull at once if too many are waiting. An outcome may be an exception, which the
        caller raises for its own request."""
        if self._down():
            raise StoreDown()
        if self.pending >= self.max_pending:
            self._metrics.queue_full += 1
            raise QueueFull()
        loop = asyncio.get_running_loop()
        done = loop.create_future()
        self._pending.append((item, done))
        self._wake.set()
        # Not a timer per request (wait_for, call_later): deadlines come in the order requests
        # do, so one timer at the oldest deadline serves them all (see _time_out).
        self._deadlines.append((loop.time() + self._timeout, done))
        if self._sweep is None:
            self._sweep = loop.call_at(self._deadlines[0][0], self._time_out)
        return await done

    def _down(self) -> bool:
        return self.fault is not None and self.fault.reason == "unreachable"

    def _time_out(self) -> None:
        """Answer 503 to every request past its deadline (a batch leaves those futures alone),
        forget the answered ones, and wait for the next deadline."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        deadlines = self._deadlines
        while deadlines and (deadlines[0][1].done() or deadlines[0][0] <= now):
            _, done = deadlines.popleft()
            if not done.done():
                done.set_exception(CommitTimeout())
        self._sweep = loop.call_at(deadlines[0][0], self._time_out) if deadlines else None

    def post(self, event: Event) -> None:
        """Record an event nobody waits for (a cooling period started); it is written with the
        next batch and counts toward no request's answer."""
        self._pending.append((event, None))
        self._wake.set()

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
                outcomes = await self._write(batch)
            except Exception as exc:  # noqa: BLE001 — a bug in checking fails these requests, not the gateway
                if self._explain(exc) is None:  # a store fault is said (once) where it is answered
                    log.error("verification batch of %d failed: %s", len(batch), type(exc).__name__)
                outcomes = [exc] * len(batch)
            finally:
                self._in_flight = 0
            for (_, done), outcome in zip(batch, outcomes):
                if done is not None and not done.done():
                    done.set_result(outcome)
            deadlines = self._deadlines
            while deadlines and deadlines[0][1].done():
                deadlines.popleft()

    def _settled(self, batch: list, events: list[Event | None]) -> list[Event]:
        """The batch's events as their callers were answered (see the module docstring)."""
        out = []
        for (_, done), event in zip(batch, events):
            if event is not None:
                out.append(unavailable(event) if _answered_503(done) else event)
        return out

    def _check_and_record(self, batch: list, receipt: Receipt) -> tuple[list, list[Event | None], Exception | None]:
        outcomes, events = self._prepare([item for item, _ in batch])
        try:
            self._record(self._settled(batch, events), receipt)
        except Exception as exc:  # noqa: BLE001 — retried by the caller
            return outcomes, events, exc
        return outcomes, events, None

    def _record_settled(self, batch: list, events: list[Event | None], receipt: Receipt) -> None:
        self._record(self._settled(batch, events), receipt)

    async def _write(self, batch: list) -> list:
        receipt = Receipt()  # the batch's retries ask whether an unanswered COMMIT landed
        outcomes, events, error = await self._run_db(self._check_and_record, batch, receipt)
        attempt = 0
        while error is not None:
            attempt += 1
            delay = self._failed(error, len(batch), attempt)
            if self._down():
                self._answer_503(batch)
            await asyncio.sleep(delay)
            try:
                await self._run_db(self._record_settled, batch, events, receipt)
                error = None
            except Exception as exc:  # noqa: BLE001 — any failure is retried; the message carries no token
                error = exc
        self._recovered()
        self._metrics.batch_size.observe(sum(e is not None for e in events))
        return outcomes

    @staticmethod
    def _answer_503(batch: list) -> None:
        for _, done in batch:
            if done is not None and not done.done():
                done.set_exception(StoreDown())

    def _failed(self, error: Exception, size: int, attempt: int) -> float:
        """Keep why writes fail, in the store's words, and say it once per cause (not once per
        retry); returns how long to wait before the next try. Another writer's lock is looked
        at again within milliseconds (its transactions are short), and is worth a warning
        only once it has lasted the commit timeout."""
        self._metrics.batch_retries += 1
        now = time.monotonic()
        if self.failing_since is None:
            self.failing_since = now
        locked = _locked(error)
        if not locked or self.fault is None or now - self._explained_at > 1.0:  # /proc/locks at most once a second
            self.fault = self._explain(error) or StoreUnavailable("unavailable", f"{type(error).__name__}: {error}")
            self._explained_at = now
        if locked and self.failing_for() < self._timeout:
            log.debug("activity batch of %d waits for another writer (try %d)", size, attempt)
        elif self.fault.message != self._said:
            log.warning("activity log writes are failing: %s (retrying; %d requests waiting)", self.fault.message,
                        self.pending)
            self._said = self.fault.message
        delays = LOCKED_RETRY_S if locked else RETRY_DELAYS_S
        return delays[min(attempt - 1, len(delays) - 1)]

    def _recovered(self) -> None:
        if self._said is not None:
            log.warning("activity log writes work again after %.1f s", self.failing_for())
        self.failing_since = None
        self.fault = None
        self._said = None

    async def close(self, timeout_s: float) -> None:
        """Write what is still queued, then stop; give up (and say so) after timeout_s."""
        self._closing = True
        self._wake.set()
        try:
            await asyncio.wait_for(self._task, timeout_s)
        except asyncio.TimeoutError:
            log.error("shutting down with %d activity events unwritten (their requests were answered 503)",
                      self.pending)
        if self._sweep is not None:
            self._sweep.cancel()
