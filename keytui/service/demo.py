"""Demo and benchmark data, built through the service API like real data.

Keys are issued by `lifecycle.create_many` (real tokens, digests, ciphertexts, audit entries,
the same validation and MFA rule: the demo operator enrols and confirms a TOTP code), revoked by
`lifecycle.revoke_many`, and 30 days of traffic goes through the verification path itself
(`Verifier.check_many`, each call at its moment, and `Verifier.record` in batches), so the activity log,
the hourly counters and the keys' last-used times are what real use would leave. A final watch
pass marks expiries, rotates what is due and raises the alerts.

The data depends only on the seed and the clock: every time is derived from `ctx.now()`, key
ids come from the seeded generator, events are checked in time order. Tokens are random (they
are secrets), but no figure depends on them. The default mirrors the seed's mock figures:
24 keys (18 active, 4 expired, 2 revoked) with the five named keys of the spec.
"""

from __future__ import annotations

import base64
import gc
import random
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

from keytui import totp
from keytui.clock import DAY_MS, FixedClock, from_ms, to_ms
from keytui.domain import Environment, InputError, RuleError, Scope
from keytui.service import analytics, homekind, lifecycle, mfa, policies, registry, watch
from keytui.service.context import Context
from keytui.service.demotraffic import END, WINDOW_DAYS, Checkers
from keytui.service.verification import Verifier
from keytui.service.views import NewKey

DEMO_OPERATOR = "demo"
EVENTS_PER_KEY = 150  # default traffic: a month of calls for a small platform
PARALLEL_MIN_EVENTS = 100_000  # builds this large make and check their calls in a helper process
ZIPF = 1.2  # large sets: the key ranked r gets a share of traffic proportional to r ** -ZIPF
BUSY_KEYS = {"Agents Execution Key": 4.0, "Workflow Trigger Key": 3.0, "Metrics Ingest Key": 2.0}
STATUS_SHARE = (0.75, 0.17, 0.08)  # active, expired, revoked: 18/4/2 of 24

SCOPE_TRAFFIC = {Scope.AGENTS: 5.0, Scope.WORKFLOWS: 4.0, Scope.GOVERNANCE: 0.6, Scope.SANDBOX: 2.0,
                 Scope.DEMO_BUILDS: 1.0, Scope.INTEGRATIONS: 2.0, Scope.MONITORING: 3.0}


@dataclass
class Plan:
    """One demo key: what to create, when, and how its life ends."""

    name: str
    scope: Scope
    environment: Environment
    permissions: tuple[str, ...]
    expiry_days: int
    ip_allowlist: tuple[str, ...]
    owner: str
    fate: str  # active | expired | revoked
    created_ms: int = 0
    revoked_ms: int | None = None
    revoke_reason: str | None = None
    key_id: str = ""
    weight: float = 1.0


