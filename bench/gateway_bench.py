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
                                       [--compare-workers] [--compare-stacks] [--compare-gateways]
                                       [--database postgresql://…]
With --database every home's database is a new one on that PostgreSQL server (dropped at the end)
instead of an SQLite file; --compare-gateways runs a second `keytui serve` (another port and home,
the same database, as if on another host) and measures the two, the load split between them,
against the first alone, alternately.
Targets (issue 14), each printed MET or MISSED from this one run:
  - verification throughput at max rate >= 60% of the trivial endpoint's, on the same stack;
  - verification p99 at a steady 500 requests/s <= 3x the trivial endpoint's p99 at that rate
    (p99.9 and the worst request are printed too, so a periodic stall shows);
  - with --compare-workers: `--workers 2` >= 1.7x the verification throughput of one worker,
    measured alternately in the same run, with every answered verification's event recorded once.
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
            "latencies_ms": [round(x * 1000, 4) for x in latencies]}


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
    warmup = asyncio.run(load("127.0.0.1", a.port, requests, WARMUP_S, a.rate, a.connections))
    result = asyncio.run(load("127.0.0.1", a.port, requests, a.seconds, a.rate, a.connections))
    result["answers"] = warmup["count"] + result["count"]  # every request this client had answered
    print(json.dumps(result))


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


def run_wrk(port: int, method: str, path: str, bodies: list[str], seconds: float, tmp: Path,
            connections: int = CONNECTIONS) -> dict:
    script = tmp / f"bench-{port}.lua"
    lua_bodies = ", ".join(json.dumps(b) for b in bodies)
    script.write_text(WRK_SCRIPT % (lua_bodies, method, path, method, path))
    url = f"http://127.0.0.1:{port}{path}"
    warm = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{WARMUP_S:g}s", "-s", str(script), url],
                          capture_output=True, text=True, check=True).stdout
    out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "-s", str(script), url],
                         capture_output=True, text=True, check=True).stdout
    data = json.loads(out.split("JSON ", 1)[1].splitlines()[0])
    # wrk stops with up to one request per connection unread: answered (and recorded) but not counted
    data["answers"] = data["count"] + json.loads(warm.split("JSON ", 1)[1].splitlines()[0])["count"]
    data["uncounted"] = 2 * connections
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


# `keytui serve` as if httptools and uvloop were not installed: uvicorn falls back to h11 and asyncio
PLAIN_STACK = ("import sys; sys.modules['httptools'] = sys.modules['uvloop'] = None; "
               "sys.argv[0] = 'keytui'; from keytui.cli import main; sys.exit(main())")


class Databases:
    """With --database, a new PostgreSQL database for each home on that server, dropped at the end
    (None, an SQLite file in the home, without it)."""

    def __init__(self, server_url: str | None):
        self.server_url = server_url
        self.made: list[str] = []

    def _admin(self, sql: str) -> None:
        import psycopg2

        conn = psycopg2.connect(self.server_url)
        try:
            conn.autocommit = True  # CREATE/DROP DATABASE refuse a transaction
            conn.cursor().execute(sql)
        finally:
            conn.close()

    def new(self) -> str | None:
        if not self.server_url:
            return None
        from urllib.parse import urlsplit, urlunsplit

        name = f"keytui_bench_{os.getpid()}_{len(self.made)}"
        self._admin(f'CREATE DATABASE "{name}" TEMPLATE template0')
        self.made.append(name)
        return urlunsplit(urlsplit(self.server_url)._replace(path=f"/{name}"))

    def drop_all(self) -> None:
        for name in self.made:
            self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def count_events(home: Path, url: str | None) -> int:
    if url:
        import psycopg2

        with psycopg2.connect(url) as conn, conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM activity_event")
            return cur.fetchone()[0]
    with sqlite3.connect(home / "keytui.db") as con:
        return con.execute("SELECT count(*) FROM activity_event").fetchone()[0]


