"""Binding the models to a database: embedded SQLite by default, PostgreSQL via KEYTUI_DATABASE_URL.

Several processes (TUI, its worker, CLI, gateway) share one SQLite file: WAL lets readers run
beside the writer, every write transaction starts with BEGIN IMMEDIATE (so no transaction has
to upgrade a read lock and fail with "database is locked"), and a generous busy timeout makes
writers queue instead of failing.

Opening writes nothing unless it must: the schema version is read with a plain query, and
only a database behind this keytui's schema is migrated (under BEGIN IMMEDIATE). A read-only
open uses SQLite's `mode=ro` and sets no pragma that writes (journal_mode=wal is stored in the
file), so readers never wait behind a writer's lock and work on a read-only home.
"""

from __future__ import annotations

import hmac
import os
import sqlite3
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlsplit

from peewee import Database, SqliteDatabase

from keytui.config import ConfigError, Settings
from keytui.domain import StoreUnavailable
from keytui.store import migrations
from keytui.store.binding import using
from keytui.store.faults import classify
from keytui.store.models import Meta

BUSY_TIMEOUT_S = 60  # how long a writer waits for another's lock; KEYTUI_BUSY_TIMEOUT (seconds) overrides it
MASTER_KEY_CHECK = "master_key_check"
CONNECT_TIMEOUT_S = 3  # libpq's connect_timeout for a database server, unless the URL or PGCONNECT_TIMEOUT sets one
SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    # WAL + NORMAL: a committed transaction survives a killed process; only an OS crash or
    # power loss can drop the last commits. The benchmarks compare against the same setting.
    "synchronous": "normal",
    "cache_size": -16000,
}
READ_ONLY_PRAGMAS = {"foreign_keys": 1, "cache_size": -16000, "query_only": 1}


class Sqlite(SqliteDatabase):
    """SqliteDatabase whose rollback does not hide why a transaction failed.

    After a full disk or an I/O error SQLite has already rolled the transaction back; Peewee's
    ROLLBACK then fails with "cannot rollback - no transaction is active", and that error
    replaced the real one in every log line."""

    def rollback(self):
        if not self.is_closed() and not self.connection().in_transaction:
            return None
        return super().rollback()


def busy_timeout() -> float:
    text = os.environ.get("KEYTUI_BUSY_TIMEOUT")
    if not text:
        return BUSY_TIMEOUT_S
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 3600:
        raise ConfigError(f"KEYTUI_BUSY_TIMEOUT: {text!r} is not a number of seconds from 0 to 3600")
    return value


def file_state(path: Path) -> str:
    """'missing', 'empty' (zero bytes: never left by keytui, which creates a database whole),
    or 'present'."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return "missing"
    return "present" if size else "empty"


def open_database(settings: Settings, *, read_only: bool = False) -> Database:
    """The home's existing database (or the server's), connected, at this keytui's schema."""
    if settings.database_url:
        db = connect_url(settings.database_url, **_server_options(settings.database_url))
        db.connect(reuse_if_open=True)
        _bring_up_to_date(db, settings, read_only)
        return db
    path = settings.db_path
    db = _connect_sqlite(path, read_only=read_only)
    try:
        _bring_up_to_date(db, settings, read_only)
    except BaseException:
        db.close()
        raise
    return db


def connect_url(url: str, **options) -> Database:
    """The database a URL names, not yet connected. A user name, password or database name
    holding `@`, `/`, `:`, `%`… can only be written %-escaped in a URL (RFC 3986); Peewee passes
    them on as written, so the server was sent the escapes and refused the login."""
    from playhouse.db_url import connect

    parts = urlsplit(url)
    named = {"user": parts.username, "password": parts.password}
    if not parts.scheme.startswith("sqlite"):
        named["database"] = parts.path[1:]
    return connect(url, **{field: unquote(value) for field, value in named.items() if value}, **options)


def _server_options(url: str) -> dict:
    """libpq takes host, user, password, sslmode… from the URL or the standard PG* variables.
    keytui adds, on PostgreSQL, a bound on connecting (PGCONNECT_TIMEOUT or the URL's own win),
    so a server that does not answer never holds a gateway's event loop for long, and on every
    connection a writer waits for another's lock at most the busy timeout, as on SQLite
    (lock_timeout; its 0 means for ever), keeping the URL's own `options`."""
    parts = urlsplit(url)
    if not parts.scheme.startswith("postgres"):
        return {}
    given = parse_qs(parts.query).get("options", [""])[-1]
    options = {"options": f"{given} -c lock_timeout={max(1, round(busy_timeout() * 1000))}".strip()}
    if "connect_timeout=" not in url and not os.environ.get("PGCONNECT_TIMEOUT"):
        options["connect_timeout"] = CONNECT_TIMEOUT_S
    return options


