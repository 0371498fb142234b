"""The gateway on a bad day, against the real server: a database locked by another process, a
full disk, a queue that cannot drain. Callers get 503 with the words the CLI uses for the same
fault, the log says the real cause once, the activity log records what each caller was
answered, and the queue of waiting requests stays bounded."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import time
from contextlib import closing

import httpx
import pytest

from tests.gateway.server import seed, start_server
from tests.gateway.test_lifecycle import fire

pytestmark = pytest.mark.sqlite_only


def events_with_status(server) -> list[tuple]:
    with closing(sqlite3.connect(server.home / "keytui.db")) as con:
        return con.execute("SELECT code, status, key_id FROM activity_event ORDER BY id").fetchall()


def wait_until(check, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


async def test_locked_answers_503_naming_the_holder_and_records_what_callers_got(fresh_server, lock_holder):
    server = fresh_server()
    with lock_holder(server.home / "keytui.db") as pid:
        answers = await asyncio.gather(*(_verify(server) for _ in range(3)))
        health = httpx.get(f"{server.url}/healthz", timeout=10)
    assert [status for status, _ in answers] == [503] * 3
    for _, error in answers:
        assert error == f"the activity log could not be written in time: the database is locked by another " \
                        f"process (pid {pid}); try again"
    assert health.status_code == 503 and f"pid {pid}" in health.json()["error"]
    wait_until(lambda: len(events_with_status(server)) == 3)
    assert [(code, status) for code, status, _ in events_with_status(server)] == [("UNAVAILABLE", "failed")] * 3
    assert all(key_id for _, _, key_id in events_with_status(server))  # which key was presented is kept
    wait_until(lambda: httpx.get(f"{server.url}/healthz", timeout=10).status_code == 200)


async def _verify(server) -> tuple[int, str | None]:
    body = {"token": server.tokens["sandbox"], "environment": "sandbox"}
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        response = await client.post("/v1/keys/verify", json=body)
    return response.status_code, response.json().get("error")


async def test_the_waiting_queue_is_bounded_and_says_so_in_metrics(fresh_server):
    server = fresh_server("--max-pending", "5")
    with closing(sqlite3.connect(server.home / "keytui.db", isolation_level=None)) as holder:
        holder.execute("BEGIN IMMEDIATE")
        started = time.monotonic()
        answered = await fire(server, 20)
        holder.execute("ROLLBACK")
    assert sorted(answered) == [503] * 20
    assert time.monotonic() - started < 15
    metrics = httpx.get(f"{server.url}/metrics", timeout=10).text
    assert "keytui_gateway_pending_limit 5" in metrics
    assert "keytui_gateway_queue_full_total 15" in metrics
    wait_until(lambda: len(server.events()) == 5)
    assert [code for code, *_ in server.events()] == ["UNAVAILABLE"] * 5


# ---------------------------------------------------------------------------------- full disk
INJECT_FULL = ("-c", "import sys\nfrom keytui.store import db\n"
                     "db.SQLITE_PRAGMAS = dict(db.SQLITE_PRAGMAS, max_page_count=int(sys.argv.pop(1)))\n"
                     "from keytui.cli import main\nsys.exit(main(sys.argv[1:]))\n")


async def test_a_full_disk_is_503_in_the_stores_words_logged_once_and_loses_nothing(small_disk, tmp_path):
    disk = small_disk
    home = (disk.path if disk else tmp_path) / "home"
    home.mkdir(mode=0o700)
    tokens = seed(home)
    with closing(sqlite3.connect(home / "keytui.db")) as con:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        pages = con.execute("PRAGMA page_count").fetchone()[0]
    launcher = ("-m", "keytui") if disk else (*INJECT_FULL, str(pages))
    server = start_server(home, launcher=launcher)
    server.tokens = tokens
    try:
        if disk:
            with closing(sqlite3.connect(home / "keytui.db")) as con:
                con.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
            filler = disk.fill()
        answers = []
        for _ in range(40):  # until a write needs space it cannot get
            answers = await asyncio.gather(*(_verify(server) for _ in range(3)))
            if answers[0][0] != 200:
                break
        assert [status for status, _ in answers] == [503] * 3
        assert all(error.endswith("the disk is full: free space on the file system holding "
                                  f"{home} and try again (nothing was changed)") for _, error in answers), answers
        health = httpx.get(f"{server.url}/healthz", timeout=10)
        assert health.status_code == 503 and "the disk is full" in health.json()["error"]
        if not disk:
            return
        recorded = len(server.events())
        filler.unlink()
        wait_until(lambda: len(server.events()) == recorded + 3)
        assert [code for code, *_ in server.events()[-3:]] == ["UNAVAILABLE"] * 3
    finally:
        server.stop(signal.SIGTERM if disk else signal.SIGKILL)  # injected, the disk never frees up
    logs = server.logs()
    assert logs.count("the disk is full") == 1, logs[-2000:]
    assert "cannot rollback" not in logs and "Traceback" not in logs