def start_server(home: Path, port: int, workers: int, plain: bool = False, url: str | None = None) -> subprocess.Popen:
    import httpx

    env = dict(os.environ, KEYTUI_HOME=str(home))
    env.pop("KEYTUI_MASTER_KEY", None)
    env.pop("KEYTUI_DATABASE_URL", None)
    if url:
        env["KEYTUI_DATABASE_URL"] = url
    command = [sys.executable, "-c", PLAIN_STACK] if plain else [sys.executable, "-m", "keytui"]
    proc = subprocess.Popen(command + ["serve", "--port", str(port), "--workers", str(workers), "--fail-limit", "0"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
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


def python_client(port: int, method: str, path: str, bodies: list[str], seconds: float, rate: float | None,
                  connections: int = CONNECTIONS) -> dict:
    cmd = [sys.executable, __file__, "client", "--port", str(port), "--method", method, "--path", path,
           "--bodies", json.dumps(bodies), "--seconds", str(seconds), "--connections", str(connections)]
    if rate:
        cmd += ["--rate", str(rate)]
    return json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)


def measure(server_pid: int, run) -> dict:
    """The run's result, with the server's CPU per request answered (warm-up included, as its
    CPU is) and the cores the server and the load generator kept busy over the run."""
    import resource

    def client_cpu() -> float:
        used = resource.getrusage(resource.RUSAGE_CHILDREN)
        return used.ru_utime + used.ru_stime

    before, client_before, began = cpu_seconds(server_pid), client_cpu(), time.perf_counter()
    result = run()
    wall = time.perf_counter() - began
    server = cpu_seconds(server_pid) - before
    result["cpu_us"] = server / max(result.get("answers", result["count"]), 1) * 1e6
    result["server_cores"], result["client_cores"] = server / wall, (client_cpu() - client_before) / wall
    return result


def median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


def percentile(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def stack() -> str:
    """The HTTP parser and event loop uvicorn picks here ("auto"): httptools and uvloop when installed."""
    import importlib.util

    http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    return f"{http} + {loop}"


def verdict(met: bool) -> str:
    return "MET" if met else "MISSED"


class Gateway:
    """One `keytui serve` on its own fresh home (and database, with --database), and every answer
    it gave a verification; with `beside`, a second host's gateway on that one's database."""

    def __init__(self, tmp: Path, workers: int, plain: bool = False, databases: Databases = Databases(None),
                 beside: Gateway | None = None):
        self.home = tmp / f"home-{workers}w{'-plain' if plain else ''}{'-beside' if beside else ''}"
        self.home.mkdir()
        if beside:
            shutil.copy2(beside.home / "master.key", self.home / "master.key")
            self.url, self.verify_bodies = beside.url, beside.verify_bodies
        else:
            self.url = databases.new()
            os.environ.pop("KEYTUI_DATABASE_URL", None)
            if self.url:
                os.environ["KEYTUI_DATABASE_URL"] = self.url  # for seeding through the service, here
            tokens = seed(self.home)
            os.environ.pop("KEYTUI_DATABASE_URL", None)
            self.verify_bodies = [json.dumps({"token": t, "environment": "sandbox", "permission": "read",
                                              "module": "bench"}) for t in tokens]
        self.port = free_port()
        self.workers = workers
        self.proc = start_server(self.home, self.port, workers, plain, self.url)
        self.verify_answers = 0
        self.uncounted = 0  # answered but not seen by wrk, which stops with requests in flight

    def run(self, method: str, path: str, bodies: list[str], seconds: float, rate: float | None, tmp: Path,
            use_wrk: bool, connections: int = CONNECTIONS) -> dict:
        if rate is None and use_wrk:
            go = lambda: run_wrk(self.port, method, path, bodies, seconds, tmp, connections)  # noqa: E731
        else:
            go = lambda: python_client(self.port, method, path, bodies, seconds, rate, connections)  # noqa: E731
        result = measure(self.proc.pid, go)
        if path == "/v1/keys/verify":
            self.verify_answers += result["answers"]
            self.uncounted += result.get("uncounted", 0)
        return result

    def stop(self) -> tuple[int, int, int]:
        """Stop the server; (events recorded, answers counted, answers wrk may not have counted)."""
        self.proc.terminate()
        self.proc.wait(30)
        return count_events(self.home, self.url), self.verify_answers, self.uncounted


def events_line(name: str, events: int, answers: int, uncounted: int) -> bool:
    ok = answers <= events <= answers + uncounted
    slack = f" (+ up to {uncounted} answered after wrk stopped counting)" if uncounted else ""
    print(f"{name}: activity events {events:,}, verify answers {answers:,}{slack}: "
          f"{'every answer recorded once' if ok else 'LOST OR DUPLICATED EVENTS'}")
    return ok


def report(args, use_wrk: bool, runs: dict, latencies: dict, endpoints: dict) -> list[bool]:
    max_client = "wrk (1 thread)" if use_wrk else "asyncio client"
    engine = "PostgreSQL" if args.database else "SQLite"
    print(f"keytui serve ({stack()}) on {engine}, {args.workers} worker(s), {os.cpu_count()} cores, load average "
          f"{os.getloadavg()[0]:.1f}; {CONNECTIONS} keep-alive connections; max rate driven by {max_client}, "
          f"fixed rate paced by the asyncio client; medians of {args.rounds} alternating runs of "
          f"{args.seconds:g} s (each after {WARMUP_S:g} s warm-up); fixed-rate percentiles over all "
          f"{args.rounds} runs' requests")
    print(f"{'endpoint':<24} {'load':<8} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'p99.9 ms':>9} {'worst ms':>9} "
          f"{'server CPU/req':>15}  answers")
    summary = {}
    for (name, mode), results in sorted(runs.items(), key=lambda kv: (kv[0][1] != "fixed", kv[0][0])):
        row = {k: median([r[k] for r in results]) for k in ("rps", "cpu_us")}
        if mode == "fixed":
            ordered = sorted(latencies[name])
            row.update(p50=percentile(ordered, 0.5), p99=percentile(ordered, 0.99),
                       p999=percentile(ordered, 0.999), worst=ordered[-1])
            tail = f"{row['p50']:>8.2f} {row['p99']:>8.2f} {row['p999']:>9.2f} {row['worst']:>9.2f}"
        else:
            tail = f"{median([r['p50_ms'] for r in results]):>8.2f} {median([r['p99_ms'] for r in results]):>8.2f}" \
                   f" {'':>9} {'':>9}" if use_wrk else f"{'':>8} {'':>8} {'':>9} {'':>9}"
        summary[(name, mode)] = row
        statuses: dict = {}
        for r in results:
            for code, n in r["statuses"].items():
                statuses[str(code)] = statuses.get(str(code), 0) + n
        load_name = f"{args.rate:g}/s" if mode == "fixed" else "max"
        print(f"{name:<24} {load_name:<8} {row['rps']:>8.0f} {tail} {row['cpu_us']:>12.0f} us  {statuses}")
    ping_name, body_name, verify_name = endpoints
    ping, ping_body, verify = (summary[(n, "max")] for n in endpoints)
    ratio = verify["rps"] / ping["rps"]
    print(f"verify / trivial throughput at max rate: {ratio:.0%} (target >= 60%): {verdict(ratio >= 0.6)}; "
          f"by server CPU per request: {ping['cpu_us'] / verify['cpu_us']:.0%}")
    print(f"verify / trivial POST with the same JSON body: {verify['rps'] / ping_body['rps']:.0%} of its throughput, "
          f"{ping_body['cpu_us'] / verify['cpu_us']:.0%} by server CPU (the part verification itself costs)")
    fixed_v, fixed_p = summary[(verify_name, "fixed")], summary[(ping_name, "fixed")]
    p99_ratio = fixed_v["p99"] / fixed_p["p99"]
    print(f"verify p99 at {args.rate:g} req/s: {fixed_v['p99']:.2f} ms vs trivial {fixed_p['p99']:.2f} ms = "
          f"{p99_ratio:.1f}x (target <= 3x): {verdict(p99_ratio <= 3)}; p99.9 {fixed_v['p999']:.2f} vs "
          f"{fixed_p['p999']:.2f} ms, worst {fixed_v['worst']:.2f} vs {fixed_p['worst']:.2f} ms")
    return [ratio >= 0.6, p99_ratio <= 3]


def compare_workers(args, tmp: Path, use_wrk: bool, one: Gateway, databases: Databases) -> list[bool]:
    """Verification at max rate on one worker and on two, alternately, each on its own home."""
    two = Gateway(tmp, 2, databases=databases)
    runs: dict[int, list[dict]] = {1: [], 2: []}
    try:
        for _ in range(args.rounds):
            for gw in (one, two):
                runs[gw.workers].append(gw.run("POST", "/v1/keys/verify", gw.verify_bodies, args.seconds, None, tmp,
                                               use_wrk))
    finally:
        recorded = two.stop()

    def med(workers: int, key: str) -> float:
        return median([r[key] for r in runs[workers]])

    scale = med(2, "rps") / med(1, "rps")
    print(f"verify at max rate, --workers 2 / --workers 1: {med(2, 'rps'):.0f} / {med(1, 'rps'):.0f} req/s = "
          f"{scale:.2f}x (target >= 1.7x): {verdict(scale >= 1.7)}")
    print(f"  cores busy (of {os.cpu_count()}), server / load generator: one worker {med(1, 'server_cores'):.2f} / "
          f"{med(1, 'client_cores'):.2f}, two workers {med(2, 'server_cores'):.2f} / {med(2, 'client_cores'):.2f}; "
          f"server CPU per verification {med(1, 'cpu_us'):.0f} us with one, {med(2, 'cpu_us'):.0f} us with two")
    return [scale >= 1.7, events_line("--workers 2", *recorded)]


def compare_gateways(args, tmp: Path, use_wrk: bool, one: Gateway) -> list[bool]:
    """Verification at max rate on one gateway (16 connections), then on it and a second gateway on
    the same database at once (8 connections each: the same load, split), alternately."""
    from concurrent.futures import ThreadPoolExecutor

    second = Gateway(tmp, 1, beside=one)
    rps: dict[int, list[float]] = {1: [], 2: []}
    verify = ("POST", "/v1/keys/verify", one.verify_bodies, args.seconds, None, tmp, use_wrk)
    try:
        for _ in range(args.rounds):
            rps[1].append(one.run(*verify)["rps"])
            with ThreadPoolExecutor(2) as pool:
                both = list(pool.map(lambda gw: gw.run(*verify, connections=CONNECTIONS // 2), (one, second)))
            rps[2].append(sum(r["rps"] for r in both))
    finally:
        second.stop()  # its events are in the first one's database, counted when that one stops
        one.verify_answers += second.verify_answers
        one.uncounted += second.uncounted
    print(f"verify at max rate, two gateways on one database / one gateway: {median(rps[2]):.0f} / "
          f"{median(rps[1]):.0f} req/s = {median(rps[2]) / median(rps[1]):.2f}x (runs: "
          f"{', '.join(f'{a:.0f}/{b:.0f}' for a, b in zip(rps[2], rps[1]))})")
    return []


def compare_stacks(args, tmp: Path, use_wrk: bool, fast: Gateway, databases: Databases) -> list[bool]:
    """Trivial and verify at max rate on this stack and on h11 + asyncio, alternately."""
    plain = Gateway(tmp, args.workers, plain=True, databases=databases)
    cpu: dict[tuple[str, bool], list[float]] = {}
    rps: dict[tuple[str, bool], list[float]] = {}
    try:
        for _ in range(args.rounds):
            for gw, is_plain in ((fast, False), (plain, True)):
                for path, method, bodies in (("/v1/ping", "GET", []), ("/v1/keys/verify", "POST", gw.verify_bodies)):
                    r = gw.run(method, path, bodies, args.seconds, None, tmp, use_wrk)
                    rps.setdefault((path, is_plain), []).append(r["rps"])
                    cpu.setdefault((path, is_plain), []).append(r["cpu_us"])
    finally:
        recorded = plain.stop()
    for path in ("/v1/ping", "/v1/keys/verify"):
        f_rps, p_rps = median(rps[(path, False)]), median(rps[(path, True)])
        f_cpu, p_cpu = median(cpu[(path, False)]), median(cpu[(path, True)])
        print(f"{path} at max rate, {stack()} / h11 + asyncio: {f_rps:.0f} / {p_rps:.0f} req/s = {f_rps / p_rps:.2f}x; "
              f"server CPU a request {f_cpu:.0f} / {p_cpu:.0f} us")
    ratio = median(rps[("/v1/keys/verify", True)]) / median(rps[("/v1/ping", True)])
    print(f"verify / trivial throughput on h11 + asyncio: {ratio:.0%} (for reference)")
    return [events_line("h11 + asyncio server", *recorded)]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=3.0, help="length of each measured run (default 3)")
    p.add_argument("--rounds", type=int, default=3, help="alternating rounds per endpoint; medians are reported (default 3)")
    p.add_argument("--rate", type=float, default=500.0, help="fixed request rate (default 500/s)")
    p.add_argument("--workers", type=int, default=1, help="gateway worker processes (default 1)")
    p.add_argument("--python-client", action="store_true", help="use the asyncio client even if wrk is installed")
    p.add_argument("--compare-workers", action="store_true", help="also measure --workers 2 against one worker")
    p.add_argument("--compare-stacks", action="store_true", help="also measure the server on h11 + asyncio")
    p.add_argument("--compare-gateways", action="store_true",
                   help="also measure two gateways on one database (the load split) against one")
    p.add_argument("--database", metavar="URL", help="a PostgreSQL server (postgresql://…): each home gets a new "
                                                     "database there instead of an SQLite file")
    args = p.parse_args()
    if args.compare_gateways and not args.database:
        p.error("--compare-gateways needs --database postgresql://… (two hosts cannot share an SQLite file)")
    use_wrk = shutil.which("wrk") is not None and not args.python_client
    databases = Databases(args.database)

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        gw = Gateway(tmp, args.workers, databases=databases)
        endpoints = {"GET /v1/ping (trivial)": ("GET", "/v1/ping", []),
                     "POST /v1/ping (body)": ("POST", "/v1/ping", gw.verify_bodies),
                     "POST /v1/keys/verify": ("POST", "/v1/keys/verify", gw.verify_bodies)}
        runs: dict[tuple[str, str], list[dict]] = {}
        latencies: dict[str, list[float]] = {}
        try:
            for _ in range(args.rounds):  # alternate, so a noisy moment on the machine hits both endpoints
                for name, (method, path, bodies) in endpoints.items():
                    runs.setdefault((name, "max"), []).append(gw.run(method, path, bodies, args.seconds, None, tmp,
                                                                     use_wrk))
                    fixed = gw.run(method, path, bodies, args.seconds, args.rate, tmp, use_wrk)
                    latencies.setdefault(name, []).extend(fixed.pop("latencies_ms"))
                    runs.setdefault((name, "fixed"), []).append(fixed)
            verdicts = report(args, use_wrk, runs, latencies, list(endpoints))
            if args.compare_workers and args.workers == 1:
                verdicts += compare_workers(args, tmp, use_wrk, gw, databases)
            if args.compare_stacks:
                verdicts += compare_stacks(args, tmp, use_wrk, gw, databases)
            if args.compare_gateways:
                verdicts += compare_gateways(args, tmp, use_wrk, gw)
        finally:
            recorded = gw.stop()
            databases.drop_all()
        verdicts.append(events_line(f"--workers {args.workers}", *recorded))
    print(f"targets met: {sum(verdicts)} of {len(verdicts)}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["client"]:
        client_main(sys.argv[2:])
    else:
        main()
