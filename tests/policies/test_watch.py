"""The watch pass: expiry, auto-rotation, expiry alerts and each suspicious-activity alert,
with a clock the test controls; idempotent, also with two processes at once."""

import json
import subprocess
import sys
import textwrap

from keytui.service import alerts, watch
from keytui.domain import Status, VerifyCode
from tests.support import read_line


def kinds(vault):
    return sorted(a.kind for a in alerts.list_alerts(vault.ctx, include_acknowledged=True))


def test_expired_keys_are_marked_by_system_and_alerted_once(vault, clock, make):
    key = make("Short", env="production", days=30)
    clock.advance(days=30, minutes=1)
    report = watch.run_pass(vault.ctx)
    assert report.expired == [key.key.key_id]
    assert vault.get(key.key.key_id).stored_status is Status.EXPIRED
    expire = [e for e in vault.audit_entries(key.key.key_id) if e["action"] == "key.expire"]
    assert [e["operator"] for e in expire] == ["system"]
    assert [(a.kind, a.severity) for a in alerts.list_alerts(vault.ctx)] == [("expired", "high")]
    assert watch.run_pass(vault.ctx).expired == [] and kinds(vault) == ["expired"]


def test_auto_rotation_inside_the_window_happens_once(vault, clock, make):
    key = make("Rotating", days=30)
    vault.set_policy("expiry_alerts", "off")
    clock.advance(days=22)  # 8 days left: outside the 7-day window
    assert watch.run_pass(vault.ctx).rotated == []
    clock.advance(days=2)  # 6 days left
    report = watch.run_pass(vault.ctx)
    assert report.rotated == [key.key.key_id]
    assert watch.run_pass(vault.ctx).rotated == []
    assert (vault.get(key.key.key_id).expires_at - vault.now()).days == 30  # renewed by its policy
    rotations = [e for e in vault.audit_entries(key.key.key_id) if e["action"] == "key.rotate"]
    assert [(e["operator"], e["details"]["origin"]) for e in rotations] == [("system", "auto-rotate")]
    assert vault.verify(key.token, "sandbox").valid  # old token inside its grace period
    new_token = vault.copy_token(key.key.key_id)  # kept encrypted for an audited copy
    assert new_token != key.token and vault.verify(new_token, "sandbox").valid
    assert kinds(vault) == ["auto-rotated"]


def test_auto_rotation_off_leaves_keys_and_expiry_alert_warns(vault, clock, make):
    key = make("Manual", days=30)
    vault.set_policy("auto_rotation", "off")
    clock.advance(days=25)
    report = watch.run_pass(vault.ctx)
    assert report.rotated == [] and len(vault.secrets(key.key.key_id)) == 1
    assert [(a.kind, a.key_id) for a in alerts.list_alerts(vault.ctx)] == [("expiring", key.key.key_id)]


def test_refused_auto_rotation_raises_an_alert(vault, clock, make):
    key = make("Unlocked", env="production", days=30)
    vault.set_policy("ip_locking.production", "required")
    vault.set_policy("expiry_alerts", "off")
    clock.advance(days=25)
    report = watch.run_pass(vault.ctx)
    assert list(report.rotation_failed) == [key.key.key_id]
    assert [(a.kind, a.severity) for a in alerts.list_alerts(vault.ctx)] == [("rotation-failed", "high")]
    assert watch.run_pass(vault.ctx).alerts == []


def test_failure_burst_for_one_key_and_one_ip(vault, clock, make):
    key = make("Target", ip_allowlist=["10.0.0.0/8"])
    watch.run_pass(vault.ctx)
    for _ in range(5):
        clock.advance(seconds=30)
        vault.verify(key.token, "sandbox", ip="203.0.113.9")
    report = watch.run_pass(vault.ctx)
    found = {a.kind: a for a in alerts.list_alerts(vault.ctx)}
    assert set(found) == {"failure-burst-key", "failure-burst-ip", "ip-not-allowed"}
    assert found["failure-burst-key"].key_id == key.key.key_id and len(found["failure-burst-key"].evidence) == 5
    assert found["failure-burst-ip"].ip == "203.0.113.9" and found["ip-not-allowed"].severity == "high"
    assert report.events_scanned == 5


def test_a_burst_straddling_two_passes_is_reported_once(vault, clock, make):
    key = make("Target")
    watch.run_pass(vault.ctx)
    for i in range(7):
        clock.advance(seconds=20)
        vault.verify(key.token, "production", ip="203.0.113.9")
        if i == 3:
            watch.run_pass(vault.ctx)
    watch.run_pass(vault.ctx)
    bursts = [a for a in alerts.list_alerts(vault.ctx) if a.kind == "failure-burst-key"]
    assert len(bursts) == 1


