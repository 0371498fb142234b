"""Verification throughput: keytui's ``Vault.verify`` against the practical limit on this machine.

The limit is the same work written by hand with ``sqlite3`` and ``hmac``: refuse a malformed
token offline, look the HMAC digest up joined to its key, make the same checks, then in one
transaction per call insert the activity event, update the key's last-used time, upsert the
hourly counter and commit, with the same pragmas (WAL, synchronous=NORMAL). Both loops run on
copies of one database holding 100,000 keys and verify the same token sequence.

Setup inserts the keys directly, in one transaction, with the service's own token, digest and
encryption functions (``keytui.tokens``): building 100,000 keys through ``Vault.create`` would
write 100,000 audit entries and take minutes, and the keys would be the same.

The loops take turns over batches of the same calls, so load from other processes on the
machine slows both alike and the ratio stays meaningful.

``--compare-seals`` adds a third loop, keytui with its row-seal check switched off (a patch in
this script only, on its own copy of the database), taking turns with the other two: what the
two HMACs per call that guard against rows edited without the master key cost. The calls pick
among 100,000 keys, so nearly every call misses the verifier's cache of rows already judged
and pays for both HMACs: the worst case; a gateway serving a few hot keys judges each row once.

Run: ``python bench/verify_bench.py [--keys 100000] [--calls 30000] [--batch 500] [--compare-seals]``
Target: keytui reaches at least 50% of the raw loop's throughput.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import ipaddress
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from keytui import tokens
from keytui.clock import Clock
from keytui.domain import Environment, Permission, Scope, format_permissions
from keytui.store.models import ApiKey, KeySecret
from keytui.service import Vault, integrity
from keytui.service.keys import new_key_id

HOUR_MS = 3_600_000
CHUNK = 500


def build(home: Path, n_keys: int) -> list[tuple[str, str]]:
    """Create the vault database with n_keys keys; returns (token, environment) pairs."""
    vault = Vault.open(home, operator="bench")
    now = vault.now()
    rng = random.Random(7)
    scopes, envs = list(Scope), list(Environment)
    perm_sets = [[Permission.READ], [Permission.READ, Permission.WRITE], [Permission.EXECUTE], [Permission.ADMIN]]
    issued: list[tuple[str, str]] = []
    with vault.ctx.transaction():
        for start in range(0, n_keys, CHUNK):
            keys, secrets_ = [], []
            for i in range(start, min(start + CHUNK, n_keys)):
                env = envs[i % len(envs)]
                key_id = new_key_id()
                token = tokens.generate(env)
                keys.append({"key_id": key_id, "name": f"bench key {i}", "scope": rng.choice(scopes).value,
                             "permissions": format_permissions(rng.choice(perm_sets)), "environment": env.value,
                             "owner": "bench", "created_by": "bench", "created_at": now, "updated_at": now,
                             "expires_at": now + timedelta(days=90), "expiry_days": 90, "status": "active",
                             "ip_allowlist": "10.0.0.0/8" if i % 5 == 0 else ""})
                keys[-1]["seal"] = integrity.seal_key_fields(vault.ctx.keyring, keys[-1])
                secrets_.append((key_id, token))
                issued.append((token, env.value))
            ApiKey.insert_many(keys).execute()
            ids = dict(ApiKey.select(ApiKey.key_id, ApiKey.id).where(
                ApiKey.key_id.in_([k for k, _ in secrets_])).tuples())
            keyring = vault.ctx.keyring
            KeySecret.insert_many([{"key": ids[k], "digest": keyring.digest(t),
                                    "ciphertext": keyring.encrypt(t, k), "hint": tokens.hint(t),
                                    "origin": "create", "created_at": now,
                                    "seal": integrity.secret_seal(keyring, k, keyring.digest(t), now, None, None)}
                                   for k, t in secrets_]).execute()
    vault.ctx.db.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    vault.close()
    return issued


def workload(issued: list[tuple[str, str]], calls: int) -> list[tuple[str, str, str, str]]:
    """(token, environment, permission, ip) per call: mostly valid keys, some denials, a few bad tokens."""
    rng = random.Random(11)
    out = []
    for i in range(calls):
        token, env = rng.choice(issued)
        if i % 50 == 0:
            token = token[:-1] + ("A" if token[-1] != "A" else "B")  # bad checksum: refused offline
        out.append((token, env, rng.choice(["read", "write", "execute"]), "10.1.2.3"))
    return out


class RawLoop:
    """The same verification and recording, by hand: the practical limit of this stack."""

    def __init__(self, db_path: Path, pepper: bytes, clock: Clock):
        self.conn = sqlite3.connect(str(db_path), isolation_level=None, check_same_thread=False)
        for pragma in ("journal_mode = wal", "synchronous = normal", "foreign_keys = 1", "busy_timeout = 60000",
                       "cache_size = -16000"):
            self.conn.execute(f"PRAGMA {pragma}")
        self.pepper = pepper
        self.clock = clock
        self.nets: dict[str, tuple] = {}

    def verify(self, token: str, env: str, perm: str, ip: str, module: str) -> str:
        now = self.clock.now_ms()
        row = None
        if tokens.token_environment(token) is not None:
            digest = hmac.new(self.pepper, token.encode(), hashlib.sha256).hexdigest()
            row = self.conn.execute(
                "SELECT k.id, k.key_id, k.scope, k.permissions, k.environment, k.status, k.expires_at, "
                "k.ip_allowlist, s.valid_until, s.ended_by FROM key_secret s JOIN api_key k ON k.id = s.key_id "
                "WHERE s.digest = ?", (digest,)).fetchone()
        if row is None:
            code, key_row, key_id, module_name = "NOT_FOUND", None, None, "unknown"
        else:
            key_row, key_id, scope, perms, key_env, status, expires, allow, valid_until, ended_by = row
            module_name = module
            code = self.judge(now, env, perm, ip, perms, key_env, status, expires, allow, valid_until)
        status_text = "success" if code == "VALID" else "failed"
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO activity_event (ts, key_id, module, action, status, code, ip, environment) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (now, key_id, module_name, "access", status_text, code, ip, env))
        if key_row is not None:
            conn.execute("UPDATE api_key SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)",
                         (now, key_row, now))
        conn.execute("INSERT INTO usage_rollup (hour, key_id, module, ok, failed) VALUES (?, ?, ?, ?, ?) "
                     "ON CONFLICT (hour, key_id, module) DO UPDATE SET ok = usage_rollup.ok + excluded.ok, "
                     "failed = usage_rollup.failed + excluded.failed",
                     (now - now % HOUR_MS, key_id or "", module_name, int(code == "VALID"), int(code != "VALID")))
        conn.execute("COMMIT")
        return code

    def judge(self, now, env, perm, ip, perms, key_env, status, expires, allow, valid_until) -> str:
        if status == "revoked":
            return "REVOKED"
        if status == "expired" or (expires is not None and expires <= now):
            return "EXPIRED"
        if valid_until is not None and valid_until <= now:
            return "EXPIRED"
        if key_env != env:
            return "WRONG_ENVIRONMENT"
        if allow:
            nets = self.nets.get(allow)
            if nets is None:
                nets = self.nets[allow] = tuple(ipaddress.ip_network(n) for n in allow.split(","))
            addr = ipaddress.ip_address(ip)
            if not any(addr in n for n in nets):
                return "IP_NOT_ALLOWED"
        held = perms.split(",")
        if perm not in held and "admin" not in held:
            return "INSUFFICIENT_PERMISSION"
        return "VALID"


def _unsealed(vault: Vault) -> Vault:
    """The vault with its verifier's seal check switched off (this benchmark only)."""
    vault.verifier._intact = lambda row, digest: True
    return vault


