"""A watch pass over thousands of due keys, with the gateway under steady load alongside: no
503, /healthz stays 200, and the pass's transactions stay short (bench/watch_bench.py measures
the same at 20,000 keys)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from keytui.clock import FixedClock
from keytui.service import NewKey, Vault
from tests.gateway.server import seed, start_server

pytestmark = pytest.mark.sqlite_only
DUE, EXPIRED, FRESH = 500, 200, 2000


def build(home) -> None:
    now = datetime.now(timezone.utc)
    for days_ago, count, label, days in ((40, EXPIRED, "Expired", 30), (25, DUE, "Due", 30), (0, FRESH, "Fresh", 90)):
        vault = Vault.open(home, operator="alice", clock=FixedClock(now - timedelta(days=days_ago)))
        vault.create_many([NewKey(f"{label} {n}", "workflows", ["read"], "staging", expires_in_days=days)
                           for n in range(count)])
        vault.close()


def load(server, token: str, stop: threading.Event, statuses: list[int], health: list[int],
         waits: list[float]) -> None:
    """~100 verifications a second on one keep-alive connection, /healthz every 20th."""
    body = {"token": token, "environment": "sandbox"}
    with httpx.Client(base_url=server.url, timeout=10) as client:
        n = 0
        while not stop.is_set():
            started = time.perf_counter()
            statuses.append(client.post("/v1/keys/verify", json=body).status_code)
            waits.append(time.perf_counter() - started)
            n += 1
            if n % 20 == 0:
                health.append(client.get("/healthz").status_code)
            time.sleep(0.01)


def test_a_large_watch_pass_leaves_the_gateway_answering(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    tokens = seed(home)
    build(home)
    server = start_server(home)
    stop, statuses, health, waits = threading.Event(), [], [], []
    loader = threading.Thread(target=load, args=(server, tokens["sandbox"], stop, statuses, health, waits),
                              daemon=True)
    try:
        loader.start()
        time.sleep(0.5)
        env = dict(os.environ, KEYTUI_HOME=str(home))
        env.pop("KEYTUI_MASTER_KEY", None)
        watch = subprocess.run([sys.executable, "-m", "keytui", "watch", "--once", "--json"], capture_output=True,
                               text=True, env=env, timeout=300)
        time.sleep(0.5)
    finally:
        stop.set()
        loader.join(30)
        server.stop()
    assert watch.returncode == 0, watch.stderr
    report = json.loads(watch.stdout)
    assert (len(report["rotated"]), len(report["expired"])) == (DUE, EXPIRED + 1)  # seed() made one expired key
    assert len(statuses) > 100
    assert set(statuses) == {200}, sorted(set(statuses))
    assert max(waits) < 1.0, sorted(waits)[-5:]  # one long transaction would hold a verification for its length
    assert health and set(health) == {200}
    assert report["longest_transaction_ms"] < 100, (report["longest_transaction_ms"], report["seconds"])
