"""The real `keytui serve` in a subprocess on a free loopback port, with keys seeded through the
service before it starts. Tests talk HTTP to it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sqlite3
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx

from keytui.clock import FixedClock
from tests.pg import database_rows, raw_connection
from tests.support import Token

STARTUP_TIMEOUT_S = 20
UNKNOWN_TOKEN = Token("kt_sbx_" + "A" * 33 + "_ZZZZZZ")  # well formed, never issued


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    home: Path
    port: int
    proc: subprocess.Popen
    log_path: Path
    tokens: dict = field(default_factory=dict, repr=False)  # never in an assertion message

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace")

    def events(self, where: str = "1=1", params: tuple = ()) -> list[tuple]:
        """Activity rows as (code, ip, module, key_id), oldest first."""
        return database_rows(self.home, f"SELECT code, ip, module, key_id FROM activity_event WHERE {where} "
                                        "ORDER BY id", params)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.proc.wait(timeout)


@contextmanager
def activity_log_locked(home: Path):
    """Another process holding the lock the gateway's commits need: SQLite's write lock, or on
    PostgreSQL an EXCLUSIVE lock on activity_event (as with SQLite's, writers wait, readers do not)."""
    with raw_connection(home) as db:
        if isinstance(db, sqlite3.Connection):
            db.execute("BEGIN IMMEDIATE")
        else:
            db.execute("LOCK TABLE activity_event IN EXCLUSIVE MODE")
        yield


def start_server(home: Path, *args: str, launcher: tuple[str, ...] = ("-m", "keytui"), **popen) -> Server:
    """`keytui serve` on a free port (`launcher`: how Python starts keytui; `popen`: more
    subprocess options, such as a lower file limit)."""
    port = free_port()
    log_path = home.parent / f"serve-{port}.log"
    env = {name: value for name, value in os.environ.items()
           if not name.startswith("KEYTUI_") or name == "KEYTUI_DATABASE_URL"}  # the test's own database
    env["KEYTUI_HOME"] = str(home)
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([sys.executable, *launcher, "serve", "--port", str(port), *args],
                                stdout=log, stderr=subprocess.STDOUT, env=env, **popen)
    server = Server(home, port, proc, log_path)
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"keytui serve exited with {proc.returncode}:\n{server.logs()[-2000:]}")
        try:
            if httpx.get(f"{server.url}/healthz", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("keytui serve did not become healthy in time")


def seed(home: Path) -> dict[str, str]:
    """One key per verification outcome; returns name -> token."""
    from keytui.service import Vault

    now = datetime.now(timezone.utc)
    out = {}
    vault = Vault.open(home, operator="alice", clock=FixedClock(now))
    try:
        out["sandbox"] = vault.create("Agents Execution Key", "agents", ["read", "write"], "sandbox",
                                      expires_in_days=30).token
        out["allowlisted"] = vault.create("Sandbox Runner Key", "sandbox", ["read"], "sandbox", expires_in_days=30,
                                          ip_allowlist=["203.0.113.0/24"]).token
        revoked = vault.create("GitHub Sync Key", "integrations", ["read"], "development", expires_in_days=30)
        vault.revoke(revoked.key.key_id, reason="leaked in a log")
        out["revoked"] = revoked.token
    finally:
        vault.close()
    past = Vault.open(home, operator="alice", clock=FixedClock(now - timedelta(days=40)))
    try:
        out["expired"] = past.create("Demo Build Key", "demo-builds", ["read"], "development",
                                     expires_in_days=30).token
    finally:
        past.close()
    return {name: Token(token) for name, token in out.items()}


def start_seeded(tmp_path: Path, *args: str) -> Server:
    home = tmp_path / "home"
    home.mkdir()
    tokens = seed(home)
    server = start_server(home, *args)
    server.tokens = tokens
    return server


def verify(http: httpx.Client, token, environment="sandbox", ip="192.0.2.10", headers=None, **fields) -> httpx.Response:
    """POST /v1/keys/verify as the client at `ip` (the server must trust 127.0.0.1 as a proxy)."""
    body = {"token": token, "environment": environment, **fields}
    return http.post("/v1/keys/verify", json=body, headers={"X-Forwarded-For": ip, **(headers or {})})
