"""The audit chain under concurrent writers on PostgreSQL: the next sequence number was read,
not locked, so two transactions took the same one and the second failed with UniqueViolation
on audit_entry_seq. Audited transactions now take the writers' advisory lock first."""

import threading

from keytui.clock import Clock
from keytui.service import Vault


def test_threads_writing_audited_changes_at_once_all_succeed_and_chain_verifies(vault, home, pg_url):
    writers, each = 6, 12
    vaults = [Vault.open(home, operator=f"op{n}", clock=Clock()) for n in range(writers)]
    start, failures = threading.Barrier(writers), []

    def write(v: Vault) -> None:
        start.wait()
        try:
            for i in range(each):
                key = v.create(f"{v.ctx.operator}-{i}", "agents", ["read"], "sandbox", expires_in_days=30).key
                if i % 3 == 0:
                    v.revoke(key.key_id)
        except Exception as exc:  # noqa: BLE001 — collected, asserted below
            failures.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=write, args=(v,)) for v in vaults]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    for v in vaults:
        v.close()
    assert failures == []
    entries = vault.audit_entries()
    assert sum(e["action"] == "key.create" for e in entries) == writers * each
    assert sum(e["action"] == "key.revoke" for e in entries) == writers * 4
    report = vault.verify_audit()
    assert report.ok and report.entries == len(entries)