# (name, scope, environment, permissions, expiry days, allowlist, owner, fate): seed section 2 first.
SPEC_KEYS = [
    ("Agents Execution Key", Scope.AGENTS, Environment.PRODUCTION, ("execute",), 90, ("10.20.0.0/16",), "agents-platform", "active"),
    ("Workflow Trigger Key", Scope.WORKFLOWS, Environment.PRODUCTION, ("execute",), 60, ("10.30.0.0/16",), "workflow-engine", "active"),
    ("Sandbox Runner Key", Scope.SANDBOX, Environment.SANDBOX, ("read", "execute"), 60, (), "sandbox-runner", "active"),
    ("GitHub Sync Key", Scope.INTEGRATIONS, Environment.PRODUCTION, ("read", "write"), 30, ("140.82.112.0/20",), "ci-bot", "expired"),
    ("Demo Build Key", Scope.DEMO_BUILDS, Environment.STAGING, ("execute",), 30, (), "release-bot", "active"),
    ("Agents Pipeline Executor", Scope.AGENTS, Environment.SANDBOX, ("execute",), 60, (), "ml-team", "active"),
    ("Agent Memory Reader", Scope.AGENTS, Environment.DEVELOPMENT, ("read",), 30, (), "ml-team", "active"),
    ("Workflow Scheduler Key", Scope.WORKFLOWS, Environment.STAGING, ("read", "write"), 90, (), "workflow-engine", "active"),
    ("Workflow Webhook Key", Scope.WORKFLOWS, Environment.DEVELOPMENT, ("write",), 30, (), "alice", "active"),
    ("Governance Policy Sync", Scope.GOVERNANCE, Environment.PRODUCTION, ("read",), 90, ("10.40.0.0/16",), "governance", "active"),
    ("Compliance Audit Reader", Scope.GOVERNANCE, Environment.STAGING, ("read",), 60, (), "compliance", "active"),
    ("Sandbox Simulation Key", Scope.SANDBOX, Environment.SANDBOX, ("read", "write"), 30, (), "sandbox-runner", "active"),
    ("Demo Preview Deployer", Scope.DEMO_BUILDS, Environment.SANDBOX, ("write", "execute"), 60, (), "release-bot", "active"),
    ("CI Pipeline Key", Scope.INTEGRATIONS, Environment.PRODUCTION, ("read", "write"), 60, ("10.50.0.0/16",), "ci-bot", "active"),
    ("Cloud Deploy Key", Scope.INTEGRATIONS, Environment.STAGING, ("execute",), 90, (), "platform-team", "active"),
    ("OpenAI Gateway Key", Scope.INTEGRATIONS, Environment.PRODUCTION, ("read",), 30, (), "ai-services", "active"),
    ("Metrics Ingest Key", Scope.MONITORING, Environment.PRODUCTION, ("write",), 90, ("10.60.0.0/16",), "observability", "active"),
    ("Log Shipper Key", Scope.MONITORING, Environment.STAGING, ("write",), 60, (), "observability", "active"),
    ("Grafana Reader Key", Scope.MONITORING, Environment.DEVELOPMENT, ("read",), 90, (), "observability", "active"),
    ("Legacy Agent Key", Scope.AGENTS, Environment.STAGING, ("execute",), 30, (), "ml-team", "expired"),
    ("Old Metrics Key", Scope.MONITORING, Environment.SANDBOX, ("write",), 60, (), "observability", "expired"),
    ("Sandbox Seed Key", Scope.SANDBOX, Environment.DEVELOPMENT, ("read",), 30, (), "sandbox-runner", "expired"),
    ("Leaked Demo Key", Scope.DEMO_BUILDS, Environment.DEVELOPMENT, ("read", "execute"), 30, (), "release-bot", "revoked"),
    ("Governance Admin Key", Scope.GOVERNANCE, Environment.PRODUCTION, ("admin",), 30, ("10.40.0.0/16",), "governance", "revoked"),
]
REVOKE_REASONS = ("token pasted in a public issue", "replaced by a narrower key", "owner left the team",
                  "suspected leak")
SCOPE_PERMISSIONS = {
    Scope.AGENTS: (("execute",), ("read",), ("read", "execute")), Scope.WORKFLOWS: (("execute",), ("read", "write")),
    Scope.GOVERNANCE: (("read",), ("read", "write")), Scope.SANDBOX: (("read", "execute"), ("read", "write")),
    Scope.DEMO_BUILDS: (("execute",), ("write", "execute")), Scope.INTEGRATIONS: (("read",), ("read", "write")),
    Scope.MONITORING: (("write",), ("read",)),
}


@dataclass(frozen=True)
class DemoReport:
    keys: int
    active: int
    expired: int
    revoked: int
    events: int
    alerts: int
    seconds: float
    named: dict[str, str]  # name -> key id of the spec's named keys


def build(ctx: Context, *, keys: int = 24, events: int | None = None, seed: int = 7,
          force: bool = False) -> DemoReport:
    """Fill the context's database with demo data ending at `ctx.now()`."""
    started = time.perf_counter()
    if keys < 1 or (events is not None and events < 0):
        raise InputError("keys" if keys < 1 else "events", "must be a positive number")
    ctx.require_writable()
    existing = _claim_home(ctx, force)
    rng = random.Random(f"keytui-demo:{seed}:{existing}")
    end_ms = to_ms(ctx.now())
    plans = _plan_keys(rng, keys, end_ms)
    n_events = EVENTS_PER_KEY * keys if events is None else events
    clock = FixedClock(ctx.now())
    demo = _demo_context(ctx, clock, min(p.created_ms for p in plans))
    with no_cycle_collection():
        recorded = _play(demo, clock, plans, (rng.getstate(), n_events, end_ms))
        clock.set(ctx.now())
        policies.set_policy(demo, "auto_rotation", True)
        policies.set_policy(demo, "expiry_alerts", True)
        for env in Environment:
            policies.set_policy(demo, f"ip_locking.{env.value}", "optional")
        # as production would run it (expiry, auto-rotation, alerts), without stepping aside: nobody
        # else writes to a home being built
        watch.run_pass(demo, step_aside=False)
    ov = analytics.overview(ctx)
    named = {p.name: p.key_id for p in plans[:5]}
    return DemoReport(ov.total, ov.active, ov.expired, ov.revoked, recorded, ov.open_alerts,
                      time.perf_counter() - started, named)


