"""`keytui keys show` during a rotation's grace period: the callers still on the old token and
those on the new one, from two addresses; `keytui keys end-grace` once the old one is quiet."""

from __future__ import annotations


def test_keys_show_tells_old_token_callers_from_new_ones(kt, clock):
    made = kt("keys", "create", "--name", "Workflow Trigger Key", "--scope", "workflows", "--permission", "read",
              "--environment", "staging", "--expires-in", "30", "--json").json()
    key_id, old = made["key"]["key_id"], made["token"]
    clock.advance(minutes=1)
    new = kt("keys", "rotate", key_id, "--grace-hours", "6", "--json").json()["token"]
    clock.advance(minutes=1)
    assert kt("verify", old, "--environment", "staging", "--ip", "10.1.0.7", "--module", "workflows").code == 0
    assert kt("verify", new, "--environment", "staging", "--ip", "10.2.0.9", "--module", "agents").code == 0

    shown = kt("keys", "show", key_id)
    assert old not in shown.out and new not in shown.out
    text = shown.out.split("Rotation in progress", 1)[1].split("History:", 1)[0]
    on_old, on_new = text.split("On the new token", 1)
    assert "10.1.0.7" in on_old and "workflows" in on_old and "10.2.0.9" not in on_old
    assert "10.2.0.9" in on_new and "agents" in on_new and "10.1.0.7" not in on_new
    rotation = kt("keys", "show", key_id, "--json").json()["rotation"]
    assert [c["ip"] for c in rotation["old_callers"]] == ["10.1.0.7"]
    assert [c["ip"] for c in rotation["new_callers"]] == ["10.2.0.9"] and rotation["quiet"] is False

    refused = kt("keys", "end-grace", key_id)
    assert refused.code == 2 and "10.1.0.7" in refused.err
    clock.advance(hours=1, minutes=1)
    assert "gone quiet" in kt("keys", "show", key_id).out
    assert kt("keys", "end-grace", key_id).code == 0
    assert kt("verify", old, "--environment", "staging").code == 1
    assert kt("keys", "show", key_id, "--json").json()["rotation"] is None