def _connect_sqlite(path: Path, *, read_only: bool) -> Database:
    if not read_only:
        db = Sqlite(str(path), pragmas=SQLITE_PRAGMAS, timeout=busy_timeout(), lock_type="IMMEDIATE",
                    check_same_thread=False)
        return _connected(db, path)
    uri = f"file:{quote(str(path))}?mode=ro"
    try:
        return _connected(_read_only(uri), path)
    except StoreUnavailable:
        if _wal_pending(path):
            raise
        # A WAL database on a read-only file system: SQLite cannot create the WAL index it
        # reads through. With no log left (the last writer closed cleanly), every committed
        # change is in the file itself, which nobody can change here: read it as immutable.
        return _connected(_read_only(uri + "&immutable=1"), path)


def _read_only(uri: str) -> Database:
    return Sqlite(uri, uri=True, pragmas=READ_ONLY_PRAGMAS, timeout=busy_timeout(), lock_type="DEFERRED",
                  check_same_thread=False)


def _wal_pending(path: Path) -> bool:
    try:
        return Path(f"{path}-wal").stat().st_size > 0
    except FileNotFoundError:
        return False


def _connected(db: Database, path: Path) -> Database:
    """Connected and read once: a file that is not SQLite, or is damaged, shows here. (keytui never
    opens a database file itself: closing any descriptor of it would drop the SQLite locks this
    process holds through another connection.)"""
    try:
        db.connect(reuse_if_open=True)
        db.execute_sql("SELECT count(*) FROM sqlite_master").fetchone()
    except Exception as exc:
        db.close()
        raise classify(exc, path) or exc
    return db


def _bring_up_to_date(db: Database, settings: Settings, read_only: bool) -> None:
    where = None if settings.database_url else settings.db_path
    try:
        version = migrations.current_version(db)
    except Exception as exc:
        raise classify(exc, where) or exc
    if version > migrations.SCHEMA_VERSION:
        raise StoreUnavailable("schema", f"{where or 'the database'} was written by a newer keytui (schema "
                                         f"{version}; this one knows {migrations.SCHEMA_VERSION}): upgrade keytui")
    if version == migrations.SCHEMA_VERSION:
        return
    if read_only:
        raise StoreUnavailable("schema", f"{where or 'the database'} needs an upgrade (schema {version} of "
                                         f"{migrations.SCHEMA_VERSION}): open it once without --read-only")
    if version == 0 and where is not None:
        raise classify(sqlite3.DatabaseError("no such table: meta"), where)
    try:
        migrations.migrate(db)
    except Exception as exc:
        raise classify(exc, where) or exc


def create_database(settings: Settings, check_value: str) -> bool:
    """Build a new database beside the home's path and link it into place whole, so no process
    ever finds a half-made one; False if a database appeared there first. The caller holds the
    home's init lock."""
    path = settings.db_path
    draft = path.with_name(f".{path.name}.{os.getpid()}.new")
    for leftover in (draft, Path(f"{draft}-journal")):
        leftover.unlink(missing_ok=True)
    try:
        os.close(os.open(draft, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        db = Sqlite(str(draft), pragmas={"foreign_keys": 1}, lock_type="IMMEDIATE")
        try:
            db.connect()
            migrations.migrate(db)
            with using(db), db.atomic():
                Meta.insert(name=MASTER_KEY_CHECK, value=check_value).execute()
        finally:
            db.close()
        try:
            os.link(draft, path)
        except FileExistsError:
            return False
        return True
    except Exception as exc:
        raise classify(exc, path) or exc
    finally:
        draft.unlink(missing_ok=True)


def master_key_bound(db: Database) -> bool:
    """Has a master key opened this database yet?"""
    with using(db):
        return Meta.get_or_none(Meta.name == MASTER_KEY_CHECK) is not None


def bind_master_key(db: Database, check_value: str, *, read_only: bool = False) -> None:
    """The first master key to open the database is the only one it accepts: a wrong key would
    otherwise issue tokens that the other processes cannot verify and cannot decrypt."""
    with using(db):
        stored = Meta.get_or_none(Meta.name == MASTER_KEY_CHECK)
        if stored is None and read_only:
            return
        if stored is None:
            with db.atomic():
                Meta.insert(name=MASTER_KEY_CHECK, value=check_value).on_conflict_ignore().execute()
                stored = Meta.get(Meta.name == MASTER_KEY_CHECK)
    if not hmac.compare_digest(stored.value, check_value):
        raise ConfigError("master key: this database was created with a different master key "
                          "(check KEYTUI_MASTER_KEY or the master.key file in the home)")
