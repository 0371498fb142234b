"""Threads that run database calls off the event loop.

Peewee keeps one connection per thread. Opening one per call (connection_context) costs more
than a verification, so each of these long-lived threads opens its connection once, and
`close` has every thread close its own before the pool ends.
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from functools import partial

from peewee import Database


class DatabaseThreads:
    def __init__(self, db: Database, size: int, name: str):
        self._db = db
        self._size = size
        self._pool = ThreadPoolExecutor(size, thread_name_prefix=name, initializer=self._open)

    def _open(self) -> None:
        self._db.connect(reuse_if_open=True)

    async def run(self, fn, *args):
        return await asyncio.get_running_loop().run_in_executor(self._pool, partial(fn, *args))

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
