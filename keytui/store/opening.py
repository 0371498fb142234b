"""Opening a home: its database and master key, or one line saying why they cannot be used.

A home that has been used is never silently started again. keytui creates a database whole
(built aside and linked into place under the home's lock), so a zero-length `keytui.db` is
damage, and a missing one beside the key file is a lost database: both are errors until the
operator asks for a new database (`keytui init`, `keytui init --fresh`). Likewise a database
whose key file is gone never gets a new key: that key could not read a single token.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path
from typing import NamedTuple

from peewee import Database

from keytui import keyfile
from keytui.config import Settings, check_home, load_master_key, load_settings
from keytui.domain import RuleError, StoreUnavailable
from keytui.store.db import bind_master_key, create_database, file_state, master_key_bound, open_database
from keytui.store.locks import home_lock
from keytui.tokens import Keyring


class Opened(NamedTuple):
    settings: Settings
    db: Database
    keyring: Keyring  # from the master key, or a verify-only keyring (keytui.keyfile)
    read_only: bool  # the connection cannot write

def open_store(home=None, *, read_only: bool = False, prefer_read_only: bool = False) -> Opened:
    """The home's database and key. `read_only` never writes (an uncreated or outdated
    database is an error); `prefer_read_only` opens read-only when it can, and otherwise
    (a new home, a schema to migrate) as a writer would."""
    if read_only or prefer_read_only:
        try:
            return _open(load_settings(home, create=False), read_only=True)
        except StoreUnavailable as exc:
            if read_only or exc.reason not in ("missing", "schema"):
                raise
    return _open(load_settings(home), read_only=False)


def _open(settings: Settings, *, read_only: bool) -> Opened:
    check_home(settings.home)
    if settings.database_url or file_state(settings.db_path) == "present":
        return _open_existing(settings, read_only)
    if read_only:
        raise _not_created(settings)
    if keyfile.from_environment() is not None:
        raise StoreUnavailable("missing", f"there is no keytui database in {settings.home}: a verify-only keyring "
                                          f"({keyfile.ENV_VAR}) never creates one")
    with home_lock(settings.home):
        state = file_state(settings.db_path)
        if state != "present":
            _refuse_restart(settings, state)
            _create(settings)
    return _open_existing(settings, read_only=False)


def _open_existing(settings: Settings, read_only: bool) -> Opened:
    keyring = keyfile.from_environment()
    key = None if keyring else _master_key(settings, read_only)
    db = open_database(settings, read_only=read_only)
    try:
        keyring = keyring or Keyring(key or _first_key(settings, db))
        bind_master_key(db, keyring.check_value, read_only=read_only or keyring.verify_only)
    except BaseException:
        db.close()
        raise
    return Opened(settings, db, keyring, read_only)


def _master_key(settings: Settings, read_only: bool) -> bytes | None:
    """The home's key; None when there is no key file for a server's database that may be new
    (`_first_key` asks it)."""
    key = load_master_key(settings, create=False)
    if key is None and (read_only or not settings.database_url):
        raise _key_missing(settings)
    return key


def _first_key(settings: Settings, db: Database) -> bytes:
    """A server's database takes the key of the first keytui to open it (a new key file); one
    that already belongs to a key never gets another, which could not read a single token."""
    if master_key_bound(db):
        raise _key_missing(settings)
    return load_master_key(settings, create=True)


def _key_missing(settings: Settings) -> StoreUnavailable:
    return StoreUnavailable("missing", f"{settings.key_path} is missing, but {_db(settings)} belongs to a master "
                                       "key: restore master.key from a backup or set KEYTUI_MASTER_KEY (keytui "
                                       "never makes a new key for an existing database)")


def _db(settings: Settings) -> str:
    return "the database" if settings.database_url else str(settings.db_path)


def home_used(settings: Settings) -> bool:
    """Has this home held a database? Its key file is made together with the first one."""
    return os.path.lexists(settings.key_path)


def _refuse_restart(settings: Settings, state: str) -> None:
    if state == "empty":
        raise StoreUnavailable("damaged", f"{settings.db_path} is empty (0 bytes): restore it from a backup, or run "
                                          "`keytui init --fresh` to start an empty database")
    if home_used(settings):
        raise StoreUnavailable("missing", f"{settings.db_path} is missing, but {settings.key_path} shows this home "
                                          "has been used: restore keytui.db from a backup, or run `keytui init` to "
                                          "start an empty database")


def _not_created(settings: Settings) -> StoreUnavailable:
    try:
        _refuse_restart(settings, file_state(settings.db_path))
    except StoreUnavailable as exc:
        return exc
    return StoreUnavailable("missing", f"there is no keytui database in {settings.home} yet: run keytui once "
                                       "without --read-only to create one")


def _create(settings: Settings) -> Path | None:
    """A new database with the home's key (made now if there is none); a file or log files left
    where it goes are moved aside first (a stale WAL would be replayed into the new database).
    Returns where they went."""
    key = load_master_key(settings, create=True)
    aside = _move_aside(settings.db_path)
    create_database(settings, Keyring(key).check_value)
    return aside


def initialise(home=None, *, fresh: bool = False) -> str:
    """`keytui init`: make sure the home has a working database, creating an empty one when the
    operator asks (a lost database's key is kept; with `fresh`, a damaged or empty file is
    moved aside first, never deleted). Returns what was done, in one line."""
    settings = load_settings(home)
    check_home(settings.home)
    if settings.database_url:
        _open_existing(settings, read_only=False).db.close()
        return "the database server's keytui database is ready"
    with home_lock(settings.home):
        state = file_state(settings.db_path)
        if state == "present":
            try:
                _open_existing(settings, read_only=False).db.close()
                return f"{settings.db_path} is a working keytui database: nothing to do"
            except StoreUnavailable as exc:
                if exc.reason != "damaged" or not fresh:
                    raise
        elif state == "empty" and not fresh:
            _refuse_restart(settings, state)
        aside = _create(settings)
    done = f"created an empty keytui database in {settings.home}"
    return done + (f" (the old file is kept as {aside.name})" if aside else "")


def _move_aside(path: Path) -> Path | None:
    """Rename a damaged database and its log files (or logs left without one), so a later
    restore can still use them; None when there was nothing there."""
    found = [suffix for suffix in ("-wal", "-shm", "") if os.path.lexists(f"{path}{suffix}")]
    if not found:
        return None
    aside = path.with_name(f"{path.name}.damaged-{datetime.now(timezone.utc):%Y%m%dT%H%M%S}")
    if any(os.path.lexists(f"{aside}{suffix}") for suffix in found):
        raise RuleError(f"init: {aside} exists already; try again in a second")
    for suffix in found:
        os.rename(f"{path}{suffix}", f"{aside}{suffix}")
    return aside
