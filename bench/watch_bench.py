"""The watch beside the gateway: a pass over 20,000 keys, thousands of them due, while the gateway
answers verifications at a steady rate.

On SQLite a transaction holds the database's only write lock, so a pass done as one long
transaction makes every verification wait for it (and answer 503 once its commit timeout of
5 s passes). keytui's pass is many short transactions (keytui.service.paced); this measures the
verification latency seen during a pass, and, with --compare, during the same pass run with
an unlimited transaction budget (one transaction per step, as before).

The home is built through the service in a few seconds (Vault.create_many with a clock set in
the past: some keys expired, some inside the 7-day rotation window, the rest fresh). The load is
an asyncio client paced at --rate requests/s over keep-alive connections (the one in
gateway_bench.py), each request timed from write to the last byte of its answer.

Run:     python bench/watch_bench.py [--keys 20000] [--due 3000] [--expired 1000] [--rate 200] [--compare]
Target:  no 503 during the pass; every transaction of the pass well under 100 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from gateway_bench import build_requests, free_port, read_response, start_server  # noqa: E402

CONNECTIONS = 8
BATCH = 2000
LONG_PASS = ("-c", "import sys\nfrom keytui.service import paced\npaced.Paced.__init__.__kwdefaults__.update(budget_s=1e9, pause_s=0.0)\n"
                   "from keytui.cli import main\nsys.exit(main(sys.argv[1:]))\n")


def build(home: Path, keys: int, due: int, expired: int) -> str:
    """The keys (expired, due for rotation, fresh); returns a token to verify under load."""
    from keytui.clock import FixedClock
    from keytui.service import NewKey, Vault

    now = datetime.now(timezone.utc)
    plan = [(40, expired, "Expired", 30), (25, due, "Due", 30), (0, keys - due - expired, "Fresh", 90)]
    token = ""
    for days_ago, count, label, days in plan:
        vault = Vault.open(home, operator="bench", clock=FixedClock(now - timedelta(days=days_ago)))
        try:
            for start in range(0, count, BATCH):
                specs = [NewKey(f"{label} {n}", "workflows", ["read"], "staging", expires_in_days=days)
                         for n in range(start, min(count, start + BATCH))]
                issued = vault.create_many(specs)
                token = issued[0].token if label == "Fresh" else token
        finally:
            vault.close()
    return token


class Load:
    """Paced verifications on a thread of their own; each answer is kept as (sent at, seconds, status)."""

    def __init__(self, port: int, token: str, rate: float):
        body = json.dumps({"token": token, "environment": "staging", "module": "bench"})
        self.request = build_requests("127.0.0.1", port, "POST", "/v1/keys/verify", [body])[0]
        self.port, self.rate = port, rate
        self.answers: list[tuple[float, float, int]] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        start = loop.time()
        slot = iter(range(10**9))

        async def worker() -> None:
            reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
            while not self.stop.is_set():
                delay = start + next(slot) / self.rate - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                sent, t0 = time.time(), time.perf_counter()
                writer.write(self.request)
                status = await read_response(reader)
                self.answers.append((sent, time.perf_counter() - t0, status))
            writer.close()

        await asyncio.gather(*(worker() for _ in range(CONNECTIONS)))

    def between(self, first: float, last: float) -> list[tuple[float, float, int]]:
        return [a for a in self.answers if first <= a[0] <= last]


def run_pass(home: Path, long: bool) -> tuple[dict, float, float]:
    env = dict(os.environ, KEYTUI_HOME=str(home))
    env.pop("KEYTUI_MASTER_KEY", None)
    launcher = LONG_PASS if long else ("-m", "keytui")
    started = time.time()
    done = subprocess.run([sys.executable, *launcher, "watch", "--once", "--json"], capture_output=True, text=True,
                          env=env, check=True)
    return json.loads(done.stdout), started, time.time()


def summarise(answers: list[tuple[float, float, int]]) -> dict:
    if not answers:
        return {"count": 0, "p50_ms": 0.0, "p99_ms": 0.0, "max_ms": 0.0, "503": 0}
    waits = sorted(a[1] for a in answers)
    return {"count": len(waits), "p50_ms": waits[len(waits) // 2] * 1000,
            "p99_ms": waits[min(len(waits) - 1, int(len(waits) * 0.99))] * 1000, "max_ms": waits[-1] * 1000,
            "503": sum(a[2] == 503 for a in answers), "other": sum(a[2] not in (200, 503) for a in answers)}


def trial(args, long: bool) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        home.mkdir(mode=0o700)
        built = time.perf_counter()
        token = build(home, args.keys, args.due, args.expired)
        built = time.perf_counter() - built
        port = free_port()
        server = start_server(home, port, 1)
        load = Load(port, token, args.rate)
        try:
            load.thread.start()
            time.sleep(args.baseline)
            report, first, last = run_pass(home, long)
            time.sleep(1.0)
        finally:
            load.stop.set()
            load.thread.join(30)
            server.terminate()
            server.wait(60)
        with sqlite3.connect(home / "keytui.db") as con:
            recorded = con.execute("SELECT count(*) FROM activity_event WHERE code = 'VALID'").fetchone()[0]
    return {"built_s": built, "report": report, "before": summarise(load.between(0, first)),
            "during": summarise(load.between(first, last)), "answered_200": sum(a[2] == 200 for a in load.answers),
            "recorded_valid": recorded}


def show(name: str, result: dict) -> None:
    r = result["report"]
    print(f"\n{name}: pass {r['seconds']:.1f} s, {r['transactions']} transactions, longest "
          f"{r['longest_transaction_ms']:.1f} ms; expired {len(r['expired'])}, rotated {len(r['rotated'])}, "
          f"{len(r['alerts'])} alerts (home built in {result['built_s']:.1f} s)")
    print(f"  {'verifications':<16} {'count':>6} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'503':>5}")
    for label in ("before", "during"):
        s = result[label]
        print(f"  {label + ' the pass':<16} {s['count']:>6} {s['p50_ms']:>8.2f} {s['p99_ms']:>8.2f} "
              f"{s['max_ms']:>8.1f} {s['503']:>5}")
    print(f"  answered 200: {result['answered_200']}, VALID events recorded: {result['recorded_valid']} "
          f"({'OK' if result['recorded_valid'] >= result['answered_200'] else 'LOST EVENTS'})")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--keys", type=int, default=20_000, help="keys in the home (default 20000)")
    p.add_argument("--due", type=int, default=3_000, help="of which inside the rotation window (default 3000)")
    p.add_argument("--expired", type=int, default=1_000, help="of which past their expiry (default 1000)")
    p.add_argument("--rate", type=float, default=200.0, help="verifications per second (default 200)")
    p.add_argument("--baseline", type=float, default=3.0, help="seconds of load before the pass (default 3)")
    p.add_argument("--compare", action="store_true", help="also run the pass as one transaction per step")
    args = p.parse_args()
    print(f"watch pass beside keytui serve (1 worker): {args.keys} keys, {args.due} due for rotation, "
          f"{args.expired} expired; {args.rate:g} verifications/s over {CONNECTIONS} keep-alive connections; "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    short = trial(args, long=False)
    show("short transactions (keytui)", short)
    during = short["during"]
    ok = during["503"] == 0 and short["report"]["longest_transaction_ms"] < 100
    print(f"  no 503 and every transaction under 100 ms: {'OK' if ok else 'MISSED'}")
    if args.compare:
        show("one transaction per step (for comparison)", trial(args, long=True))


if __name__ == "__main__":
    main()
