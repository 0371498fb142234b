"""Analytics on small hand-built data sets where the right numbers are known."""

from datetime import timedelta

import pytest

from keytui.service import analytics
from keytui.domain import Environment, InputError, Scope, Status
from keytui.store.models import Alert


pytestmark = pytest.mark.usefixtures("store")

def make(vault, name, scope="agents", env="sandbox", perms=("read",), days=30, **kw):
    return vault.create(name, scope, list(perms), env, expires_in_days=days, **kw)


def test_overview_counts_expired_by_time_and_revoked(vault, clock):
    make(vault, "Short", days=30)
    make(vault, "Long", env="development", days=90)
    make(vault, "Prod", env="production", days=90)
    gone = make(vault, "Gone", env="staging")
    vault.revoke(gone.key.key_id)
    clock.advance(days=31)  # "Short" expired by time; no watch has marked it

    ov = analytics.overview(vault.ctx)

    assert (ov.total, ov.active, ov.expired, ov.revoked) == (4, 2, 1, 1)
    assert ov.by_environment == {Environment.DEVELOPMENT: 1, Environment.SANDBOX: 1, Environment.STAGING: 1,
                                 Environment.PRODUCTION: 1}
    assert ov.by_environment_status[Environment.SANDBOX][Status.EXPIRED] == 1
    assert ov.by_environment_status[Environment.STAGING][Status.REVOKED] == 1
    assert ov.open_alerts == 0


def test_overview_counts_only_unacknowledged_alerts(vault):
    now = vault.now()
    Alert.create(created_at=now, kind="burst", severity="high", message="m", dedupe_key="a")
    Alert.create(created_at=now, kind="burst", severity="high", message="m", dedupe_key="b", acknowledged_at=now)
    assert analytics.overview(vault.ctx).open_alerts == 1


def test_usage_buckets_hourly_counts_failures_and_agent_calls(vault, clock):
    busy = make(vault, "Busy")
    quiet = make(vault, "Quiet", scope="workflows")
    vault.verify(busy.token, "sandbox", module="agents")
    clock.advance(hours=2)
    for _ in range(3):
        vault.verify(busy.token, "sandbox", module="agents")
    vault.verify(quiet.token, "sandbox", module="workflows")
    vault.verify(busy.token, "production", module="ci")  # wrong environment: a failure
    vault.verify("kt_sbx_" + "A" * 33 + "_AAAAAA", "sandbox")  # malformed: failure, no key

    u = analytics.usage(vault.ctx, "24h")

    assert len(u.buckets) == 24 and u.buckets[-1] <= vault.now() < u.buckets[-1] + timedelta(hours=1)
    assert (u.ok[-1], u.failed[-1], u.agent_calls[-1]) == (4, 2, 3)
    assert (u.ok[-3], u.agent_calls[-3]) == (1, 1)
    assert (u.total_ok, u.total_failed) == (5, 2)
    assert [(k.name, k.ok, k.failed) for k in u.executions_per_key] == [("Busy", 4, 1), ("Quiet", 1, 0)]
    assert [k.name for k in u.most_used] == ["Busy", "Quiet"]


def test_usage_rankings_keep_the_top_break_ties_by_key_id_and_leave_keys_without_a_success_out_of_most_used(
        vault, clock):
    """The two top-N lists are ranked in SQL: by calls (successes and failures), then by successes
    alone, ties by key id, at most `top` each, a key with no success never among the most used."""
    calls = {"A": (3, 0), "B": (1, 2), "C": (2, 1), "D": (0, 3), "E": (2, 0), "F": (0, 1)}
    keys = {name: make(vault, name) for name in calls}
    for name, (good, bad) in calls.items():
        for _ in range(good):
            vault.verify(keys[name].token, "sandbox", module="agents")
        for _ in range(bad):
            vault.verify(keys[name].token, "production", module="agents")  # wrong environment
    u = analytics.usage(vault.ctx, "24h", top=4)

    by_id = {keys[n].key.key_id: n for n in calls}
    tied = sorted(["A", "B", "C", "D"], key=lambda n: keys[n].key.key_id)  # three calls each
    assert [k.name for k in u.executions_per_key] == tied
    assert [(k.ok, k.failed) for k in u.executions_per_key] == [calls[n] for n in tied]
    two = sorted(["C", "E"], key=lambda n: keys[n].key.key_id)  # two successes each
    assert [k.name for k in u.most_used] == ["A", *two, "B"]
    assert all(by_id[k.key_id] == k.name for k in u.most_used + u.executions_per_key)
    assert [k.name for k in analytics.usage(vault.ctx, "24h", top=10).most_used] == ["A", *two, "B"]


def test_usage_windows_and_bad_window(vault, clock):
    key = make(vault, "K", days=90)
    vault.verify(key.token, "sandbox")
    clock.advance(days=3)
    vault.verify(key.token, "sandbox")
    assert sum(analytics.usage(vault.ctx, "24h").ok) == 1
    week = analytics.usage(vault.ctx, "7d")
    assert (len(week.buckets), week.bucket_seconds, sum(week.ok)) == (28, 6 * 3600, 2)
    month = analytics.usage(vault.ctx, "30d")
    assert (len(month.buckets), sum(month.ok)) == (30, 2)
    with pytest.raises(InputError, match="window"):
        analytics.usage(vault.ctx, "1y")


