"""The console and store faults: `keytui --read-only` on a home nobody may write opens, shows every
page and leaves the file as it was; a change refused by a locked database is one notification
in the store's words, and the console carries on."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
from contextlib import closing

import pytest

pytestmark = pytest.mark.sqlite_only


async def test_the_read_only_console_reads_a_read_only_home(demo_template, small_disk, tui_clock, make_app):
    from keytui.service import Vault

    if small_disk is None:
        pytest.skip("needs a file system it can make read-only (a tmpfs mounted as root, as in CI)")
    home = small_disk.path / "home"
    shutil.copytree(demo_template, home)
    with closing(sqlite3.connect(home / "keytui.db")) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    for name in ("keytui.db-wal", "keytui.db-shm"):
        (home / name).unlink(missing_ok=True)
    before = hashlib.sha256((home / "keytui.db").read_bytes()).hexdigest()
    small_disk.read_only()
    vault = Vault.open(home, operator="reviewer", clock=tui_clock, read_only=True)
    try:
        app = make_app(vault)
        async with app.run_test(size=(120, 40)) as pilot:
            for page in "1234567":
                await pilot.press(page)
                await pilot.pause()
            assert "READ-ONLY" in app.sub_title
            assert app.notes == [], app.notes
        assert len(vault.list_keys()) == 24
    finally:
        vault.close()
    assert hashlib.sha256((home / "keytui.db").read_bytes()).hexdigest() == before


async def test_a_change_refused_by_a_locked_database_is_one_notification(demo_template, tmp_path, tui_clock, make_app,
                                                                         lock_holder, monkeypatch):
    from keytui.service import Vault

    home = tmp_path / "demo"
    shutil.copytree(demo_template, home)
    monkeypatch.setenv("KEYTUI_BUSY_TIMEOUT", "0.2")
    vault = Vault.open(home, operator="alice", clock=tui_clock, mfa_window_seconds=300)
    key = next(k for k in vault.list_keys() if k.status.value == "active")
    try:
        app = make_app(vault)
        async with app.run_test(size=(120, 40)) as pilot:
            with lock_holder(home / "keytui.db") as pid:
                app.perform("Revoke Key", lambda totp: vault.revoke(key.key_id))
                await pilot.pause()
            assert app.notes == [f"the database is locked by another process (pid {pid}); try again"]
            assert app.is_running
        assert vault.get(key.key_id).status.value == "active"
    finally:
        vault.close()
