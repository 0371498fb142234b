"""Locks between processes sharing a home or a database server: the kernel (a file lock) or
PostgreSQL (an advisory lock, held by a connection) releases them if a process dies, so a killed
process never leaves anything locked."""

from __future__ import annotations

import fcntl
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from peewee import Database

from keytui.config import Settings
from keytui.store.sql import is_sqlite

WATCH_LOCK = ".watch.lock"
# PostgreSQL advisory lock ids (any 64-bit numbers no other application on the server uses)
WATCH_PASS = 0x6B657974_75690001  # one watch pass at a time on the server, whichever host runs it
WRITERS = 0x6B657974_75690002  # one audited write transaction at a time (the audit chain's next seq)


@contextmanager
def _flock(path: Path, flags: int) -> Iterator[None]:
    fd = os.open(path, flags, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def home_lock(home: Path) -> Iterator[None]:
    """Serialises creating a home's database (a lock on the folder itself)."""
    return _flock(home, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))


@contextmanager
def watch_lock(settings: Settings | None, db: Database) -> Iterator[None]:
    """One watch pass at a time per home, and on a database server per database (two hosts'
    homes share it): a second pass waits for the first, then finds its work done. (A context
    without a home, built by hand in a test, takes no file lock.)"""
    if settings is None:
        with _advisory(db, WATCH_PASS):
            yield
        return
    with _flock(settings.home / WATCH_LOCK, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)), \
            _advisory(db, WATCH_PASS):
        yield


@contextmanager
def _advisory(db: Database, lock_id: int) -> Iterator[None]:
    """A session advisory lock on this thread's connection (nothing on SQLite, where the file
    lock above is enough). Should the unlock fail (a broken connection), the connection is
    closed, which ends the lock with it."""
    if is_sqlite(db):
        yield
        return
    db.execute_sql("SELECT pg_advisory_lock(%s)", (lock_id,)).fetchone()
    try:
        yield
    finally:
        try:
            db.execute_sql("SELECT pg_advisory_unlock(%s)", (lock_id,)).fetchone()
        except Exception:  # noqa: BLE001 — the lock ends with the connection
            db.close()


def writers_lock(db: Database) -> None:
    """Inside a transaction on PostgreSQL: wait for every other audited write transaction to
    end (SQLite's BEGIN IMMEDIATE does the same for the whole file). The audit chain's next
    number is read, then written; without this two writers read the same one and the second
    failed on the unique seq. Released at commit or rollback."""
    if not is_sqlite(db):
        db.execute_sql("SELECT pg_advisory_xact_lock(%s)", (WRITERS,)).fetchone()
