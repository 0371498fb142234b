"""What a leaked token is (live, dead, canary, unknown) and the response to it: revoke with the
reason "leaked: <where>", or alert only, as the leak_response policy says; production needs MFA."""

import pytest

from keytui import tokens
from keytui.domain import Environment, Status
from keytui.service import alerts, leaks
from keytui.service.leaks import Candidate
from keytui.service.mfa import MfaRequired


def states(findings):
    return {f.name or f.hint: f.state for f in findings}


def test_each_token_is_judged_by_its_digest(vault, clock, make):
    live = make("Live Key")
    revoked = make("Revoked Key")
    vault.revoke(revoked.key.key_id)
    rotated = make("Rotated Key")
    vault.rotate(rotated.key.key_id, grace_hours=0)
    bait = make("Bait Key", canary=True)
    stranger = tokens.generate(Environment.SANDBOX)
    typo = live.token[:-1] + ("x" if live.token[-1] != "x" else "y")
    found = vault.scan_report([Candidate(live.token, "a.py:3"), Candidate(live.token, "b.log:9"),
                               Candidate(revoked.token, "c:1"), Candidate(rotated.token, "d:1"),
                               Candidate(bait.token, "e:1"), Candidate(stranger, "f:1"), Candidate(typo, "g:1")])
    by_name = {f.name: f for f in found if f.name}
    assert by_name["Live Key"].state == "live" and by_name["Live Key"].locations == ("a.py:3", "b.log:9")
    assert (by_name["Revoked Key"].state, by_name["Revoked Key"].why_dead) == ("dead", "revoked")
    assert (by_name["Rotated Key"].state, by_name["Rotated Key"].why_dead) == ("dead", "ended by rotation")
    assert by_name["Bait Key"].state == "canary"
    assert sorted(f.state for f in found if not f.name) == ["malformed", "unknown"]
    assert all(f.action is None for f in found)
    clock.advance(days=31)
    assert vault.scan_report([Candidate(live.token, "a.py:3")])[0].why_dead == "expired"
    text = repr(found) + str([f.as_dict() for f in found])
    assert not any(t in text for t in (live.token, revoked.token, stranger, typo))


def test_respond_revokes_live_keys_with_the_place_and_alerts(vault, make):
    live = make("Live Key")
    rotated = make("Rotated Key")
    new = vault.rotate(rotated.key.key_id)  # old and new token both live, both leaked: one revocation
    [a, b, c] = vault.respond_to_leaks([Candidate(live.token, "config/.env:4"), Candidate(rotated.token, "x:1"),
                                        Candidate(new.token, "x:2")])
    assert (a.state, a.action) == ("live", "revoked") and (b.action, c.action) == ("revoked", "revoked")
    key = vault.get(live.key.key_id)
    assert key.status is Status.REVOKED and key.revoke_reason == "leaked: config/.env:4"
    assert vault.get(rotated.key.key_id).revoke_reason == "leaked: x:1"
    leaked = [al for al in alerts.list_alerts(vault.ctx) if al.kind == "key-leaked"]
    assert len(leaked) == 3 and all(al.severity == "high" for al in leaked)
    assert any("config/.env:4" in al.message and live.key.hint in al.message for al in leaked)
    revokes = [e for e in vault.audit_entries(live.key.key_id) if e["action"] == "key.revoke"]
    assert revokes[0]["details"]["reason"] == "leaked: config/.env:4"
    assert vault.verify_audit().ok
    # a second run finds them dead and does nothing more
    again = vault.respond_to_leaks([Candidate(live.token, "config/.env:4")])
    assert (again[0].state, again[0].action) == ("dead", None)


def test_alert_only_policy_leaves_the_key_working(vault, make):
    vault.set_policy("leak_response", "alert")
    live = make("Live Key")
    [finding] = vault.respond_to_leaks([Candidate(live.token, "pastebin")])
    assert finding.action == "alerted" and vault.verify(live.token, "sandbox").valid
    [alert] = alerts.list_alerts(vault.ctx)
    assert alert.kind == "key-leaked" and "alert only" in alert.message
    vault.respond_to_leaks([Candidate(live.token, "pastebin")])
    assert len(alerts.list_alerts(vault.ctx)) == 1  # the same token leaked again: the open alert stands


def test_revoking_a_production_key_needs_mfa_and_changes_nothing_without(vault, make, mfa_code):
    prod = make("Prod Key", env="production")
    before = len(vault.audit_entries())
    with pytest.raises(MfaRequired):
        vault.respond_to_leaks([Candidate(prod.token, "ci.log:1")])
    assert vault.verify(prod.token, "production").valid and len(vault.audit_entries()) == before
    [finding] = vault.respond_to_leaks([Candidate(prod.token, "ci.log:1")], totp=mfa_code())
    assert finding.action == "revoked" and not vault.verify(prod.token, "production").valid


def test_a_location_is_data(vault, make):
    live = make("Live Key")
    vault.respond_to_leaks([Candidate(live.token, "evil\x1b[2J\nname" + "x" * 1000)])
    reason = vault.get(live.key.key_id).revoke_reason
    assert reason.startswith("leaked: evil␛[2J␊name") and reason.isprintable() and len(reason) < 320


def test_a_signed_report_is_handled_once(vault, make):
    live = make("Live Key")
    stranger = tokens.generate(Environment.SANDBOX)
    report = [{"token": live.token, "type": "keytui_token", "url": "https://github.com/o/r/blob/1/a.py",
               "source": "content"}, {"token": stranger, "type": "keytui_token", "url": "https://gist", "source": "gist"}]
    labels = leaks.handle_signed_report(vault.ctx.as_operator("leak-report"), report, "d" * 64)
    assert [x["label"] for x in labels] == ["true_positive", "false_positive"]
    assert labels[0]["token_hash"] == leaks.token_hash(live.token) and labels[0]["token_type"] == "keytui_token"
    assert vault.get(live.key.key_id).revoke_reason == "leaked: https://github.com/o/r/blob/1/a.py"
    assert [e["operator"] for e in vault.audit_entries(live.key.key_id)][:2] == ["leak-report", "leak-report"]
    with pytest.raises(leaks.ReplayedReport):
        leaks.handle_signed_report(vault.ctx.as_operator("leak-report"), report, "d" * 64)