def test_events_filters_newest_first_and_live_tail(vault, clock):
    a = make(vault, "A")
    b = make(vault, "B")
    vault.verify(a.token, "sandbox", ip="10.0.0.1", module="agents")
    clock.advance(minutes=1)
    vault.verify(b.token, "production", ip="10.0.0.2", module="ci")
    clock.advance(minutes=1)
    vault.verify(a.token, "sandbox", ip="10.0.0.2", module="agents")

    page = analytics.events(vault.ctx)
    assert [(e.key_name, e.status) for e in page] == [("A", "success"), ("B", "failed"), ("A", "success")]
    assert page[1].code == "WRONG_ENVIRONMENT" and page[1].environment == "production"
    assert [e.key_name for e in analytics.events(vault.ctx, key_id=a.key.key_id)] == ["A", "A"]
    assert [e.key_name for e in analytics.events(vault.ctx, status="failed")] == ["B"]
    assert [e.ip for e in analytics.events(vault.ctx, ip="10.0.0.2")] == ["10.0.0.2", "10.0.0.2"]
    assert [e.module for e in analytics.events(vault.ctx, module="ci")] == ["ci"]
    assert len(analytics.events(vault.ctx, since=vault.now() - timedelta(seconds=90))) == 2
    assert len(analytics.events(vault.ctx, until=vault.now() - timedelta(seconds=90))) == 1

    first = page[-1].id
    assert [e.id for e in analytics.events(vault.ctx, after_id=first)] == [first + 1, first + 2]
    assert [e.id for e in analytics.events(vault.ctx, before_id=page[0].id, limit=1)] == [page[1].id]
    assert analytics.latest_event_id(vault.ctx) == page[0].id
    assert analytics.count_events(vault.ctx) == 3 and analytics.count_events(vault.ctx, status="success") == 2
    assert [e.key_id for e in analytics.key_activity(vault.ctx, b.key.key_id)] == [b.key.key_id]


@pytest.mark.parametrize("bad", [{"status": "ok"}, {"ip": "nope"}, {"module": "Bad Module!"}, {"since": "yesterday"}])
def test_events_refuse_bad_filters(vault, bad):
    with pytest.raises(InputError):
        analytics.events(vault.ctx, **bad)


def test_scope_summaries_last_execution_and_risk(vault, clock, mfa_code):
    prod = vault.create("Prod Exec", "agents", ["execute"], "production", expires_in_days=30, totp=mfa_code())
    locked = vault.create("Prod Locked", "workflows", ["execute"], "production", expires_in_days=30,
                          ip_allowlist=["10.0.0.0/8"], totp=mfa_code())
    make(vault, "Quiet", scope="monitoring")
    vault.verify(prod.token, "production", module="agents")
    success_at = vault.now()
    clock.advance(minutes=5)
    vault.verify(prod.token, "staging")  # a later failure is not an execution

    by_scope = {s.scope: s for s in analytics.scope_summaries(vault.ctx)}

    assert list(by_scope) == list(Scope)
    agents = by_scope[Scope.AGENTS]
    assert (agents.keys, agents.active, agents.last_execution) == (1, 1, success_at)
    assert agents.risk == "high" and any("without IP restriction" in r for r in agents.reasons)
    assert by_scope[Scope.WORKFLOWS].risk == "medium" and locked.key.scope is Scope.WORKFLOWS
    assert by_scope[Scope.MONITORING].risk == "low" and by_scope[Scope.MONITORING].last_execution is None
    assert by_scope[Scope.GOVERNANCE].keys == 0


def test_failure_rate_raises_scope_risk(vault):
    key = make(vault, "Flaky", scope="sandbox")
    for _ in range(15):
        vault.verify(key.token, "sandbox")
    for _ in range(5):
        vault.verify(key.token, "production")
    sandbox = next(s for s in analytics.scope_summaries(vault.ctx) if s.scope is Scope.SANDBOX)
    assert sandbox.risk == "high" and sandbox.reasons == ["25% failed verifications in 24 h"]


def test_30_day_usage_is_the_same_after_the_watch_folds_finished_days(vault, clock):
    from keytui.service import rollup, watch

    busy = make(vault, "Busy", days=90)
    quiet = make(vault, "Quiet", days=90)
    for day in range(12):
        for _ in range(day % 3 + 1):
            vault.verify(busy.token, "sandbox", module="agents")
        vault.verify(quiet.token, "production", module="ci")
        clock.advance(days=1, minutes=7)
    before = analytics.usage(vault.ctx, "30d")
    assert watch.run_pass(vault.ctx).days_folded == 12
    assert rollup.folded_until(vault.ctx) is not None
    vault.verify(busy.token, "sandbox", module="agents")  # today's calls still come from the hourly counters
    after = analytics.usage(vault.ctx, "30d")
    assert after.ok[:-1] == before.ok[:-1] and after.ok[-1] == before.ok[-1] + 1
    assert (after.failed, after.agent_calls[:-1]) == (before.failed, before.agent_calls[:-1])
    assert [(k.name, k.ok, k.failed) for k in after.executions_per_key] == [("Busy", 25, 0), ("Quiet", 0, 12)]
    assert watch.run_pass(vault.ctx).days_folded == 0
