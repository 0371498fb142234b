"""Slow and idle clients cannot take the gateway down: with a 256-file limit, 300 idle
connections, connections trickling their request head and connections trickling their body
leave verification and /healthz answering within a second, and every slow one is closed."""

from __future__ import annotations

import resource
import socket
import threading
import time

import httpx

from tests.gateway.server import seed, start_server

REQUEST_TIMEOUT_S = 2


def file_limit_256() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))


def connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.setblocking(True)
    return sock


def closed_by_server(sock: socket.socket, wait: float) -> bool:
    sock.settimeout(wait)
    try:
        while True:
            data = sock.recv(4096)
            if not data:
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False


def trickle(socks: list[socket.socket], stop: threading.Event) -> None:
    """One byte every 0.2 s on each socket until the server hangs up."""
    while not stop.is_set():
        for sock in list(socks):
            try:
                sock.send(b"x")
            except OSError:
                socks.remove(sock)
        stop.wait(0.2)


def test_idle_and_trickling_connections_cannot_stop_verification(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    tokens = seed(home)
    server = start_server(home, "--request-timeout", str(REQUEST_TIMEOUT_S), preexec_fn=file_limit_256)
    stop = threading.Event()
    try:
        idle = []
        for _ in range(12):  # in steps the server accepts as they come: 300 open at once, over its cap
            idle += [connect(server.port) for _ in range(25)]
            time.sleep(0.05)
        heads = [connect(server.port) for _ in range(30)]
        for sock in heads:
            sock.sendall(b"POST /v1/keys/verify HTTP/1.1\r\nHost: keytui\r\nX-Slow: ")
        bodies = [connect(server.port) for _ in range(10)]
        for sock in bodies:
            sock.sendall(b"POST /v1/keys/verify HTTP/1.1\r\nHost: keytui\r\nContent-Type: application/json\r\n"
                         b"Content-Length: 4000\r\n\r\n{")
        trickling = heads + bodies
        threading.Thread(target=trickle, args=(list(trickling), stop), daemon=True).start()
        time.sleep(0.5)

        started = time.monotonic()
        verified = httpx.post(f"{server.url}/v1/keys/verify", timeout=5,
                              json={"token": tokens["sandbox"], "environment": "sandbox"})
        health = httpx.get(f"{server.url}/healthz", timeout=5)
        assert time.monotonic() - started < 2  # two requests, each within a second
        assert (verified.status_code, verified.json()["code"], health.status_code) == (200, "VALID", 200)

        slow = idle + trickling
        deadline = time.monotonic() + REQUEST_TIMEOUT_S + 3
        still_open = [s for s in slow if not closed_by_server(s, max(0.01, deadline - time.monotonic()))]
        assert still_open == [], f"{len(still_open)} of {len(slow)} slow connections still open"
        metrics = httpx.get(f"{server.url}/metrics", timeout=5).text
        closed = {line.split('"')[1]: int(line.rsplit(" ", 1)[1]) for line in metrics.splitlines()
                  if line.startswith("keytui_gateway_connections_closed_total{")}
        assert closed.get("evicted", 0) > 0 and closed.get("slow_head", 0) > 0 and closed.get("slow_body", 0) >= 10
        again = httpx.post(f"{server.url}/v1/keys/verify", timeout=5,
                           json={"token": tokens["sandbox"], "environment": "sandbox"})
        assert again.status_code == 200
    finally:
        stop.set()
        server.stop()
    assert "Traceback" not in server.logs()
