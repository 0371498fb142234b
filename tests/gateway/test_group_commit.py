"""The group commit's promises that a live server cannot easily show: a batch that fails to
write is retried until it commits, never dropped, and its requests wait or time out rather
than being answered without their events."""

from __future__ import annotations

import asyncio

import pytest
from peewee import OperationalError

from keytui.gateway.batcher import CommitTimeout, GroupCommit
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

    def record(self, events):
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
