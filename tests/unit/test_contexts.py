"""Two service contexts on two databases (two homes' files, or two databases on a server) in one
process each see only their own data, in one thread or in several at once."""

from __future__ import annotations

import threading

from keytui.domain import VerifyCode
from keytui.service import Vault


def test_two_vaults_on_two_homes_never_share_a_database(tmp_path, clock, own_database):
    own_database()
    first = Vault.open(tmp_path / "first", operator="alice", clock=clock)
    own_database()
    second = Vault.open(tmp_path / "second", operator="bob", clock=clock)
    a = first.create("Only In First", "agents", ["read"], "sandbox", expires_in_days=30)
    b = second.create("Only In Second", "agents", ["read"], "sandbox", expires_in_days=30)
    assert [k.name for k in first.list_keys()] == ["Only In First"]
    assert [k.name for k in second.list_keys()] == ["Only In Second"]
    assert second.verify(a.token, "sandbox").code is VerifyCode.NOT_FOUND
    assert first.verify(a.token, "sandbox").code is VerifyCode.VALID
    assert [e.key_id for e in second.events()] == [None]
    assert first.overview().total == second.overview().total == 1
    assert [e["operator"] for e in first.audit_entries()] == ["alice"]
    assert first.verify_audit().ok and second.verify_audit().ok
    assert first.get(a.key.key_id).name == "Only In First"
    assert second.get(b.key.key_id).name == "Only In Second"
    first.close()
    second.close()


def test_two_vaults_used_from_threads_at_once_stay_apart(tmp_path, clock, own_database):
    vaults = []
    for name in ("left", "right"):
        own_database()
        vaults.append(Vault.open(tmp_path / name, operator=name, clock=clock))
    errors: list[Exception] = []

    def work(vault: Vault, prefix: str) -> None:
        try:
            for i in range(20):
                vault.create(f"{prefix} {i}", "monitoring", ["read"], "development", no_expiry=True)
                assert all(k.name.startswith(prefix) for k in vault.list_keys())
        except Exception as exc:  # noqa: BLE001 — reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(v, v.operator)) for v in vaults]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert [v.count_keys() for v in vaults] == [20, 20]
    for v in vaults:
        v.close()