def race(kt_home: Path, raw_home: Path, pepper: bytes, work, batch: int,
         unsealed_home: Path | None = None) -> tuple[float, float, float | None, list[float]]:
    """Run the loops over the same calls in alternating batches, so a busy machine slows all alike.

    Returns (keytui calls/s, raw calls/s, keytui-without-seal-checks calls/s or None, per-batch ratios)."""
    clock = Clock()  # the wall clock, as in production: events land in real hourly buckets
    vault = Vault.open(kt_home, operator="bench", clock=clock)
    raw = RawLoop(raw_home / "keytui.db", pepper, clock)
    unsealed = _unsealed(Vault.open(unsealed_home, operator="bench", clock=clock)) if unsealed_home else None
    kt_time = raw_time = bare_time = 0.0
    ratios = []
    for start in range(0, len(work), batch):
        calls = work[start:start + batch]
        t0 = time.perf_counter()
        for token, env, perm, ip in calls:
            vault.verify(token, env, perm, None, ip, "bench")
        t1 = time.perf_counter()
        for token, env, perm, ip in calls:
            raw.verify(token, env, perm, ip, "bench")
        t2 = time.perf_counter()
        if unsealed is not None:
            for token, env, perm, ip in calls:
                unsealed.verify(token, env, perm, None, ip, "bench")
        bare_time += time.perf_counter() - t2
        kt_time += t1 - t0
        raw_time += t2 - t1
        ratios.append((t2 - t1) / (t1 - t0))
    vault.close()
    raw.conn.close()
    if unsealed is not None:
        unsealed.close()
    return (len(work) / kt_time, len(work) / raw_time, len(work) / bare_time if unsealed else None, ratios)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=100_000)
    parser.add_argument("--calls", type=int, default=30_000, help="verifications per loop")
    parser.add_argument("--batch", type=int, default=500, help="calls per turn when the loops alternate")
    parser.add_argument("--compare-seals", action="store_true",
                        help="also run keytui with its row-seal check off, to measure what the check costs")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="keytui-bench-") as tmp:
        kt_home, raw_home = Path(tmp) / "keytui", Path(tmp) / "raw"
        t0 = time.perf_counter()
        issued = build(kt_home, args.keys)
        print(f"built {args.keys:,} keys in {time.perf_counter() - t0:.1f} s")
        shutil.copytree(kt_home, raw_home)
        unsealed_home = Path(tmp) / "unsealed" if args.compare_seals else None
        if unsealed_home:
            shutil.copytree(kt_home, unsealed_home)
        pepper = Vault.open(kt_home, operator="bench").ctx.keyring.pepper
        kt, raw, bare, ratios = race(kt_home, raw_home, pepper, workload(issued, args.calls), args.batch,
                                     unsealed_home)
        ratio = kt / raw
        print(f"keytui Vault.verify: {kt:,.0f} verifications/s")
        print(f"raw sqlite3 + hmac:  {raw:,.0f} verifications/s")
        print(f"ratio keytui/raw:    {ratio:.0%} (median of {len(ratios)} batches {statistics.median(ratios):.0%}; "
              f"target >= 50%): {'MET' if ratio >= 0.5 else 'MISSED'}")
        if bare is not None:
            print(f"keytui, seal check off: {bare:,.0f} verifications/s, ratio to raw {bare / raw:.0%}")
            print(f"seal check's cost: {1e6 / kt - 1e6 / bare:.1f} us a call; with seals / without: {kt / bare:.0%}")
        return 0 if ratio >= 0.5 else 1


if __name__ == "__main__":
    sys.exit(main())
