"""Several processes sharing one SQLite home at once never fail with "database is locked", and
every verification is recorded exactly once."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

WORKERS = 3
ROUNDS = 200  # per worker: 180 verifications and 20 creates
HAMMER = Path(__file__).with_name("hammer.py")


def test_processes_verify_and_create_at_once_without_losing_a_write(vault, home, clock, raw_sql):
    tokens = [vault.create(f"Shared key {n}", "workflows", ["read"], "sandbox", expires_in_days=30).token
              for n in range(5)]
    from keytui.service.homekind import mark_test_home

    mark_test_home(home)
    env = dict(os.environ, KEYTUI_NOW=clock.now().isoformat())
    env.pop("KEYTUI_MASTER_KEY", None)
    workers = [subprocess.Popen([sys.executable, str(HAMMER), str(home), str(w), str(ROUNDS)], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
               for w in range(WORKERS)]
    for w in workers:
        w.stdin.write("\n".join(tokens))
        w.stdin.close()
    own_writes = 0
    while any(w.poll() is None for w in workers):
        vault.create(f"Test process key {own_writes}", "monitoring", ["read"], "sandbox", expires_in_days=30)
        own_writes += 1
    results = [(w.wait(timeout=120), w.stdout.read(), w.stderr.read()) for w in workers]

    for code, out, err in results:
        assert (code, err) == (0, ""), err[-500:]
    verified = sum(int(out) for _, out, _ in results)
    assert verified == WORKERS * ROUNDS * 9 // 10
    assert raw_sql("SELECT count(*) FROM activity_event")[0][0] == verified
    assert raw_sql("SELECT sum(ok), sum(failed) FROM usage_rollup")[0] == (verified, 0)
    assert own_writes > 0
    assert vault.count_keys() == len(tokens) + WORKERS * ROUNDS // 10 + own_writes
    assert vault.verify_audit().ok
