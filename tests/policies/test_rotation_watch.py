"""A rotation you can watch: which callers still present the old token and which use the new
one, ending the grace period early once the old token is quiet, and an alert when the grace
period is about to end while the old token is still presented."""

from datetime import timedelta

import pytest

from keytui.domain import RuleError, VerifyCode
from keytui.service import alerts, watch


@pytest.fixture
def rotating(vault, make, clock):
    key = make("Workflow Trigger Key", scope="workflows")
    clock.advance(hours=1)
    vault.verify(key.token, "sandbox", ip="10.0.0.5", module="workflows")  # before the rotation: not counted
    clock.advance(minutes=5)
    new = vault.rotate(key.key.key_id, grace_hours=4)
    return key, new


def test_old_and_new_token_traffic_from_two_addresses(vault, clock, rotating):
    old, new = rotating
    rotated_at = vault.now()
    assert vault.rotation_traffic(old.key.key_id).old_callers == ()
    for _ in range(3):
        clock.advance(minutes=1)
        vault.verify(old.token, "sandbox", ip="10.0.0.5", module="workflows")
    vault.verify(new.token, "sandbox", ip="10.0.0.9", module="agents")
    vault.verify(new.token, "sandbox", ip="10.0.0.9", module="agents", permission="admin")  # refused, still the new one
    seen = vault.rotation_traffic(old.key.key_id)
    assert [(c.ip, c.module, c.calls, c.failed) for c in seen.old_callers] == [("10.0.0.5", "workflows", 3, 0)]
    assert [(c.ip, c.module, c.calls, c.failed) for c in seen.new_callers] == [("10.0.0.9", "agents", 2, 1)]
    assert seen.old_hints == (old.key.hint,) and seen.new_hint == new.key.hint
    assert seen.rotated_at == rotated_at and seen.grace_ends == rotated_at + timedelta(hours=4) and not seen.quiet
    assert seen.as_dict()["old_callers"][0]["ip"] == "10.0.0.5"


def test_no_traffic_view_outside_a_grace_period(vault, make, clock, rotating):
    old, _ = rotating
    assert vault.rotation_traffic(make("Never Rotated").key.key_id) is None
    clock.advance(hours=5)
    assert vault.rotation_traffic(old.key.key_id) is None


def test_ending_the_grace_period_waits_for_the_old_token_to_go_quiet(vault, clock, rotating):
    old, new = rotating
    vault.verify(old.token, "sandbox", ip="10.0.0.5", module="workflows")
    with pytest.raises(RuleError, match="10.0.0.5"):
        vault.end_grace(old.key.key_id)
    assert vault.verify(old.token, "sandbox").valid
    clock.advance(minutes=61)
    assert vault.rotation_traffic(old.key.key_id).quiet
    vault.end_grace(old.key.key_id)
    assert vault.verify(old.token, "sandbox").code is VerifyCode.EXPIRED and vault.verify(new.token, "sandbox").valid
    [entry] = [e for e in vault.audit_entries(old.key.key_id) if e["action"] == "key.end_grace"]
    assert entry["details"]["hints"] == [old.key.hint] and entry["details"]["forced"] is False
    with pytest.raises(RuleError, match="no rotation grace period"):
        vault.end_grace(old.key.key_id)


def test_forcing_the_end_is_audited_as_forced(vault, rotating):
    old, _ = rotating
    vault.verify(old.token, "sandbox", ip="10.0.0.5")
    vault.end_grace(old.key.key_id, force=True)
    assert [e["details"]["forced"] for e in vault.audit_entries(old.key.key_id)
            if e["action"] == "key.end_grace"] == [True]


def test_an_alert_when_the_grace_ends_soon_and_the_old_token_is_still_used(vault, clock, rotating):
    old, _ = rotating
    clock.advance(hours=1)
    vault.verify(old.token, "sandbox", ip="10.0.0.5", module="workflows")
    assert watch.run_pass(vault.ctx).alerts == []  # 3 h left: not yet
    clock.advance(hours=1, minutes=30)
    vault.verify(old.token, "sandbox", ip="10.0.0.5", module="workflows")
    watch.run_pass(vault.ctx)
    [alert] = [a for a in alerts.list_alerts(vault.ctx) if a.kind == "grace-ending"]
    assert alert.ip == "10.0.0.5" and "10.0.0.5 (workflows)" in alert.message and alert.severity == "medium"
    watch.run_pass(vault.ctx)
    assert len([a for a in alerts.list_alerts(vault.ctx, include_acknowledged=True) if a.kind == "grace-ending"]) == 1


def test_no_grace_alert_when_the_old_token_is_quiet(vault, clock, rotating):
    old, new = rotating
    clock.advance(hours=2, minutes=30)
    vault.verify(new.token, "sandbox", ip="10.0.0.9")
    watch.run_pass(vault.ctx)
    assert [a.kind for a in alerts.list_alerts(vault.ctx)] == []
