"""What went wrong with the store, as one line an operator can act on.

SQLite reports a full disk, a read-only file, a lock held too long or a damaged file as
exceptions whose text is easy to misread: Peewee's rollback after SQLite has already rolled
back raises "cannot rollback - no transaction is active", which hides the "database or disk is
full" that caused it. `classify` walks the whole chain of causes, finds the one that says
what happened, and turns it into a `StoreUnavailable` with the same words for every face (the
CLI's exit code 3, the gateway's 503, the console's notice).
"""

from __future__ import annotations

import errno
import os
import re
from pathlib import Path
from typing import Iterator

from keytui.domain import StoreUnavailable

# (reason, SQLite error-name prefixes, OS errnos, words in the message)
KINDS = (
    ("full", ("SQLITE_FULL",), (errno.ENOSPC, errno.EDQUOT), ("disk is full",)),
    ("read-only", ("SQLITE_READONLY",), (errno.EROFS,), ("readonly database", "read-only file system")),
    ("locked", ("SQLITE_BUSY", "SQLITE_LOCKED"), (), ("database is locked", "database table is locked",
                                                      "due to lock timeout")),  # PostgreSQL's lock_timeout
    ("damaged", ("SQLITE_CORRUPT", "SQLITE_NOTADB"), (), ("not a database", "malformed", "no such table")),
    ("denied", ("SQLITE_AUTH", "SQLITE_PERM"), (errno.EACCES, errno.EPERM), ("permission denied",)),
    ("io", ("SQLITE_IOERR",), (errno.EIO,), ("disk i/o error",)),
    ("cantopen", ("SQLITE_CANTOPEN",), (), ("unable to open database file",)),
)
SERVER_ERRORS = ("OperationalError", "InterfaceError")  # psycopg's names for a server it cannot reach
# PostgreSQL's SQLSTATE codes for the same faults (its messages are translated, its codes are not)
PG_CODES = {"53100": "full", "25006": "read-only", "55P03": "locked", "40P01": "locked", "42P01": "damaged",
            "42703": "damaged", "42501": "denied"}
URL_PASSWORD = re.compile(r"(://[^:/@\s]*):[^@\s]*@")  # user:password@ in a URL a driver quotes


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    todo = [exc]
    while todo:
        e = todo.pop(0)
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        yield e
        todo += [e.__cause__, e.__context__]


def _kind(e: BaseException) -> str | None:
    name = getattr(e, "sqlite_errorname", "") or ""
    if getattr(e, "pgcode", None) in PG_CODES:
        return PG_CODES[e.pgcode]
    code = e.errno if isinstance(e, OSError) else None
    text = str(e).lower()
    for reason, names, errnos, words in KINDS:
        if (name and name.startswith(names)) or code in errnos or any(w in text for w in words):
            return reason
    return None


def _server_error(exc: BaseException) -> BaseException | None:
    for e in _chain(exc):
        module = type(e).__module__ or ""
        if module.startswith(("psycopg", "psycopg2")) and type(e).__name__ in SERVER_ERRORS:
            return e
    return None


def classify(exc: BaseException, where: Path | None = None) -> StoreUnavailable | None:
    """The store fault behind `exc` (anywhere in its chain of causes), or None if it is not one.
    `where` is the database file (None for a database server)."""
    if isinstance(exc, StoreUnavailable):
        return exc
    found = [k for k in (_kind(e) for e in _chain(exc)) if k]
    if not found:
        server = _server_error(exc)
        if server is None:
            return None
        first = URL_PASSWORD.sub(r"\1:***@", (str(server).strip().splitlines() or ["no answer"])[0])[:200]
        return StoreUnavailable("unreachable", f"the database server cannot be used ({first}); check that it runs "
                                               "and KEYTUI_DATABASE_URL")
    reason = min(found, key=[k[0] for k in KINDS].index)  # the most telling cause wins
    return describe(reason, where)


def describe(reason: str, where: Path | None) -> StoreUnavailable:
    db = str(where) if where else "the database"
    home = str(where.parent) if where else "the database"
    if reason == "io" and where is not None and _no_space(where.parent):
        reason = "full"
    if reason in ("cantopen", "denied", "io") and where is not None and _read_only(where):
        reason = "read-only"
    messages = {
        "full": f"the disk is full: free space on the file system holding {home} and try again (nothing was changed)",
        "read-only": f"{home} is read-only: keytui can read it (keys list, show, audit verify, alerts, --read-only) "
                     "but not change it",
        "locked": f"the database is locked by another process{_holders(where)}; try again",
        "damaged": f"{db} is not a keytui database or is damaged: restore it from a backup",
        "denied": f"permission denied on {db}: run keytui as the user who owns {home}",
        "io": f"a disk I/O error on {db}: check the disk and its file system, then try again",
        "cantopen": f"cannot open {db}: check that {home} exists and can be read and written",
    }
    return StoreUnavailable("unavailable" if reason in ("io", "cantopen", "denied") else reason, messages[reason])


def _no_space(folder: Path) -> bool:
    try:
        st = os.statvfs(folder)
    except OSError:
        return False
    return st.f_bavail * st.f_frsize < 64 * 1024


def _read_only(db: Path) -> bool:
    """A database that cannot be written here: its folder or file on a read-only file system,
    or not writable by this user."""
    try:
        if os.statvfs(db.parent).f_flag & os.ST_RDONLY:
            return True
    except OSError:
        return False
    return not os.access(db.parent, os.W_OK) or (db.exists() and not os.access(db, os.W_OK))


def _holders(where: Path | None) -> str:
    pids = lock_holders(where) if where else []
    if not pids:
        return ""
    return f" (pid {', '.join(map(str, pids))})"


def lock_holders(db_path: Path) -> list[int]:
    """Processes holding a write lock on the database or its WAL index, from /proc/locks (Linux;
    SQLite takes POSIX record locks), other than this one; empty where that cannot be read."""
    ids = set()
    for path in (db_path, Path(f"{db_path}-shm"), Path(f"{db_path}-wal")):
        try:
            st = path.stat()
        except OSError:
            continue
        ids.add(f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}")
    try:
        lines = Path("/proc/locks").read_text().splitlines()
    except OSError:
        return []
    pids = set()
    for line in lines:
        parts = line.split()
        if "->" in parts:  # a process waiting for the lock, not holding it
            continue
        if len(parts) >= 6 and parts[3] == "WRITE" and parts[5] in ids and parts[4].isdigit():
            pids.add(int(parts[4]))
    pids.discard(os.getpid())
    return sorted(pids)