def test_a_long_burst_keeps_its_newest_evidence_and_is_not_reported_again(vault, clock, make):
    key = make("Target")
    for i in range(70):
        clock.advance(seconds=2)
        vault.verify(key.token, "production")
        if i == 60:
            watch.run_pass(vault.ctx)
    watch.run_pass(vault.ctx)
    [burst] = [a for a in alerts.list_alerts(vault.ctx) if a.kind == "failure-burst-key"]
    assert len(burst.evidence) == alerts.EVIDENCE_MAX and burst.evidence[-1] - burst.evidence[0] == 49


def test_slow_failures_are_not_a_burst(vault, clock, make):
    key = make("Target")
    for _ in range(5):
        clock.advance(minutes=2)  # 5 failures over 8 minutes: outside the 5-minute window
        vault.verify(key.token, "production")
    watch.run_pass(vault.ctx)
    assert "failure-burst-key" not in kinds(vault)


def test_unknown_tokens_from_one_ip_are_a_burst(vault, clock):
    for i in range(6):
        clock.advance(seconds=5)
        vault.verify("kt_sbx_" + "0" * 33 + f"_00000{i}", "sandbox", ip="198.51.100.4")
    watch.run_pass(vault.ctx)
    assert kinds(vault) == ["failure-burst-ip"]


def test_revoked_expired_and_cross_environment_use(vault, clock, make):
    revoked = make("Revoked")
    expired = make("Expired", days=30)
    prod = make("Prod", env="production", days=90)
    vault.revoke(revoked.key.key_id)
    watch.run_pass(vault.ctx)
    assert vault.verify(revoked.token, "sandbox").code is VerifyCode.REVOKED
    assert vault.verify(prod.token, "staging").code is VerifyCode.WRONG_ENVIRONMENT
    clock.advance(days=31)
    vault.set_policy("expiry_alerts", "off")
    assert vault.verify(expired.token, "sandbox").code is VerifyCode.EXPIRED
    watch.run_pass(vault.ctx)
    found = {a.kind: a for a in alerts.list_alerts(vault.ctx)}
    assert {k: (found[k].key_id, found[k].severity) for k in found} == {
        "revoked-key-used": (revoked.key.key_id, "high"), "expired-key-used": (expired.key.key_id, "medium"),
        "wrong-environment": (prod.key.key_id, "high")}
    assert all(len(a.evidence) == 1 for a in found.values())


def test_detection_off_raises_nothing_and_skips_the_events(vault, make):
    key = make("K")
    vault.set_policy("suspicious_detection", "off")
    for _ in range(6):
        vault.verify(key.token, "production")
    watch.run_pass(vault.ctx)
    vault.set_policy("suspicious_detection", "on")
    watch.run_pass(vault.ctx)
    assert kinds(vault) == []


def test_acknowledge_is_audited_and_hides_the_alert(vault, make):
    key = make("K")
    vault.revoke(key.key.key_id)
    vault.verify(key.token, "sandbox")
    [alert] = [alerts.get(vault.ctx, i) for i in watch.run_pass(vault.ctx).alerts]
    acked = alerts.acknowledge(vault.ctx, alert.id)
    assert acked.acknowledged_by == "alice" and alerts.list_alerts(vault.ctx) == []
    assert [a.id for a in alerts.list_alerts(vault.ctx, include_acknowledged=True)] == [alert.id]
    assert any(e["action"] == "alert.acknowledge" for e in vault.audit_entries())
    alerts.acknowledge(vault.ctx, alert.id)
    assert len([e for e in vault.audit_entries() if e["action"] == "alert.acknowledge"]) == 1


PASS_SCRIPT = textwrap.dedent("""
    import json, sys
    from datetime import datetime
    from keytui.clock import FixedClock
    from keytui.service import Vault
    from keytui.service import watch
    vault = Vault.open(sys.argv[1], operator="alice", clock=FixedClock(datetime.fromisoformat(sys.argv[2])))
    print("ready", flush=True)
    sys.stdin.readline()
    print(json.dumps(watch.run_pass(vault.ctx).as_dict()))
""")


def test_two_processes_running_passes_at_once_rotate_and_alert_once(vault, clock, home, make):
    keys = [make(f"K{i}", days=30) for i in range(20)]
    for key in keys[:10]:
        vault.revoke(key.key.key_id)
    clock.advance(days=25)
    for key in keys[:10]:
        vault.verify(key.token, "sandbox")
    procs = [subprocess.Popen([sys.executable, "-c", PASS_SCRIPT, str(home), clock.now().isoformat()],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) for _ in range(2)]
    for p in procs:
        assert read_line(p.stdout, 60, "a pass process to start").strip() == "ready"
    for p in procs:
        p.stdin.write("go\n")
        p.stdin.flush()
    reports = [json.loads(p.communicate(timeout=60)[0]) for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert sorted(len(r["rotated"]) for r in reports) == [0, 10]
    rotations = [e for e in vault.audit_entries() if e["action"] == "key.rotate"]
    assert len(rotations) == 10
    all_alerts = alerts.list_alerts(vault.ctx, include_acknowledged=True)
    assert len(all_alerts) == len({(a.kind, a.key_id, a.ip) for a in all_alerts}) == 20
