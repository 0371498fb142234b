"""An operator's bad day, through the real CLI: a database locked by another process, a damaged,
truncated or empty file, a lost key file or database, a read-only home, a full disk. Each gets
one line naming the cause and what to do, exit code 3 (never 1, which means "denied" or
"tampered"), no traceback, and no data lost or invented.

The read-only home and the full disk are real file systems: a small tmpfs mounted for the test
when it runs as root (CI does); otherwise a read-only folder (chmod) and a write error injected
into keytui's own connection (SQLite's page limit gives the same "database or disk is full" a
disk does)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Iterator

import pytest

from keytui.domain import Environment
from keytui.tokens import generate
from tests.pg import database_rows

CREATE = ("keys", "create", "--scope", "agents", "--permission", "read", "--environment", "dev", "--no-expiry",
          "--name")
READS = (("keys", "list"), ("audit", "verify"), ("alerts",), ("policy", "show"))


def one_line(result, code: int, *words: str) -> str:
    """The command failed with `code` and a single `keytui: ...` line holding `words`."""
    assert result.code == code, result
    assert "Traceback" not in result.err + result.out, result
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("keytui: "), result
    for word in words:
        assert word in lines[0], (word, lines[0])
    return lines[0]


@pytest.fixture
def seeded(kt, home):
    """Two keys made through the CLI, everything checkpointed into keytui.db; returns their ids."""
    ids = [kt(*CREATE, f"Key {n}", "--json").json()["key"]["key_id"] for n in range(2)]
    checkpoint(home)
    return ids


def checkpoint(home) -> None:
    if os.environ.get("KEYTUI_DATABASE_URL"):  # a database server: no file to fold the log into
        return
    with closing(sqlite3.connect(home / "keytui.db")) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()


def listed(kt) -> list[str]:
    result = kt("keys", "list", "--json")
    assert result.code == 0, result
    return sorted(k["key_id"] for k in result.json())


# ---------------------------------------------------------------------------------- locked
@contextmanager
def _server_lock_held(url: str) -> Iterator[int]:
    """psql's way of holding the writers off, in another process: every change writes an audit
    entry, and a plain read takes no lock this one blocks. Yields its pid."""
    script = ("import psycopg2, sys\nc = psycopg2.connect(sys.argv[1])\n"
              "c.cursor().execute('LOCK TABLE audit_entry IN EXCLUSIVE MODE')\nprint('held', flush=True)\n"
              "sys.stdin.read()\n")
    proc = subprocess.Popen([sys.executable, "-c", script, url], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True)
    try:
        assert proc.stdout.readline() == "held\n"
        yield proc.pid
    finally:
        proc.stdin.close()
        proc.wait(10)


@pytest.fixture
def locked(home, seeded, lock_holder, database_url):
    with (_server_lock_held(database_url) if database_url else lock_holder(home / "keytui.db")) as pid:
        yield pid


def test_a_locked_database_is_one_line_naming_the_holder_and_readers_do_not_wait(kt, seeded, locked, database_url):
    started = time.monotonic()
    refused = kt(*CREATE, "Blocked", env={"KEYTUI_BUSY_TIMEOUT": "1"})
    line = one_line(refused, 3, "the database is locked by another process", "try again")
    if not database_url:  # a server's lock holder is a session, possibly on another host: no pid of ours
        assert f"pid {locked}" in line
    assert time.monotonic() - started < 15
    started = time.monotonic()
    assert listed(kt) == sorted(seeded)
    shown = kt("keys", "show", seeded[0])
    verified = kt("audit", "verify")
    assert (shown.code, verified.code) == (0, 0), (shown, verified)
    assert "intact: 2 entries" in verified.out  # a lock is never reported as tampering
    assert kt("alerts").code == 0
    assert time.monotonic() - started < 20  # four commands, none waiting for the lock


def test_the_busy_timeout_setting_is_checked(kt, seeded):
    one_line(kt("keys", "list", env={"KEYTUI_BUSY_TIMEOUT": "soon"}), 2, "KEYTUI_BUSY_TIMEOUT")


# ---------------------------------------------------------------------------------- damaged
def _garble_header(path) -> None:
    with open(path, "r+b") as fh:
        fh.write(b"this is not sqlite")


def _garble_pages(path) -> None:
    """Keep the header page; overwrite every other page (the tables' contents)."""
    size = path.stat().st_size
    with open(path, "r+b") as fh:
        fh.seek(4096)
        fh.write(bytes([0xA5]) * (size - 4096))


def _truncate(path) -> None:
    os.truncate(path, path.stat().st_size // 3)


@pytest.mark.sqlite_only
@pytest.mark.parametrize("damage", [_garble_header, _garble_pages, _truncate], ids=["header", "pages", "truncated"])
def test_a_damaged_database_is_one_line_for_every_command(kt, home, seeded, damage):
    damage(home / "keytui.db")
    before = (home / "keytui.db").read_bytes()
    unknown = generate(Environment.DEVELOPMENT)
    for args in (*READS, ("keys", "show", seeded[0]), CREATE + ("New",), ("verify", unknown, "--environment", "dev")):
        one_line(kt(*args), 3, "is not a keytui database or is damaged", "restore it from a backup")
    assert (home / "keytui.db").read_bytes() == before  # nothing written over the evidence


# ---------------------------------------------------------------------------------- lost files
@pytest.mark.sqlite_only
def test_an_empty_database_beside_a_used_key_file_is_an_error_until_init_fresh(kt, cli, home, seeded):
    (home / "keytui.db").write_bytes(b"")
    for args in (*READS, CREATE + ("New",)):
        one_line(kt(*args), 3, "keytui.db is empty (0 bytes)", "restore it from a backup", "keytui init --fresh")
    assert (home / "keytui.db").stat().st_size == 0
    one_line(kt("init"), 3, "keytui init --fresh")
    key_before = (home / "master.key").read_bytes()
    started = kt("init", "--fresh")
    assert started.code == 0 and "Created an empty keytui database" in started.out, started
    assert (home / "master.key").read_bytes() == key_before
    assert [p.name.startswith("keytui.db.damaged-") for p in home.iterdir()].count(True) == 1
    verified = cli("audit", "verify")  # a new database: no longer marked as a test home, so no KEYTUI_NOW
    assert verified.code == 0 and "intact: 0 entries" in verified.out


@pytest.mark.sqlite_only
def test_a_missing_database_beside_a_used_key_file_is_an_error_until_init(kt, cli, home, seeded):
    for name in ("keytui.db", "keytui.db-wal", "keytui.db-shm"):
        (home / name).unlink(missing_ok=True)
    for args in (*READS, CREATE + ("New",)):
        one_line(kt(*args), 3, "keytui.db is missing", "master.key shows this home has been used", "keytui init")
    assert not (home / "keytui.db").exists()
    assert kt("init").code == 0
    assert listed(cli) == []  # a new database: no longer marked as a test home, so no KEYTUI_NOW
    assert "nothing to do" in cli("init").out


def test_a_deleted_key_file_is_never_recreated_and_nothing_is_lost(kt, home, seeded):
    key = (home / "master.key").read_bytes()
    (home / "master.key").unlink()
    for args in (*READS, CREATE + ("New",), ("keys", "copy", seeded[0])):
        one_line(kt(*args), 3, "master.key is missing", "restore master.key from a backup")
    assert not (home / "master.key").exists()
    (home / "master.key").write_bytes(key)
    os.chmod(home / "master.key", 0o600)
    assert listed(kt) == sorted(seeded)
    assert "intact: 2 entries" in kt("audit", "verify").out


def test_a_newer_schema_is_refused_and_left_alone(kt, home, seeded):
    database_rows(home, "UPDATE meta SET value = '99' WHERE name = 'schema_version'")
    for args in (("keys", "list"), CREATE + ("New",)):
        one_line(kt(*args), 3, "written by a newer keytui", "upgrade keytui")
    assert database_rows(home, "SELECT value FROM meta WHERE name = 'schema_version'") == [("99",)]


# ---------------------------------------------------------------------------------- read-only opens
@pytest.mark.sqlite_only
def test_read_only_commands_open_the_file_read_only_and_write_nothing(kt, home, seeded):
    checkpoint(home)
    for name in ("keytui.db-wal", "keytui.db-shm"):
        (home / name).unlink(missing_ok=True)
    before = (home / "keytui.db").read_bytes()
    for args in (*READS, ("keys", "show", seeded[1]), ("--read-only", "keys", "list")):
        assert kt(*args).code == 0, args
    assert (home / "keytui.db").read_bytes() == before


def test_a_deeply_nested_org_policy_is_bad_input_not_a_crash(kt, seeded):
    nested = "name = 'x'\n[defaults]\nforbidden_permissions = " + "[" * 5000 + "]" * 5000 + "\n"
    one_line(kt("policy", "apply", "-", input=nested), 2, "org policy", "nested too deeply")


def test_an_internal_error_is_one_line_with_its_own_code(home, tmp_path):
    """A bug inside keytui still ends with one line (its place, not its message) and exit code 4."""
    script = ("import sys\nfrom keytui.service import registry\n"
              "def broken(*a, **k):\n    raise ValueError('kt_dev_secret-looking text')\n"
              "registry.list_keys = broken\nfrom keytui.cli import main\nsys.exit(main(['keys', 'list']))\n")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, KEYTUI_HOME=str(home)))
    assert proc.returncode == 4, proc.stderr
    assert proc.stderr.count("\n") == 1 and "internal error (ValueError" in proc.stderr
    assert "secret-looking" not in proc.stderr and "Traceback" not in proc.stderr


