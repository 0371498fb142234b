"""A row lock held by another PostgreSQL session never freezes the gateway: its writes give up
after a short lock_timeout and are retried, so /healthz and /metrics keep answering at once,
/healthz says the database is locked (instead of "ok" after 13 s), callers of a stuck write get
503 in the store's words, and everything is recorded once the lock ends."""

from __future__ import annotations

import threading
import time

import httpx
import psycopg2

from tests.gateway.server import seed, start_server
from tests.support import wait_until

LOCKED = "the database is locked by another process; try again"


def timed_get(url: str) -> tuple[float, httpx.Response]:
    started = time.perf_counter()
    response = httpx.get(url, timeout=30)
    return time.perf_counter() - started, response


def test_a_held_row_lock_leaves_health_and_metrics_answering(vault, home, pg_url):
    tokens = seed(home)
    server = start_server(home)
    holder = psycopg2.connect(pg_url)
    answers: list[httpx.Response] = []
    try:
        with holder.cursor() as cur:  # as `psql` would: the key's row locked, the transaction left open
            cur.execute("UPDATE api_key SET name = name WHERE name = 'Agents Execution Key'")
        caller = threading.Thread(target=lambda: answers.append(httpx.post(
            f"{server.url}/v1/keys/verify", json={"token": tokens["sandbox"], "environment": "sandbox"}, timeout=30)))
        caller.start()
        slowest = 0.0
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            for path in ("/healthz", "/metrics"):
                took, _ = timed_get(server.url + path)
                slowest = max(slowest, took)
            time.sleep(0.1)
        took, health = timed_get(server.url + "/healthz")
        assert slowest < 0.5 and took < 0.5
        assert health.status_code == 503 and LOCKED in health.json()["error"]
        caller.join(30)
        [answer] = answers
        assert answer.status_code == 503 and answer.json()["error"].endswith(LOCKED)
    finally:
        holder.rollback()
        holder.close()
    wait_until(lambda: timed_get(server.url + "/healthz")[1].status_code == 200, 15, "healthz to recover")
    again = httpx.post(f"{server.url}/v1/keys/verify", json={"token": tokens["sandbox"], "environment": "sandbox"})
    assert again.status_code == 200 and again.json()["valid"]
    wait_until(lambda: len(server.events()) == 2, 15, "both answers to be recorded")
    assert [code for code, *_ in server.events()] == ["UNAVAILABLE", "VALID"]
    assert server.stop() == 0
