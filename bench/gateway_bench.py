"""Gateway load test: `keytui serve` answering verifications, beside the same server answering
a trivial endpoint (`GET /v1/ping`: same uvicorn, Starlette, routing, metrics and access-log
path, no database), which is the practical limit of the stack on this machine, and beside
`POST /v1/ping` with the verification's own JSON body (read and parsed, no database), which
separates what the HTTP stack costs for a request of that shape from what verification costs.

The load comes from a second process on loopback: wrk for the max-rate runs when it is
installed, else (and always for the fixed-rate runs, which wrk cannot pace) a small asyncio
HTTP/1.1 client in this file that keeps its connections alive and measures each request from
the moment it is written to the last byte of its answer. Every verification is a real one:
a token lookup, a group commit of its activity event, an answer after the commit; at the end
the events in the database are counted against the answers.

Run:     python bench/gateway_bench.py [--seconds 3] [--rounds 3] [--rate 500] [--workers 1] [--python-client]
Targets: verification throughput >= 50% of the trivial endpoint's; p99 < 10 ms at 500 requests/s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

KEYS = 50
CONNECTIONS = 16
WARMUP_S = 1.0


# ---------------------------------------------------------------------------------- client
def build_requests(host: str, port: int, method: str, path: str, bodies: list[str]) -> list[bytes]:
    head = f"{method} {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
    if not bodies:
        return [(head + "\r\n").encode()]
    return [(head + f"Content-Type: application/json\r\nContent-Length: {len(b)}\r\n\r\n{b}").encode()
            for b in bodies]


async def read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    if length:
        await reader.readexactly(length)
    return status


async def load(host: str, port: int, requests: list[bytes], seconds: float, rate: float | None,
               connections: int) -> dict:
    """Closed loop at max rate, or paced: request i is due at start + i/rate on whichever connection is free."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.05
    end = start + seconds
    slot = iter(range(10**9))

    async def worker(offset: int) -> None:
        reader, writer = await asyncio.open_connection(host, port)
        i = offset
        while True:
            if rate:
                due = start + next(slot) / rate
                if due >= end:
                    break
                delay = due - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
            elif loop.time() >= end:
                break
            t0 = time.perf_counter()
            writer.write(requests[i % len(requests)])
            status = await read_response(reader)
            latencies.append(time.perf_counter() - t0)
            statuses[status] = statuses.get(status, 0) + 1
            i += connections
        writer.close()

    await asyncio.gather(*(worker(c) for c in range(connections)))
    latencies.sort()
    return {"count": len(latencies), "rps": len(latencies) / seconds, "statuses": statuses,
            "p50_ms": latencies[len(latencies) // 2] * 1000, "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000}


def client_main(argv: list[str]) -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int)
    p.add_argument("--method")
    p.add_argument("--path")
    p.add_argument("--bodies", default="[]")
    p.add_argument("--seconds", type=float)
    p.add_argument("--rate", type=float, default=None)
    p.add_argument("--connections", type=int, default=CONNECTIONS)
    a = p.parse_args(argv)
    requests = build_requests("127.0.0.1", a.port, a.method, a.path, json.loads(a.bodies))
    asyncio.run(load("127.0.0.1", a.port, requests, WARMUP_S, a.rate, a.connections))
    print(json.dumps(asyncio.run(load("127.0.0.1", a.port, requests, a.seconds, a.rate, a.connections))))


# ---------------------------------------------------------------------------------- wrk
WRK_SCRIPT = """
local bodies = {%s}
local i = 0
request = function()
  i = i + 1
  if #bodies == 0 then return wrk.format("%s", "%s") end
  return wrk.format("%s", "%s", {["Content-Type"] = "application/json"}, bodies[(i %% #bodies) + 1])
end
done = function(summary, latency, requests)
  io.write(string.format("JSON {\\"count\\": %%d, \\"rps\\": %%.1f, \\"p50_ms\\": %%.3f, \\"p99_ms\\": %%.3f, \\"errors\\": %%d, \\"non2xx\\": %%d}\\n",
    summary.requests, summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.timeout, summary.errors.status))
end
"""


def run_wrk(port: int, method: str, path: str, bodies: list[str], seconds: float, tmp: Path) -> dict:
    script = tmp / "bench.lua"
    lua_bodies = ", ".join(json.dumps(b) for b in bodies)
    script.write_text(WRK_SCRIPT % (lua_bodies, method, path, method, path))
    url = f"http://127.0.0.1:{port}{path}"
    subprocess.run(["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{WARMUP_S}s", "-s", str(script), url], capture_output=True)
    out = subprocess.run(["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{seconds:g}s", "-s", str(script), url],
                         capture_output=True, text=True, check=True).stdout
    data = json.loads(out.split("JSON ", 1)[1].splitlines()[0])
    data["statuses"] = {200: data["count"] - data["non2xx"]} if not data["non2xx"] else {"non-2xx": data["non2xx"]}
    return data


# ---------------------------------------------------------------------------------- driver
def seed(home: Path) -> list[str]:
    from keytui.service import Vault

    vault = Vault.open(home, operator="bench")
    try:
        return [vault.create(f"Bench Key {i}", "agents", ["read"], "sandbox", expires_in_days=30).token
                for i in range(KEYS)]
    finally:
        vault.close()


def start_server(home: Path, port: int, workers: int) -> subprocess.Popen:
    import httpx

    env = dict(os.environ, KEYTUI_HOME=str(home))
    env.pop("KEYTUI_MASTER_KEY", None)
    proc = subprocess.Popen([sys.executable, "-m", "keytui", "serve", "--port", str(port), "--workers", str(workers),
                             "--fail-limit", "0"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(400):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("keytui serve did not start")


def cpu_seconds(root_pid: int) -> float:
    """User+system CPU of the server and its worker processes so far (Linux /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry.name)] = int(fields[1])
        times[int(entry.name)] = (int(fields[11]) + int(fields[12])) / ticks
    family, total = {root_pid}, 0.0
    for pid in sorted(parents):
        if pid in family or parents[pid] in family:
            family.add(pid)
            total += times[pid]
    return total


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def python_client(port: int, method: str, path: str, bodies: list[str], seconds: float, rate: float | None) -> dict:
    cmd = [sys.executable, __file__, "client", "--port", str(port), "--method", method, "--path", path,
           "--bodies", json.dumps(bodies), "--seconds", str(seconds)]
    if rate:
        cmd += ["--rate", str(rate)]
    return json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)


def measure(server_pid: int, run) -> dict:
    before = cpu_seconds(server_pid)
    result = run()
    result["cpu_us"] = (cpu_seconds(server_pid) - before) / max(result["count"], 1) * 1e6
    return result


def median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=3.0, help="length of each measured run (default 3)")
    p.add_argument("--rounds", type=int, default=3, help="alternating rounds per endpoint; medians are reported (default 3)")
    p.add_argument("--rate", type=float, default=500.0, help="fixed request rate (default 500/s)")
    p.add_argument("--workers", type=int, default=1, help="gateway worker processes (default 1)")
    p.add_argument("--python-client", action="store_true", help="use the asyncio client even if wrk is installed")
    args = p.parse_args()
    use_wrk = shutil.which("wrk") is not None and not args.python_client

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        home = tmp / "home"
        home.mkdir()
        tokens = seed(home)
        verify_bodies = [json.dumps({"token": t, "environment": "sandbox", "permission": "read", "module": "bench"})
                         for t in tokens]
        port = free_port()
        server = start_server(home, port, args.workers)
        endpoints = {"GET /v1/ping (trivial)": ("GET", "/v1/ping", []),
                     "POST /v1/ping (body)": ("POST", "/v1/ping", verify_bodies),
                     "POST /v1/keys/verify": ("POST", "/v1/keys/verify", verify_bodies)}
        runs: dict[tuple[str, str], list[dict]] = {}
        try:
            for _ in range(args.rounds):  # alternate, so a noisy moment on the machine hits both endpoints
                for name, (method, path, bodies) in endpoints.items():
                    if use_wrk:
                        run = lambda: run_wrk(port, method, path, bodies, args.seconds, tmp)  # noqa: E731
                    else:
                        run = lambda: python_client(port, method, path, bodies, args.seconds, None)  # noqa: E731
                    runs.setdefault((name, "max"), []).append(measure(server.pid, run))
                    runs.setdefault((name, "fixed"), []).append(measure(
                        server.pid, lambda: python_client(port, method, path, bodies, args.seconds, args.rate)))
        finally:
            server.terminate()
            server.wait(30)
        with sqlite3.connect(home / "keytui.db") as con:
            events = con.execute("SELECT count(*) FROM activity_event").fetchone()[0]

    max_client = "wrk (1 thread)" if use_wrk else "asyncio client"
    print(f"keytui serve, {args.workers} worker(s), {os.cpu_count()} cores, load average "
          f"{os.getloadavg()[0]:.1f}; {CONNECTIONS} keep-alive connections; max rate driven by {max_client}, "
          f"fixed rate paced by the asyncio client; medians of {args.rounds} alternating runs of "
          f"{args.seconds:g} s (each after {WARMUP_S:g} s warm-up)")
    print(f"{'endpoint':<24} {'load':<8} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'server CPU/req':>15}  answers")
    summary = {}
    for (name, mode), results in sorted(runs.items(), key=lambda kv: (kv[0][1] != "fixed", kv[0][0])):
        row = {k: median([r[k] for r in results]) for k in ("rps", "p50_ms", "p99_ms", "cpu_us")}
        summary[(name, mode)] = row
        statuses: dict = {}
        for r in results:
            for code, n in r["statuses"].items():
                statuses[str(code)] = statuses.get(str(code), 0) + n
        load_name = f"{args.rate:g}/s" if mode == "fixed" else "max"
        print(f"{name:<24} {load_name:<8} {row['rps']:>8.0f} {row['p50_ms']:>8.2f} {row['p99_ms']:>8.2f} "
              f"{row['cpu_us']:>12.0f} us  {statuses}")
    ping, ping_body, verify = (summary[(n, "max")] for n in endpoints)
    ratio = verify["rps"] / ping["rps"]
    cpu_ratio = ping["cpu_us"] / verify["cpu_us"]
    p99 = summary[("POST /v1/keys/verify", "fixed")]["p99_ms"]
    print(f"verify / trivial throughput at max rate: {ratio:.0%} (target >= 50%) {'OK' if ratio >= 0.5 else 'MISSED'}; "
          f"by server CPU per request: {cpu_ratio:.0%}")
    print(f"verify / trivial POST with the same JSON body: {verify['rps'] / ping_body['rps']:.0%} of its throughput, "
          f"{ping_body['cpu_us'] / verify['cpu_us']:.0%} by server CPU (the part verification itself costs)")
    print(f"verify p99 at {args.rate:g} req/s: {p99:.2f} ms (target < 10 ms) {'OK' if p99 < 10 else 'MISSED'}")
    answered = sum(r["count"] for mode in ("max", "fixed") for r in runs[("POST /v1/keys/verify", mode)])
    print(f"activity events recorded: {events} >= measured verify answers {answered} (the rest are warm-up): "
          f"{'OK' if events >= answered else 'LOST EVENTS'}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["client"]:
        client_main(sys.argv[2:])
    else:
        main()