@contextmanager
def no_cycle_collection():
    """Python's cycle collector off for a build (and in its helper, for its life): the build
    allocates millions of short-lived rows, events and tuples that form few cycles, and the
    collector's passes over its growing heap took 3.2 s of a 64 s build of 100,000 keys /
    1,000,000 events. Without them the build's peak memory went from 80 to 92 MB on 20,000 keys,
    and is 191 MB on 100,000. On again afterwards, as it was."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _claim_home(ctx: Context, force: bool) -> int:
    """Demo data goes only into a fresh home (which becomes a demo home, where KEYTUI_NOW is
    honoured) or, with force, into a demo or test home: never into a home in real use, where
    it would lower policies and backdate audit entries. Returns the number of keys already there."""
    existing = registry.count_keys(ctx)
    if homekind.kind(ctx.db, ctx.keyring) is None:
        if not homekind.is_fresh(ctx.db):
            raise RuleError(f"demo: this home already holds {existing} keys or audited changes and is not a demo "
                            "home; demo data never mixes with real data (choose an empty --home)")
        homekind.mark(ctx.db, ctx.keyring, homekind.DEMO)
    elif existing and not force:
        raise RuleError(f"demo: this demo home already holds {existing} keys (add more with --force)")
    return existing


def _demo_context(ctx: Context, clock: FixedClock, start_ms: int) -> Context:
    """The demo operator's context, MFA enrolled and confirmed once for the whole build (a
    demo home built before already has the demo operator enrolled: its window is opened
    directly, as only a caller holding the master key can)."""
    clock.set(from_ms(start_ms))
    demo = Context(ctx.db, ctx.keyring, clock=clock, operator=DEMO_OPERATOR, mfa_window_seconds=200 * 86_400,
                   settings=ctx.settings, read_only=ctx.read_only)
    if mfa.has_mfa(demo):
        demo.mfa_until = demo.now() + timedelta(seconds=demo.mfa_window_seconds)
        return demo
    secret, _ = mfa.enroll(demo)
    mfa.confirm(demo, totp.code_for(secret, demo.now()))
    return demo


def _key_id(rng: random.Random) -> str:
    return "key_" + base64.b32encode(rng.randbytes(10)).decode().lower()


def _plan_keys(rng: random.Random, count: int, end_ms: int) -> list[Plan]:
    plans = [Plan(*spec) for spec in SPEC_KEYS[:count]]
    scopes = list(Scope)
    envs = list(Environment)
    for i in range(len(plans), count):
        scope = scopes[i % len(scopes)]
        env = rng.choices(envs, weights=(3, 2, 2, 3))[0]
        fate = rng.choices(("active", "expired", "revoked"), weights=STATUS_SHARE)[0]
        allow = (f"10.{rng.randint(64, 250)}.0.0/16",) if env is Environment.PRODUCTION and rng.random() < 0.6 else ()
        plans.append(Plan(f"{scope.value}-{env.tag}-{i:06d}", scope, env, rng.choice(SCOPE_PERMISSIONS[scope]),
                          rng.choice((30, 60, 90)), allow, rng.choice(("platform-team", "ci-bot", "ml-team",
                                                                         "observability", "release-bot")), fate))
    large = len(plans) > len(SPEC_KEYS)
    ranks = list(range(1, len(plans) + 1))
    if large:
        rng.shuffle(ranks)
    for p, rank in zip(plans, ranks):
        p.key_id = _key_id(rng)
        # on a large platform a few service keys make most calls and most keys are called now
        # and then (Zipf over a random ranking); the named keys are among the busy ones
        spread = rank ** -ZIPF if large else rng.lognormvariate(0, 0.5)
        p.weight = SCOPE_TRAFFIC[p.scope] * spread * BUSY_KEYS.get(p.name, 1.0)
        life = p.expiry_days * DAY_MS
        if p.fate == "active":
            # the default's "Demo Build Key" sits inside the rotation window, so the watch has work to show
            age = 25 * DAY_MS if p.name == "Demo Build Key" else int(rng.uniform(0.5, p.expiry_days - 9) * DAY_MS)
            p.created_ms = end_ms - age
        elif p.fate == "expired":
            p.created_ms = end_ms - int(rng.uniform(1, 20) * DAY_MS) - life
        else:
            p.created_ms = end_ms - int(rng.uniform(0.3, 0.9) * life)
            p.revoked_ms = p.created_ms + int(rng.uniform(0.2, 0.9) * (end_ms - p.created_ms))
            p.revoke_reason = rng.choice(REVOKE_REASONS)
    q = _quantum(count)
    for p in plans:  # keys issued (revoked) in the same quantum are one batch of the service
        p.created_ms -= p.created_ms % q
        if p.revoked_ms:
            p.revoked_ms = max(p.revoked_ms - p.revoked_ms % q, p.created_ms)
    plans[:] = sorted(plans[:5], key=lambda p: p.created_ms) + sorted(plans[5:], key=lambda p: p.created_ms)
    return plans


def _quantum(count: int) -> int:
    """Keys issued (or revoked) in the same minute are one batch; in large sets, the same day,
    so long stretches of calls fall between two changes of the keys."""
    return 60_000 if count <= 1000 else DAY_MS


# changes of the keys: (ts_ms, kind, payload)
CREATE, REVOKE = 0, 1


def _changes(plans: list[Plan]) -> list[tuple]:
    created: dict[int, list[int]] = {}
    revoked: dict[tuple[int, str], list[int]] = {}
    for i, p in enumerate(plans):
        created.setdefault(p.created_ms, []).append(i)
        if p.revoked_ms:
            revoked.setdefault((p.revoked_ms, p.revoke_reason), []).append(i)
    line = [(ts, CREATE, idx) for ts, idx in created.items()]
    line += [(ts, REVOKE, (reason, idx)) for (ts, reason), idx in revoked.items()]
    line.sort(key=lambda e: e[:2])
    return line


def _play(demo: Context, clock: FixedClock, plans: list[Plan], traffic: tuple) -> int:
    """Issue and revoke the keys at their moments, and record every call checked at its moment.

    Between two changes of the keys (an issue or revoke batch) nothing verification reads
    changes, so the calls of each stretch are checked together and recorded in order, all in
    one transaction. On large builds the traffic's helper process makes and checks each
    stretch while this process records the one before and makes the next change. The
    transaction commits only before the helper is asked for a new stretch, so it always sees
    exactly the keys that stretch must be checked against; the uncommitted change stays out of
    sight while it finishes the segments of the stretch before.
    """
    _, n_events, end_ms = traffic
    changes = _changes(plans)
    asked_ms = end_ms - WINDOW_DAYS * DAY_MS  # the calls before it are asked for (none before the month)
    issued: dict[int, str] = {}
    recorded = 0
    verifier = Verifier(demo)
    args = (plans, len(plans) > len(SPEC_KEYS), *traffic, len(changes))
    with Checkers(demo, args, parallel=n_events >= PARALLEL_MIN_EVENTS) as checkers, demo.bound(), \
            demo.db.atomic() as txn:

        def hand_over(up_to: float | None) -> None:
            """Record what was checked last; ask for the stretch before `up_to` (None: nothing more)."""
            nonlocal recorded
            more = True
            while more:
                checked, more = checkers.receive()
                if more:
                    checkers.send(None, {})
                elif up_to is not None:
                    if checkers.helper:
                        txn.commit()
                    checkers.send(up_to, dict(issued))
                    issued.clear()
                verifier.record(checked)
                recorded += len(checked)

        for ts, kind, payload in changes:
            if ts > asked_ms:  # (changes at one moment have no call between them)
                hand_over(ts)
                asked_ms = ts
            clock.set(from_ms(ts))
            if kind == CREATE:
                made = lifecycle.create_many(demo, [_new_key(plans[i]) for i in payload])
                issued.update((i, key.token) for i, key in zip(payload, made))
            else:
                reason, batch = payload
                lifecycle.revoke_many(demo, [plans[i].key_id for i in batch], reason)
        hand_over(END)
        hand_over(None)
    return recorded


def _new_key(p: Plan) -> NewKey:
    return NewKey(p.name, p.scope, p.permissions, p.environment, expires_in_days=p.expiry_days,
                  ip_allowlist=p.ip_allowlist, owner=p.owner, key_id=p.key_id)
