"""The group commit's promises that a live server cannot easily show: a batch that fails to
write is retried until it commits, never dropped, and its requests wait or time out rather
than being answered without their events; an event records what its caller was answered; the
queue is bounded; the cause of failing writes is said once, in the store's words."""

from __future__ import annotations

import asyncio

import pytest
from peewee import OperationalError

from keytui.domain import StoreUnavailable
from keytui.gateway.batcher import CommitTimeout, GroupCommit, QueueFull
from keytui.gateway.metrics import Metrics
from keytui.service import Event


class InlineWriter:
    async def run(self, fn, *args):
        return fn(*args)


class FlakyLog:
    """An activity log whose first `failures` writes fail."""

    def __init__(self, failures: int):
        self.failures = failures
        self.rows: list[Event] = []

    def record(self, events, receipt=None):
        if self.failures:
            self.failures -= 1
            raise OperationalError("disk I/O error")
        self.rows.extend(events)


def event(n: int) -> Event:
    return Event(n, None, None, "ci", "access", "failed", "NOT_FOUND", "192.0.2.1", "sandbox")


async def test_a_failed_batch_is_retried_until_it_commits():
    log, metrics = FlakyLog(failures=2), Metrics()
    commit = GroupCommit(log.record, InlineWriter().run, metrics, commit_timeout_s=5)
    await asyncio.gather(*(commit.submit(event(n)) for n in range(3)))
    assert sorted(e.ts_ms for e in log.rows) == [0, 1, 2]
    assert metrics.batch_retries == 2
    await commit.close(1)


async def test_requests_time_out_while_the_log_is_down_but_their_events_are_still_written():
    log = FlakyLog(failures=4)  # 0.05 + 0.1 + 0.25 + 0.5 s of retries
    commit = GroupCommit(log.record, InlineWriter().run, Metrics(), commit_timeout_s=0.2)
    with pytest.raises(CommitTimeout):
        await commit.submit(event(7))
    assert log.rows == []
    await commit.close(5)
    assert [e.ts_ms for e in log.rows] == [7]


async def test_a_failure_while_checking_fails_that_batch_and_the_next_one_still_works():
    log = FlakyLog(failures=0)
    calls = []

    def prepare(items):
        calls.append(items)
        if len(calls) == 1:
            raise RuntimeError("bug")
        return [None] * len(items), list(items)

    commit = GroupCommit(log.record, InlineWriter().run, Metrics(), commit_timeout_s=5, prepare=prepare)
    assert isinstance(await commit.submit(event(1)), RuntimeError)
    assert await commit.submit(event(2)) is None
    assert [e.ts_ms for e in log.rows] == [2]
    await commit.close(1)


def verdict(n: int) -> Event:
    return Event(n, "key_aaaaaaaaaaaaaaaa", 1, "ci", "access", "success", "VALID", "192.0.2.1", "sandbox")


async def test_a_request_answered_503_is_recorded_as_unavailable_never_as_its_verdict():
    log = FlakyLog(failures=4)
    commit = GroupCommit(log.record, InlineWriter().run, Metrics(), commit_timeout_s=0.2)
    with pytest.raises(CommitTimeout):
        await commit.submit(verdict(1))
    await commit.close(5)
    [row] = log.rows
    assert (row.code, row.status, row.key_id) == ("UNAVAILABLE", "failed", "key_aaaaaaaaaaaaaaaa")


async def test_an_answered_request_keeps_its_verdict_even_after_retries():
    log = FlakyLog(failures=2)
    commit = GroupCommit(log.record, InlineWriter().run, Metrics(), commit_timeout_s=5)
    assert await commit.submit(verdict(1)) is None
    assert [(e.code, e.status) for e in log.rows] == [("VALID", "success")]
    await commit.close(1)


async def test_while_writes_fail_the_queue_is_bounded_and_the_next_request_gets_503_at_once():
    log, metrics = FlakyLog(failures=10**6), Metrics()
    commit = GroupCommit(log.record, InlineWriter().run, metrics, commit_timeout_s=30, max_pending=5)
    waiting = [asyncio.ensure_future(commit.submit(event(n))) for n in range(5)]
    await asyncio.sleep(0.1)
    with pytest.raises(QueueFull):
        await commit.submit(event(6))
    assert metrics.queue_full == 1 and commit.pending == 5
    assert "keytui_gateway_queue_full_total 1" in metrics.render(pending_events=5, pending_limit=5, cooling_ips=0)
    log.failures = 0
    await asyncio.gather(*waiting)
    assert len(log.rows) == 5
    await commit.close(1)


async def test_the_cause_of_failing_writes_is_logged_once_in_the_stores_words(caplog):
    full = StoreUnavailable("full", "the disk is full: free space on the file system holding /srv/keytui")
    log = FlakyLog(failures=5)
    commit = GroupCommit(log.record, InlineWriter().run, Metrics(), commit_timeout_s=0.1, explain=lambda exc: full)
    with pytest.raises(CommitTimeout):
        await commit.submit(event(1))
    assert commit.fault is full and commit.failing
    await commit.close(5)
    said = [r.getMessage() for r in caplog.records if r.name == "keytui.gateway"]
    assert sum("the disk is full" in m for m in said) == 1
    assert any("work again" in m for m in said) and not commit.failing
