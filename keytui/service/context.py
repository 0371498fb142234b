"""The service context: everything a service function needs, handed to it explicitly.

A context is one operator's session on one database: the database, the keyring derived from
the master key, the clock, who is acting, whether writes are allowed, and the MFA window a
good TOTP code opened. Every service function takes it as its first argument, so nothing in
the service reaches for a global, and two contexts on two databases live side by side in one
process (each call puts its own database in use for the models, see keytui.store.binding).
"""

from __future__ import annotations

import functools
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Callable, Iterator, ParamSpec, TypeVar

from peewee import Database

from keytui.clock import PIN_VARIABLE, Clock, pinned_clock
from keytui.config import ConfigError, Settings, default_operator
from keytui.domain import ReadOnlyError, StoreUnavailable, validate_operator
from keytui.service import audit, homekind, integrity
from keytui.store.binding import using
from keytui.store.faults import classify
from keytui.store.locks import writers_lock
from keytui.store.opening import open_store
from keytui.tokens import VERIFY_ONLY, Keyring

P = ParamSpec("P")
R = TypeVar("R")


class Context:
    def __init__(self, db: Database, keyring: Keyring, *, clock: Clock | None = None, operator: str | None = None,
                 read_only: bool = False, settings: Settings | None = None, mfa_window_seconds: int = 0,
                 role: str | None = None):
        self.db = db
        self.keyring = keyring
        self.clock = clock or Clock()
        self.operator = validate_operator(operator or default_operator())
        self.read_only = read_only
        # keytui.service.roles: whoever opens the home in process holds its master key and is its
        # admin (--read-only is a promise kept by read_only); the daemon sets each caller's role
        self.role = role or "admin"
        self.settings = settings
        self.mfa_window_seconds = mfa_window_seconds
        self.mfa_until: datetime | None = None

    @classmethod
    def open(cls, home=None, *, operator: str | None = None, read_only: bool = False, clock: Clock | None = None,
             mfa_window_seconds: int = 0, new_demo: bool = False, reader: bool = False) -> "Context":
        """A context on the home's database (created on first use) with its master key.

        Without `clock`, KEYTUI_NOW pins the clock in a demo or test home only (or, with
        `new_demo`, in a fresh home the demo is about to fill); anywhere else it is refused.
        `read_only` opens the file read-only and refuses every change; a `reader` (a command
        that only reads) also refuses changes and opens read-only whenever the home exists at
        this keytui's schema, so it never waits behind a writer's lock.
        """
        opened = open_store(home, read_only=read_only, prefer_read_only=reader)
        keyring = opened.keyring
        try:
            clock = clock or _env_clock(opened.db, keyring, new_demo)
        except Exception:
            opened.db.close()
            raise
        ctx = cls(opened.db, keyring, clock=clock, operator=operator, read_only=read_only or reader,
                  settings=opened.settings, mfa_window_seconds=mfa_window_seconds)
        if not opened.read_only and not keyring.verify_only:  # a read-only open writes nothing, not even seals
            integrity.seal_migrated_rows(ctx)
        return ctx

    def close(self) -> None:
        if not self.db.is_closed():
            self.db.close()

    def as_operator(self, operator: str, *, role: str | None = None, mfa_window_seconds: int = 0) -> "Context":
        """The same database and clock, acting as someone else (the watch acts as 'system'; the
        daemon acts as each caller, with the caller's role and MFA window)."""
        return Context(self.db, self.keyring, clock=self.clock, operator=operator, read_only=self.read_only,
                       settings=self.settings, role=role or self.role, mfa_window_seconds=mfa_window_seconds)

    def now(self) -> datetime:
        """The clock's time at the store's resolution (milliseconds), so views match what is stored."""
        now = self.clock.now()
        return now.replace(microsecond=now.microsecond // 1000 * 1000)

    def require_writable(self) -> None:
        self.require_recording()
        if self.keyring.verify_only:
            raise ReadOnlyError(VERIFY_ONLY)

    def require_recording(self) -> None:
        """Verifications may be recorded (a verify-only keyring records them, changes nothing else)."""
        if self.read_only:
            raise ReadOnlyError("keytui is open read-only: changes are refused")

    @property
    def where(self) -> Path | None:
        """The database file (None for a database server), for messages about it."""
        if self.settings is None or self.settings.database_url:
            return None
        return self.settings.db_path

    @contextmanager
    def faults(self) -> Iterator[None]:
        """Store faults (locked, full, damaged, read-only...) leave as StoreUnavailable, one line."""
        try:
            yield
        except Exception as exc:
            fault = classify(exc, self.where)
            if fault is None or fault is exc:
                raise
            raise fault from exc

    @contextmanager
    def bound(self) -> Iterator[None]:
        """This context's database in use for the models (connected for the block if needed)."""
        with self.faults(), using(self.db):
            yield

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One write transaction (BEGIN IMMEDIATE on SQLite, the writers' lock on PostgreSQL,
        taken before anything is read, so it never waits while holding a row): the change and
        its audit entry commit together or not at all."""
        with self.faults(), using(self.db), self.db.atomic():
            writers_lock(self.db)
            yield

    def audit(self, action: str, key_id: str | None = None, **details) -> None:
        """Append an audit entry; must run inside the transaction of the change it records."""
        audit.append(self, [(action, key_id, details)])

    def audit_many(self, entries: list[tuple[str, str | None, dict]], *, now: datetime | None = None) -> None:
        """Append (action, key_id, details) entries in a few statements (bulk changes)."""
        audit.append(self, entries, now=now)


def _env_clock(db: Database, keyring: Keyring, new_demo: bool) -> Clock:
    try:
        pinned = pinned_clock()
    except ValueError:
        raise ConfigError(f"{PIN_VARIABLE}: not an ISO 8601 date-time") from None
    if pinned is None:
        return Clock()
    if homekind.kind(db, keyring) in homekind.PINNED_CLOCK_KINDS or (new_demo and homekind.is_fresh(db)):
        return pinned
    raise ConfigError(f"{PIN_VARIABLE}: keytui's clock can be pinned only in a demo home; unset it")


def uses_store(fn: Callable[P, R]) -> Callable[P, R]:
    """A service function that reads or writes the store through the models: its context's
    database is put in use for the call."""

    @functools.wraps(fn)
    def call(ctx: Context, *args, **kwargs):
        with ctx.faults(), using(ctx.db):
            return fn(ctx, *args, **kwargs)

    return call


def store_fault(exc: BaseException) -> StoreUnavailable | None:
    """The store fault behind an exception that reached a face without passing a context."""
    return classify(exc)
