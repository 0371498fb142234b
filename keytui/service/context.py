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
from typing import Callable, Iterator, ParamSpec, TypeVar

from peewee import Database

from keytui.clock import PIN_VARIABLE, Clock, pinned_clock
from keytui.config import ConfigError, Settings, default_operator, load_master_key, load_settings
from keytui.domain import ReadOnlyError, validate_operator
from keytui.service import audit, homekind, integrity
from keytui.store.binding import using
from keytui.store.db import bind_master_key, open_database
from keytui.tokens import Keyring

P = ParamSpec("P")
R = TypeVar("R")


class Context:
    def __init__(self, db: Database, keyring: Keyring, *, clock: Clock | None = None, operator: str | None = None,
                 read_only: bool = False, settings: Settings | None = None, mfa_window_seconds: int = 0):
        self.db = db
        self.keyring = keyring
        self.clock = clock or Clock()
        self.operator = validate_operator(operator or default_operator())
        self.read_only = read_only
        self.settings = settings
        self.mfa_window_seconds = mfa_window_seconds
        self.mfa_until: datetime | None = None

    @classmethod
    def open(cls, home=None, *, operator: str | None = None, read_only: bool = False, clock: Clock | None = None,
             mfa_window_seconds: int = 0, new_demo: bool = False) -> "Context":
        """A context on the home's database (created on first use) with its master key.

        Without `clock`, KEYTUI_NOW pins the clock in a demo or test home only (or, with
        `new_demo`, in a fresh home the demo is about to fill); anywhere else it is refused.
        """
        settings = load_settings(home)
        keyring = Keyring(load_master_key(settings))
        db = open_database(settings)
        try:
            bind_master_key(db, keyring.check_value)
            clock = clock or _env_clock(db, keyring, new_demo)
        except Exception:
            db.close()
            raise
        ctx = cls(db, keyring, clock=clock, operator=operator, read_only=read_only,
                  settings=settings, mfa_window_seconds=mfa_window_seconds)
        integrity.seal_migrated_rows(ctx)
        return ctx

    def close(self) -> None:
        if not self.db.is_closed():
            self.db.close()

    def as_operator(self, operator: str) -> "Context":
        """The same database and clock, acting as someone else (the watch acts as 'system')."""
        return Context(self.db, self.keyring, clock=self.clock, operator=operator, read_only=self.read_only,
                       settings=self.settings)

    def now(self) -> datetime:
        """The clock's time at the store's resolution (milliseconds), so views match what is stored."""
        now = self.clock.now()
        return now.replace(microsecond=now.microsecond // 1000 * 1000)

    def require_writable(self) -> None:
        if self.read_only:
            raise ReadOnlyError("keytui is open read-only: changes are refused")

    @contextmanager
    def bound(self) -> Iterator[None]:
        """This context's database in use for the models (connected for the block if needed)."""
        with using(self.db):
            yield

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One write transaction (BEGIN IMMEDIATE on SQLite): the change and its audit entry
        commit together or not at all."""
        with using(self.db), self.db.atomic():
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
        with using(ctx.db):
            return fn(ctx, *args, **kwargs)

    return call
