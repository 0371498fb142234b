"""Canary keys: to a caller a canary's token answers exactly like an unknown one; to operators
its every use is in the activity log as CANARY, and the watch raises one high alert per burst
with the callers' addresses and modules."""

import sqlite3
from contextlib import closing

import pytest

from keytui import tokens
from keytui.domain import Environment, VerifyCode
from keytui.service import alerts, watch


def canary_alerts(vault):
    return [a for a in alerts.list_alerts(vault.ctx, include_acknowledged=True) if a.kind == "canary-used"]


def test_a_canary_answers_like_an_unknown_token_whatever_is_asked(vault, make, mfa_code):
    bait = make("Deploy Bot Key", env="production", perms=("read", "execute"), canary=True, totp=mfa_code())
    unknown = tokens.generate(Environment.PRODUCTION)
    for ask in ({}, {"permission": "execute", "scope": "agents"}, {"ip": "203.0.113.9", "module": "ci"}):
        got, expected = vault.verify(bait.token, "production", **ask), vault.verify(unknown, "production", **ask)
        assert got == expected and got.as_dict() == expected.as_dict()
        assert got.code is VerifyCode.NOT_FOUND and got.key_id is None
    wrong_env = vault.verify(bait.token, "sandbox")
    assert wrong_env.code is VerifyCode.NOT_FOUND and wrong_env.key_id is None
    assert "canary" not in repr(got)


def test_operators_see_canary_uses_in_the_log_and_the_registry(vault, make):
    bait = make("Deploy Bot Key", canary=True)
    vault.verify(bait.token, "sandbox", ip="203.0.113.9", module="ci")
    [event] = vault.events()
    assert (event.code, event.key_id, event.ip, event.module) == ("CANARY", bait.key.key_id, "203.0.113.9", "ci")
    assert vault.get(bait.key.key_id).canary and vault.get(bait.key.key_id).as_dict()["canary"] is True
    created = [e for e in vault.audit_entries(bait.key.key_id) if e["action"] == "key.create"]
    assert created[0]["details"]["canary"] is True


def test_one_high_alert_per_burst_naming_addresses_and_modules(vault, clock, make):
    bait = make("Deploy Bot Key", canary=True)
    make("Ordinary Key")
    for ip, module in (("203.0.113.9", "ci"), ("203.0.113.9", "ci"), ("198.51.100.4", "agents")):
        vault.verify(bait.token, "sandbox", ip=ip, module=module)
        clock.advance(seconds=20)
    report = watch.run_pass(vault.ctx)
    [alert] = canary_alerts(vault)
    assert report.alerts == [alert.id] and alert.severity == "high" and alert.key_id == bait.key.key_id
    assert "3 time(s)" in alert.message and "203.0.113.9 (2×)" in alert.message and "198.51.100.4" in alert.message
    assert "ci (2×)" in alert.message and "agents" in alert.message and alert.ip == "203.0.113.9"
    assert len(alert.evidence) == 3
    # the same burst goes on into the next pass: still one alert, even once acknowledged
    vault.acknowledge_alert(alert.id)
    clock.advance(minutes=2)
    vault.verify(bait.token, "sandbox", ip="203.0.113.9", module="ci")
    assert watch.run_pass(vault.ctx).alerts == [] and len(canary_alerts(vault)) == 1
    # a quiet spell longer than the window ends the burst; the next use is a new one
    clock.advance(minutes=30)
    vault.verify(bait.token, "sandbox", ip="192.0.2.1", module="monitoring")
    assert len(watch.run_pass(vault.ctx).alerts) == 1
    assert [a.ip for a in canary_alerts(vault)] == ["192.0.2.1", "203.0.113.9"]


def test_canary_uses_are_not_also_reported_as_a_failure_burst(vault, make):
    bait = make("Deploy Bot Key", canary=True)
    for _ in range(8):
        vault.verify(bait.token, "sandbox", ip="203.0.113.9")
    watch.run_pass(vault.ctx)
    assert [a.kind for a in alerts.list_alerts(vault.ctx)] == ["canary-used"]


def test_a_canary_alerts_with_usage_monitoring_and_detection_off(vault, make):
    vault.set_policy("usage_monitoring", "off")
    vault.set_policy("suspicious_detection", "off")
    bait = make("Deploy Bot Key", canary=True)
    plain = make("Ordinary Key")
    vault.verify(plain.token, "sandbox")
    vault.verify(bait.token, "sandbox", ip="203.0.113.9")
    assert [e.code for e in vault.events()] == ["CANARY"]  # ordinary calls leave no event, a canary's does
    watch.run_pass(vault.ctx)
    assert len(canary_alerts(vault)) == 1


def test_the_watch_neither_rotates_nor_expiry_alerts_a_canary(vault, clock, make):
    bait = make("Deploy Bot Key", canary=True, days=30)
    clock.advance(days=25)
    report = watch.run_pass(vault.ctx)
    assert report.rotated == [] and report.alerts == [] and len(vault.secrets(bait.key.key_id)) == 1


@pytest.mark.sqlite_only
@pytest.mark.parametrize("was_canary", [True, False])
def test_flipping_the_canary_flag_behind_keytuis_back_is_tampering(vault, make, home, was_canary):
    """The flag is sealed with the key: clearing it must not turn the bait into a working key,
    and setting it must not silence a real one without a trace."""
    key = make("Flip Key", canary=was_canary)
    with closing(sqlite3.connect(home / "keytui.db")) as con, con:
        con.execute("UPDATE api_key SET canary = ? WHERE key_id = ?", (int(not was_canary), key.key.key_id))
    result = vault.verify(key.token, "sandbox")
    assert (result.valid, result.code, result.key_id) == (False, VerifyCode.NOT_FOUND, None)
    assert [e.code for e in vault.events()] == ["TAMPERED"]
    assert not vault.verify_audit().ok
