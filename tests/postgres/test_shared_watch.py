"""One watch at a time on a shared PostgreSQL database: two hosts' `keytui watch --once` started
together rotate each due key once and audit each expiry once (a file lock in each home cannot
see the other host; the pass takes a PostgreSQL advisory lock)."""

import json
from collections import Counter
from datetime import timedelta

from keytui.service import alerts
from tests.support import START, wait_until


def test_two_hosts_watch_passes_at_once_do_each_thing_once(vault, clock, shared):
    expiring = [vault.create(f"E{i}", "agents", ["read"], "sandbox", expires_in_days=30).key.key_id
                for i in range(30)]
    clock.advance(days=5)
    rotating = [vault.create(f"R{i}", "agents", ["read"], "sandbox", expires_in_days=30).key.key_id
                for i in range(30)]
    now = {"KEYTUI_NOW": (START + timedelta(days=31)).isoformat()}  # E* expired, R* 4 days before expiry
    procs = [shared.run(n, "watch", "--once", "--json", env=now) for n in (0, 1)]
    outs = [p.communicate(timeout=90) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err[-300:] for _, err in outs]
    reports = [json.loads(out) for out, _ in outs]
    assert sorted(k for r in reports for k in r["rotated"]) == sorted(rotating)
    assert sorted(k for r in reports for k in r["expired"]) == sorted(expiring)
    entries = vault.audit_entries()
    assert Counter(e["key_id"] for e in entries if e["action"] == "key.rotate") == Counter(rotating)
    assert Counter(e["key_id"] for e in entries if e["action"] == "key.expire") == Counter(expiring)
    raised = alerts.list_alerts(vault.ctx, include_acknowledged=True)
    assert raised and len(raised) == len({(a.kind, a.key_id, a.ip) for a in raised})
    assert all(len(vault.secrets(k)) == 2 for k in rotating)  # the old one in its grace, one new
    assert vault.verify_audit().ok


def test_a_killed_pass_leaves_nothing_half_done_and_the_next_finishes_once(vault, clock, shared):
    due = [vault.create(f"R{i}", "agents", ["read"], "sandbox", expires_in_days=30).key.key_id for i in range(150)]
    now = {"KEYTUI_NOW": (START + timedelta(days=26)).isoformat()}

    def rotations() -> Counter:
        return Counter(e["key_id"] for e in vault.audit_entries() if e["action"] == "key.rotate")

    first = shared.run(1, "watch", "--once", "--json", env=now)
    wait_until(lambda: rotations() or first.poll() is not None, 60, "the first pass to rotate a key")
    first.kill()
    first.communicate(timeout=30)
    done_before = sum(rotations().values())
    assert 0 < done_before < len(due), "the pass ended before it could be killed in the middle"
    second = shared.run(0, "watch", "--once", "--json", env=now)
    out, err = second.communicate(timeout=90)
    assert second.returncode == 0, err[-300:]
    assert len(json.loads(out)["rotated"]) == len(due) - done_before
    assert rotations() == Counter(due)
    assert all(len(vault.secrets(k)) == 2 for k in due)
    assert vault.verify_audit().ok
