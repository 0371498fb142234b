"""A COMMIT whose answer never arrives (the connection to the server dropped just then) may have
committed or not. The gateway retries the batch; PostgreSQL is first asked how the earlier
transaction ended (`txid_status`), so a batch that did commit is not written a second time:
every answered verification keeps exactly one event."""

from __future__ import annotations

import asyncio

from peewee import OperationalError

from keytui.gateway.batcher import GroupCommit
from keytui.gateway.metrics import Metrics
from keytui.service import Event
from keytui.store.binding import using
from tests.pg import database_rows


class InlineWriter:
    async def run(self, fn, *args):
        return fn(*args)


def event(n: int) -> Event:
    return Event(n, None, None, "ci", "access", "failed", "NOT_FOUND", "192.0.2.1", "sandbox")


async def write_three_events(vault, monkeypatch, first_commit) -> Metrics:
    """Three events through the group commit, the first COMMIT replaced by `first_commit(commit)`."""
    db = vault.ctx.db
    real = db.commit
    calls = []

    def commit():
        calls.append(True)
        return first_commit(real) if len(calls) == 1 else real()

    monkeypatch.setattr(db, "commit", commit)
    metrics = Metrics()
    with using(db):
        batches = GroupCommit(vault.verifier.record, InlineWriter().run, metrics, commit_timeout_s=5)
        await asyncio.gather(*(batches.submit(event(n)) for n in range(3)))
        await batches.close(5)
    return metrics


async def test_a_batch_whose_commit_answer_was_lost_is_written_once(vault, home, pg_url, monkeypatch):
    def committed_but_unanswered(commit):
        commit()
        raise OperationalError("server closed the connection unexpectedly")

    metrics = await write_three_events(vault, monkeypatch, committed_but_unanswered)
    assert metrics.batch_retries == 1
    assert database_rows(home, "SELECT ts FROM activity_event ORDER BY ts") == [(0,), (1,), (2,)]


async def test_a_batch_whose_commit_failed_is_written_by_the_retry(vault, home, pg_url, monkeypatch):
    def failed(commit):
        raise OperationalError("server closed the connection unexpectedly")  # rolled back: never committed

    metrics = await write_three_events(vault, monkeypatch, failed)
    assert metrics.batch_retries == 1
    assert database_rows(home, "SELECT ts FROM activity_event ORDER BY ts") == [(0,), (1,), (2,)]
