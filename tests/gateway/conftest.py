"""Gateway tests run the real `keytui serve` in a subprocess on a free loopback port and talk
HTTP to it. Keys are seeded through the service before the server starts."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest

from keytui.clock import FixedClock

STARTUP_TIMEOUT_S = 20


class Token(str):
    """A token whose repr hides it, so a failing assertion never prints one."""

    def __repr__(self) -> str:
        return "<token>"


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
        with sqlite3.connect(self.home / "keytui.db") as con:
            return con.execute(f"SELECT code, ip, module, key_id FROM activity_event WHERE {where} ORDER BY id",
                               params).fetchall()

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.proc.wait(timeout)


def start_server(home: Path, *args: str, launcher: tuple[str, ...] = ("-m", "keytui"), **popen) -> Server:
    """`keytui serve` on a free port (`launcher`: how Python starts keytui; `popen`: more
    subprocess options, such as a lower file limit)."""
    port = free_port()
    log_path = home.parent / f"serve-{port}.log"
    env = dict(os.environ, KEYTUI_HOME=str(home))
    for name in ("KEYTUI_MASTER_KEY", "KEYTUI_NOW", "KEYTUI_DATABASE_URL"):
        env.pop(name, None)
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


@pytest.fixture
def fresh_server(tmp_path):
    """A server of its own, for tests that kill or stop it."""
    servers = []

    def start(*args: str) -> Server:
        server = start_seeded(tmp_path, *args)
        servers.append(server)
        return server

    yield start
    for server in servers:
        if server.proc.poll() is None:
            server.proc.kill()
            server.proc.wait()
        leaked = any(token in server.logs() for token in server.tokens.values())
        assert not leaked, "a token appeared in the server's output"
