"""Demo data: the spec's mock figures, built through the service, the same every time."""

import gc

import pytest

from keytui.service import analytics, demo, demotraffic
from keytui.domain import Environment, RuleError, Scope
from keytui.store.models import ActivityEvent, ApiKey, KeySecret
from keytui.service import Vault

pytestmark = pytest.mark.usefixtures("store")


@pytest.fixture
def built(vault):
    return vault, demo.build(vault.ctx)


def test_default_demo_mirrors_the_spec_figures(built):
    vault, report = built
    assert gc.isenabled()  # off during the build only (demo.no_cycle_collection)
    assert (report.keys, report.active, report.expired, report.revoked) == (24, 18, 4, 2)
    views = {k.name: k for k in vault.list_keys()}
    expected = {"Agents Execution Key": (Scope.AGENTS, "active"), "Workflow Trigger Key": (Scope.WORKFLOWS, "active"),
                "Sandbox Runner Key": (Scope.SANDBOX, "active"), "GitHub Sync Key": (Scope.INTEGRATIONS, "expired"),
                "Demo Build Key": (Scope.DEMO_BUILDS, "active")}
    for name, (scope, status) in expected.items():
        assert (views[name].scope, views[name].status.value) == (scope, status), name
        assert report.named[name] == views[name].key_id
    assert {k.scope for k in views.values()} == set(Scope)
    assert {k.environment for k in views.values()} == set(Environment)


def test_demo_activity_is_real_verification_with_failures_and_a_burst(built):
    vault, report = built
    assert report.events == ActivityEvent.select().count() > 3000
    failed = analytics.count_events(vault.ctx, status="failed")
    assert 0 < failed < report.events * 0.1
    assert analytics.count_events(vault.ctx, ip=demotraffic.BURST_IP) == demotraffic.BURST_ATTEMPTS
    assert {e.code for e in analytics.events(vault.ctx, status="failed", limit=1000)} >= {
        "WRONG_ENVIRONMENT", "IP_NOT_ALLOWED", "NOT_FOUND", "EXPIRED", "REVOKED"}
    usage = analytics.usage(vault.ctx, "30d")
    assert sum(usage.agent_calls) > 0 and usage.most_used[0].name == "Agents Execution Key"
    # every key has a real digest and ciphertext, and every creation is in an intact audit chain
    assert KeySecret.select().count() >= 24
    assert vault.verify_audit().ok
    assert len([e for e in vault.audit_entries() if e["action"] == "key.create"]) == 24


def test_demo_policies_are_the_spec_mock_config(built):
    vault, _ = built
    settings = vault.policy_settings()
    assert settings["auto_rotation"] is True and settings["expiry_alerts"] is True
    assert {settings[f"ip_locking.{env.value}"] for env in Environment} == {"optional"}


def test_demo_is_the_same_for_the_same_seed_and_clock(tmp_path, clock, monkeypatch, own_database):
    def snapshot(home):
        own_database()
        v = Vault.open(home, operator="alice", clock=type(clock)(clock.now()))
        demo.build(v.ctx, keys=40, events=3000, seed=11)
        with v.ctx.bound():
            keys = list(ApiKey.select(ApiKey.key_id, ApiKey.name, ApiKey.status, ApiKey.expires_at,
                                      ApiKey.last_used_at).order_by(ApiKey.id).tuples())
            events = list(ActivityEvent.select(ActivityEvent.ts, ActivityEvent.key_id, ActivityEvent.code,
                                               ActivityEvent.ip).order_by(ActivityEvent.id).tuples())
        v.close()
        return keys, events

    first = snapshot(tmp_path / "a")
    # the second build makes and checks its calls in a helper process, as large builds do; the
    # third and fourth hand them out a few at a time: a stretch's later segments are checked
    # against the keys as they were before the next change, though it is made meanwhile (with
    # seed 11 a key revoked this month is called 321 times before its revocation): the data is the same
    monkeypatch.setattr(demo, "PARALLEL_MIN_EVENTS", 1)
    second = snapshot(tmp_path / "b")
    monkeypatch.setattr(demotraffic, "SEGMENT", 3)
    third = snapshot(tmp_path / "c")
    monkeypatch.setattr(demo, "PARALLEL_MIN_EVENTS", 10 ** 9)
    fourth = snapshot(tmp_path / "d")
    assert first == second
    assert first == third
    assert first == fourth
    assert len(first[0]) == 40 and len(first[1]) == 3000


def test_demo_refuses_a_database_that_holds_keys(vault):
    vault.create("Real Key", "agents", ["read"], "sandbox", expires_in_days=30)
    with pytest.raises(RuleError, match="already holds 1 keys"):
        demo.build(vault.ctx)
    assert ApiKey.select().count() == 1


def test_a_build_that_fails_beside_its_helper_reports_its_own_error_at_once(vault, monkeypatch):
    """The helper may be blocked writing a large answer nobody will read: the build's error
    comes out, not a timeout waiting for the helper."""
    import time

    from keytui.service.verification import Verifier

    monkeypatch.setattr(demo, "PARALLEL_MIN_EVENTS", 1)
    recorded = []

    def failing_record(self, events):
        recorded.append(len(events))
        if len(recorded) == 2:
            raise RuleError("disk said no")

    monkeypatch.setattr(Verifier, "record", failing_record)
    started = time.monotonic()
    with pytest.raises(RuleError, match="disk said no"):
        demo.build(vault.ctx, keys=5, events=40_000)
    assert time.monotonic() - started < 30
    assert gc.isenabled()  # the build turns the cycle collector off and, failing, on again
