"""Tampering done directly in the SQLite file: `keytui audit verify` finds every kind in the audit
log, and a token's ciphertext only decrypts for its own key."""

from __future__ import annotations

import pytest

from tests.pg import raw_connection


def test_an_untouched_log_verifies(kt, history):
    result = kt("audit", "verify")
    assert result.code == 0, result
    assert "intact: 5 entries" in result.out
    assert kt("audit", "verify", "--json").json() == {"ok": True, "entries": 5, "problem": None, "seq": None,
                                                     "problems": [], "acknowledged": 0}


SWAP_2_AND_3 = ("UPDATE audit_entry SET seq = -2 WHERE seq = 2", "UPDATE audit_entry SET seq = 2 WHERE seq = 3",
                "UPDATE audit_entry SET seq = 3 WHERE seq = -2")
TAMPERING = {
    "edit details": (("UPDATE audit_entry SET details = replace(details, 'Key 1', 'Key 9') WHERE seq = 2",),
                     "entry 2 was modified"),
    "edit operator": (("UPDATE audit_entry SET operator = 'mallory' WHERE seq = 4",), "entry 4 was modified"),
    "edit time": (("UPDATE audit_entry SET ts = ts - 86400000 WHERE seq = 5",), "entry 5 was modified"),
    "edit action": (("UPDATE audit_entry SET action = 'key.update' WHERE seq = 5",), "entry 5 was modified"),
    "edit key id": (("UPDATE audit_entry SET key_id = (SELECT key_id FROM audit_entry WHERE seq = 1) WHERE seq = 5",),
                    "entry 5 was modified"),
    "insert in the middle": (("UPDATE audit_entry SET seq = seq + 100 WHERE seq >= 3",
                              "UPDATE audit_entry SET seq = seq - 99 WHERE seq >= 103",
                              "INSERT INTO audit_entry (seq, ts, operator, action, key_id, details, prev_mac, mac) "
                              "SELECT 3, ts, operator, action, key_id, details, mac, mac FROM audit_entry WHERE seq = 2"),
                             "entry 3 was modified"),
    "append a replayed entry": (("INSERT INTO audit_entry (seq, ts, operator, action, key_id, details, prev_mac, mac) "
                                 "SELECT 6, ts, operator, action, key_id, details, "
                                 "(SELECT mac FROM audit_entry WHERE seq = 5), mac FROM audit_entry WHERE seq = 1",),
                                "entry 6 was modified"),
    "delete middle": (("DELETE FROM audit_entry WHERE seq = 3",), "entry 3 is missing"),
    "delete last": (("DELETE FROM audit_entry WHERE seq = 5",), "ends at entry 4"),
    "delete last and head": (("DELETE FROM audit_entry WHERE seq = 5", "DELETE FROM meta WHERE name = 'audit_head'"),
                             "ends at entry 4"),
    "swap two": (SWAP_2_AND_3, "entry 2 does not follow"),
    "empty the log": (("DELETE FROM audit_entry", "DELETE FROM meta WHERE name = 'audit_head'"), "log is empty"),
}


@pytest.mark.parametrize("statements, problem", TAMPERING.values(), ids=TAMPERING.keys())
def test_tampering_fails_audit_verify_naming_the_problem(kt, raw_sql, history, statements, problem):
    raw_sql(*statements)
    result = kt("audit", "verify")
    assert result.code == 1, result
    assert result.err.startswith("keytui: audit log TAMPERED") and problem in result.err, result
    report = kt("audit", "verify", "--json").json()
    assert report["ok"] is False and problem in report["problem"]


def test_audit_list_filters_by_key(kt, history):
    entries = kt("audit", "list", "--key", history[0], "--json").json()
    assert [(e["action"], e["operator"], e["key_id"]) for e in entries] == [
        ("key.rotate", "alice", history[0]), ("key.create", "alice", history[0])]
    assert {"seq", "ts", "operator", "action", "key_id", "details"} == entries[0].keys()


def test_a_ciphertext_moved_to_another_key_does_not_decrypt(kt, vault, home, counts):
    """AES-GCM with the key id as associated data: swapping two keys' stored ciphertexts makes both
    copies fail, instead of handing out the other key's token."""
    first = vault.create("Key A", "agents", ["read"], "sandbox", expires_in_days=30)
    second = vault.create("Key B", "agents", ["read"], "sandbox", expires_in_days=30)
    with raw_connection(home) as conn:
        rows = conn.execute("SELECT s.id, s.ciphertext FROM key_secret s JOIN api_key k ON k.id = s.key_id "
                            "WHERE k.key_id IN (?, ?) ORDER BY k.key_id = ?",
                            (first.key.key_id, second.key.key_id, second.key.key_id)).fetchall()
        (first_row, first_blob), (second_row, second_blob) = rows
        conn.execute("UPDATE key_secret SET ciphertext = ? WHERE id = ?", (second_blob, first_row))
        conn.execute("UPDATE key_secret SET ciphertext = ? WHERE id = ?", (first_blob, second_row))
    before = counts()
    for key, other in ((first, second), (second, first)):
        refused = kt("keys", "copy", key.key.key_id)
        assert refused.code == 2 and "cannot be decrypted" in refused.err, refused
        leaked = other.token in refused.out + refused.err or key.token in refused.out + refused.err
        assert not leaked, "a token was printed"
    assert counts() == before  # a copy that failed is not audited as a copy
    assert kt("verify", "-", "--environment", "sandbox", input=first.token).code == 0  # digests still work
