"""Which database the models talk to: the one the caller's service context put in use.

The models are declared once, but a process may hold several service contexts on several
databases (tests, `keytui db copy`, a daemon serving more than one home). A global
`DatabaseProxy` would make them share whichever database was opened last, so the models'
database is looked up in a `ContextVar` instead: `using(db)` puts a database in use for the
current thread or task, and nothing outside such a block can reach the store by accident.

`using` is also where a long-lived connection (a gateway's, a watch's, the console worker's)
that the database server dropped (a restart, an idle timeout) is replaced: at the start of a
unit of work, never inside a transaction, so nothing half done is retried.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from typing import Iterator

from peewee import Database, DatabaseProxy

_current: ContextVar[Database | None] = ContextVar("keytui_database", default=None)


class NoDatabaseInUse(RuntimeError):
    """A model was used outside `using(db)`: a bug in the service, never a user's mistake."""


class ContextDatabase(DatabaseProxy):
    """A DatabaseProxy whose target is the database in use in the current context."""

    __slots__ = ()

    def __init__(self):  # noqa: D107 — no Proxy.initialize: the target is never stored here
        object.__setattr__(self, "_callbacks", [])

    @property
    def obj(self) -> Database | None:
        return _current.get()  # peewee reads None as "not bound yet" while declaring the models

    def __getattr__(self, attr):
        db = _current.get()
        if db is None:
            raise NoDatabaseInUse("no keytui database is in use here (a service call outside its context)")
        return getattr(db, attr)


database = ContextDatabase()


@contextmanager
def using(db: Database) -> Iterator[Database]:
    """Put `db` in use for the models in this thread or task; connect it for the block if this
    thread has no connection yet (thread workers), and close only what was opened here."""
    token = _current.set(db)
    drop_if_lost(db)
    opened = db.is_closed()
    if opened:
        db.connect()
    try:
        yield db
    finally:
        if opened and not db.is_closed() and not db.in_transaction():
            db.close()
        _current.reset(token)


def drop_if_lost(db: Database) -> bool:
    """Close this thread's connection if the server has dropped it (libpq reports it lost or in a
    failed transaction), so the next connect opens a new one; never inside a transaction. A
    cheap check (no round trip): the first call after a restart still fails, the next one
    reconnects. True if one was dropped."""
    if db.is_closed() or db.in_transaction() or db.is_connection_usable():
        return False
    try:
        db.close()
    except Exception:  # noqa: BLE001 — the connection is gone either way; forget it
        db.dispose()
    return True
