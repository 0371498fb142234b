"""`keytui audit verify` finds every kind of tampering done directly in the SQLite file."""

from __future__ import annotations

import pytest


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