# ---------------------------------------------------------------------------------- file systems
class Result:
    def __init__(self, proc: subprocess.CompletedProcess):
        self.code, self.out, self.err = proc.returncode, proc.stdout, proc.stderr

    def json(self):
        import json

        return json.loads(self.out)

    def __repr__(self) -> str:
        return f"Result(code={self.code}, err={self.err.strip()[:200]!r})"


def run(home: Path, *args: str, env: dict | None = None, inject_full: bool = False):
    """`keytui ARGS` on `home`; with inject_full, keytui's connection may not grow the database."""
    full_env = dict(os.environ, KEYTUI_HOME=str(home), USER="alice", **(env or {}))
    full_env.pop("KEYTUI_MASTER_KEY", None)
    code = "import sys\nfrom keytui.cli import main\n"
    if inject_full:
        code = ("import os, sys\nfrom keytui.store import db\n"
                "db.SQLITE_PRAGMAS = dict(db.SQLITE_PRAGMAS, max_page_count=int(os.environ['MAX_PAGES']))\n"
                "from keytui.cli import main\n")
        full_env["MAX_PAGES"] = str(os.path.getsize(home / "keytui.db") // 4096)
    code += "sys.exit(main(sys.argv[1:]))\n"
    proc = subprocess.run([sys.executable, "-c", code, "--operator", "alice", *args], capture_output=True, text=True,
                          env=full_env, timeout=60)
    return Result(proc)


def _kt(home):
    return lambda *args, **kw: run(home, *args, **kw)


# ---------------------------------------------------------------------------------- read-only home
@pytest.mark.sqlite_only
def test_a_read_only_home_is_read_and_never_written(small_disk, tmp_path):
    home = (small_disk.path if small_disk else tmp_path / "plain") / "home"
    kt = _kt(home)
    ids = [kt(*CREATE, f"Key {n}", "--json").json()["key"]["key_id"] for n in range(2)]
    checkpoint(home)
    for name in ("keytui.db-wal", "keytui.db-shm"):
        (home / name).unlink(missing_ok=True)
    if small_disk is not None:
        small_disk.read_only()
    elif os.geteuid() == 0:
        pytest.skip("cannot mount a read-only file system here, and root ignores a read-only folder's mode")
    else:
        os.chmod(home, 0o500)
    try:
        assert listed(kt) == sorted(ids)
        for args in (*READS, ("keys", "show", ids[0]), ("--read-only", "keys", "list")):
            assert kt(*args).code == 0, args
        assert "intact: 2 entries" in kt("audit", "verify").out
        for args in (CREATE + ("New",), ("keys", "revoke", ids[0]), ("watch", "--once")):
            one_line(kt(*args), 3, "is read-only", "keytui can read it")
        assert listed(kt) == sorted(ids)
    finally:
        if small_disk is None:
            os.chmod(home, 0o700)


# ---------------------------------------------------------------------------------- full disk
@pytest.mark.sqlite_only
def test_a_full_disk_is_one_line_and_loses_nothing(small_disk, tmp_path):
    home = (small_disk.path if small_disk else tmp_path) / "home"
    kt = _kt(home)
    ids = [kt(*CREATE, f"Key {n}", "--json").json()["key"]["key_id"] for n in range(2)]
    checkpoint(home)
    filler = small_disk.fill() if small_disk is not None else None
    many = [("--name", f"Bulk {n}") for n in range(40)]  # enough rows to need new pages
    for attempt in many:
        result = kt(*CREATE[:-1], *attempt, inject_full=filler is None)
        if result.code != 0:
            break
    else:
        pytest.fail("the file system never filled up")
    one_line(result, 3, "the disk is full", "free space", "nothing was changed")
    made = listed(kt)
    assert set(ids) <= set(made)
    assert "intact" in kt("audit", "verify").out
    if filler is not None:
        filler.unlink()
    again = kt(*CREATE, "After the disk was freed", "--json")
    assert again.code == 0, again
    assert len(listed(kt)) == len(made) + 1
    verified = kt("audit", "verify")
    assert verified.code == 0 and f"intact: {len(made) + 1} entries" in verified.out, verified
