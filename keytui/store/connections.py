"""Long-lived connections for a server: calls run on the event loop's own thread (`OnLoop`),
or on a small pool of threads that each keep their connection (`DatabaseThreads`).

Peewee keeps one connection per thread. Opening one per call (connection_context) costs more
than a verification, so each of these long-lived threads opens its connection once, and
`close` has every thread close its own before the pool ends.

With WAL and synchronous=NORMAL a commit does not wait for the disk, but the commit that
crosses SQLite's auto-checkpoint threshold copies the log into the database and syncs it,
which made one request in a few hundred wait tens of milliseconds. A writer on the loop
(`OnLoop`) therefore does not checkpoint; a maintenance thread does (`checkpoint`), in PASSIVE
mode, which never blocks the writer.
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from functools import partial

from peewee import Database

from keytui.store.binding import drop_if_lost
from keytui.store.sql import is_sqlite


class DatabaseThreads:
    def __init__(self, db: Database, size: int, name: str):
        self._db = db
        self._size = size
        self._pool = ThreadPoolExecutor(size, thread_name_prefix=name, initializer=self._open)

    def _open(self) -> None:
        self._db.connect(reuse_if_open=True)

    async def run(self, fn, *args):
        return await asyncio.get_running_loop().run_in_executor(self._pool, partial(self._call, fn, *args))

    def _call(self, fn, *args):
        """`fn` on this thread's connection, a new one if the server dropped the last (a restart)."""
        drop_if_lost(self._db)
        self._db.connect(reuse_if_open=True)
        return fn(*args)

    def close(self) -> None:
        """One closing task per thread: the barrier keeps any thread from taking two."""
        barrier = threading.Barrier(self._size)

        def close_own() -> None:
            try:
                barrier.wait(timeout=5)
            except threading.BrokenBarrierError:
                pass
            self._db.close()

        for _ in range(self._size):
            self._pool.submit(close_own)
        self._pool.shutdown(wait=True)


class OnLoop:
    """Runs the group commit's database calls on the event loop's own thread.

    A writer thread looked tidier but cost more than the calls themselves: every sqlite3 call
    releases the GIL, and handing it back and forth with the loop thread for each statement of
    a batch made a verification cost 400-530 µs of server CPU instead of ~300 µs
    (bench/gateway_bench.py). A batch of checks and one commit takes well under a millisecond.
    To keep the loop from stalling behind another process's write lock, this connection waits
    for that lock at most BUSY_TIMEOUT_MS (SQLite polls at 1, 3 and 8 ms); a batch that could not
    get it is retried by the group commit, asynchronously and soon (the watch's transactions
    last a few milliseconds), while its requests wait (or time out with 503).

    On PostgreSQL the same holds for row locks: a session holding `UPDATE api_key …` open froze
    the loop (and /healthz, /metrics) for as long as it held it, so this connection waits for a
    lock at most BUSY_TIMEOUT_MS (`lock_timeout`) and for any statement at most
    STATEMENT_TIMEOUT_MS; the failed batch is retried like SQLite's "database is locked".

    After a PostgreSQL restart the connection is dead: the batch that finds out fails (its
    requests are answered 503, or its events retried), and the next call opens a new connection
    with these settings, before any transaction begins. While the server is down each call's
    connect fails at once (a refused socket), so requests get 503 rather than waiting;
    `connect_timeout` bounds the wait for a server that does not answer at all.
    """

    BUSY_TIMEOUT_MS = 10
    STATEMENT_TIMEOUT_MS = 2000

    def __init__(self, db: Database):
        self._db = db

    async def run(self, fn, *args):
        if drop_if_lost(self._db) or self._db.is_closed():
            self._connect()
        return fn(*args)

    def _connect(self) -> None:
        """Connected with this connection's settings, or not connected at all."""
        self._db.connect(reuse_if_open=True)
        try:
            if is_sqlite(self._db):
                self._db.execute_sql("PRAGMA wal_autocheckpoint = 0")  # left to `checkpoint`
                self._db.execute_sql(f"PRAGMA busy_timeout = {self.BUSY_TIMEOUT_MS}")
            else:
                self._db.execute_sql(f"SET lock_timeout = {self.BUSY_TIMEOUT_MS}")
                self._db.execute_sql(f"SET statement_timeout = {self.STATEMENT_TIMEOUT_MS}")
        except BaseException:
            if not drop_if_lost(self._db):
                self._db.close()
            raise

    def close(self) -> None:
        self._db.close()


def checkpoint(db: Database) -> None:
    if is_sqlite(db):
        db.execute_sql("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
