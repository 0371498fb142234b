"""Demo build against a raw bulk write of the same rows, in the same run.

`keytui.service.demo.build` fills a fresh home through the service API (real tokens, digests,
AES-GCM copies and audit entries; every call checked by `Verifier.check` and recorded by
`Verifier.record`; a watch pass at the end). The raw side then writes exactly the rows that
build left, table by table, into an empty database with the same schema, indexes and pragmas:
`executemany`, one transaction per table, nothing computed. That is the floor for writing
this much data with SQLite on this machine; the build's ratio to it is what the service's
own work costs.

Run:    python bench/demo_bench.py [--keys 100000] [--events 1000000]
Targets (issue 14), printed MET or MISSED: demo build <= 3x the raw bulk write in the same run;
demo build < 60 s (on the build machine: absolute times move with the machine and its load).
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=timezone.utc)
RATIO_TARGET = 3.0
SECONDS_TARGET = 60.0


def build(home: Path, keys: int, events: int) -> tuple[float, object]:
    from keytui.clock import FixedClock
    from keytui.service import Vault

    vault = Vault.open(home, operator="bench", clock=FixedClock(NOW))
    try:
        started = time.perf_counter()
        report = vault.build_demo(keys=keys, events=events)
        return time.perf_counter() - started, report
    finally:
        vault.close()


def raw_bulk_write(source: Path, target: Path) -> tuple[float, int]:
    """Seconds to write every row of `source` into a new database at `target` (same schema and
    pragmas), and how many rows that was. Reading the rows is not timed."""
    with sqlite3.connect(source) as src:
        schema = [sql for (sql,) in src.execute(
            "SELECT sql FROM sqlite_master WHERE type IN ('table', 'index') AND sql IS NOT NULL "
            "AND name NOT LIKE 'sqlite_%' ORDER BY type = 'index', rowid")]
        tables = [name for (name,) in src.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY rowid")]
        data = {t: src.execute(f'SELECT * FROM "{t}"').fetchall() for t in tables}
    con = sqlite3.connect(target, isolation_level=None)
    for pragma in ("journal_mode = wal", "synchronous = normal", "cache_size = -16000"):
        con.execute(f"PRAGMA {pragma}")
    for sql in schema:
        con.execute(sql)
    started = time.perf_counter()
    for table, rows in data.items():
        if not rows:
            continue
        marks = ", ".join("?" * len(rows[0]))
        con.execute("BEGIN")
        con.executemany(f'INSERT INTO "{table}" VALUES ({marks})', rows)
        con.execute("COMMIT")
    elapsed = time.perf_counter() - started
    con.close()
    return elapsed, sum(len(rows) for rows in data.values())


def verdict(met: bool) -> str:
    return "MET" if met else "MISSED"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--keys", type=int, default=100_000)
    p.add_argument("--events", type=int, default=1_000_000)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        home = tmp / "home"
        home.mkdir()
        built_s, report = build(home, args.keys, args.events)
        with sqlite3.connect(home / "keytui.db") as con:
            con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        raw_s, rows = raw_bulk_write(home / "keytui.db", tmp / "raw.db")
    ratio = built_s / raw_s
    print(f"demo build, {args.keys:,} keys / {report.events:,} events, {os.cpu_count()} cores, load average "
          f"{os.getloadavg()[0]:.1f}, Python {sys.version.split()[0]}")
    print(f"demo build: {built_s:.1f} s; raw bulk write of the same {rows:,} rows (executemany, one transaction "
          f"per table, same schema and pragmas): {raw_s:.1f} s")
    print(f"demo build / raw bulk write: {ratio:.1f}x (target <= {RATIO_TARGET:g}x): {verdict(ratio <= RATIO_TARGET)}")
    print(f"demo build time: {built_s:.1f} s (target < {SECONDS_TARGET:g} s on the build machine): "
          f"{verdict(built_s < SECONDS_TARGET)}")


if __name__ == "__main__":
    main()
