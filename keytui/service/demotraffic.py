"""The demo's month of calls: made from the key plans and checked stretch by stretch.

The building process writes (it issues and revokes the keys and records every call); the
traffic only reads. On large builds it runs in a helper process: there it draws the calls'
times, clients and scenarios, presents the tokens the building process sends it as keys are
issued, and checks each stretch with `Verifier.check_many`, so this reading and drawing
overlaps the writing. Small builds run it in the building process. Both draw the same random
numbers in the same order, so the data depends only on the seed, not on where it was made.
"""

from __future__ import annotations

import gc
import ipaddress
import math
import pickle
import random
import subprocess
import sys
from typing import TYPE_CHECKING

from keytui import tokens
from keytui.clock import DAY_MS
from keytui.domain import Environment, Scope
from keytui.service.context import Context
from keytui.service.verification import Verifier

if TYPE_CHECKING:
    from keytui.service.demo import Plan

WINDOW_DAYS = 30
SEGMENT = 50_000  # calls checked and recorded together at most
BURST_IP = "203.0.113.66"
BURST_ATTEMPTS = 12
LATE_SHARE = 0.2  # large sets: share of keys dead this month whose client keeps trying
LATE_ATTEMPTS = 3
END = math.inf  # a moment after every call

# Which platform module calls with a key of each scope (the activity log's "Module").
MODULES = {
    Scope.AGENTS: ("agents",), Scope.WORKFLOWS: ("workflows", "workflows", "workflows", "agents"),
    Scope.GOVERNANCE: ("governance",), Scope.SANDBOX: ("sandbox", "agents"), Scope.DEMO_BUILDS: ("deployments",),
    Scope.INTEGRATIONS: ("ci", "git", "cloud"), Scope.MONITORING: ("monitoring",),
}


class Traffic:
    """The calls of the month in time order, handed out stretch by stretch.

    `large`: more keys than the spec's named set; `rng_state`: the build's generator after
    planning the keys; `changes`: the number of issue and revoke batches (with the calls, it
    seeds the generator the calls are drawn from)."""

    def __init__(self, plans: list[Plan], large: bool, rng_state: tuple, n_events: int, end_ms: int, changes: int,
                 segment: int = SEGMENT):
        rng = random.Random()
        rng.setstate(rng_state)
        moments = _moments(rng, plans, large, n_events, end_ms)
        rng = random.Random(changes + len(moments))
        ips = [_client_ips(rng, p) for p in plans]
        # drawn at once, while the building process issues the keys made before the month
        self.calls = [(ts, *_call(rng, plans[i], i, ips[i], scenario)) for ts, _, i, scenario in moments]
        self.tokens: dict[int, str] = {}
        self.segment = segment
        self.at = 0
        self.up_to = -math.inf

    def next_calls(self, up_to: float | None, issued: dict[int, str]) -> tuple[list[tuple], bool]:
        """The next calls before `up_to` (None: before the last request's bound), at most a
        segment of them, and whether more calls before that bound follow. `issued` holds the
        tokens of the keys issued since the last request, by plan index."""
        tokens = self.tokens
        tokens.update(issued)
        if up_to is not None:
            self.up_to = up_to
        line, stop, bound = self.calls, min(self.at + self.segment, len(self.calls)), self.up_to
        at = self.at
        out = []
        while at < stop and line[at][0] < bound:
            ts, token, *args = line[at]
            out.append((ts, (tokens[token] if token.__class__ is int else token, *args)))
            at += 1
        self.at = at
        return out, at < len(line) and line[at][0] < bound


class Checkers:
    """Makes and checks the traffic: here, or on large builds in a helper process running its
    own read-only context on the same database (a plain subprocess fed over a pipe: it shares
    no connection with this process and needs nothing from the caller's main module). One
    request is in flight at a time.

    Here, a request is answered at once and whole (in segments), against the keys as they are
    when it is made; the helper answers a segment at a time, against the committed keys, so
    the caller commits before a request that must see its last changes (see demo._play)."""

    def __init__(self, demo: Context, traffic_args: tuple, parallel: bool):
        traffic_args += (SEGMENT,)
        self.helper = None
        self.answers: list[tuple[list, bool]] = []
        self.in_flight = False
        if parallel and demo.settings is not None:
            self.helper = subprocess.Popen(
                [sys.executable, "-c", "from keytui.service.demotraffic import helper_main; helper_main()",
                 str(demo.settings.home), demo.operator], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
            pickle.load(self.helper.stdout)  # it has opened its context before we take the write lock
            self._send(traffic_args)
        else:
            self.traffic = Traffic(*traffic_args)
            self.verifier = Verifier(demo)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *exc):
        if self.helper:
            if exc_type is not None:  # it may be blocked writing an answer nobody will read
                self.helper.kill()
            self.helper.stdin.close()
            self.helper.wait(timeout=60)

    def send(self, up_to: float | None, issued: dict[int, str]) -> None:
        """Ask for the checked calls before `up_to` (None: the rest of the last request's)."""
        if self.helper:
            self._send((up_to, issued))
            self.in_flight = True
            return
        more = up_to is not None  # (None: its segments are all answered already)
        while more:
            calls, more = self.traffic.next_calls(up_to, issued)
            self.answers.append((self.verifier.check_many(calls), more))
            up_to, issued = None, {}

    def receive(self) -> tuple[list, bool]:
        """The events of the next segment asked for, and whether more of that request follow."""
        if self.in_flight:
            self.in_flight = False
            return pickle.load(self.helper.stdout)
        return self.answers.pop(0) if self.answers else ([], False)

    def _send(self, value) -> None:
        pickle.dump(value, self.helper.stdin, protocol=pickle.HIGHEST_PROTOCOL)
        self.helper.stdin.flush()


def helper_main() -> None:
    """The helper process: make the traffic, then answer each request read from stdin on stdout.
    It holds the month's calls (a million tuples on the largest build), which the cycle collector
    would walk at every full pass: it is off for the helper's life (see demo.no_cycle_collection)."""
    gc.disable()
    ctx = Context.open(sys.argv[1], operator=sys.argv[2], read_only=True)
    verifier = Verifier(ctx)
    read, out = sys.stdin.buffer, sys.stdout.buffer

    def answer(value) -> None:
        pickle.dump(value, out, protocol=pickle.HIGHEST_PROTOCOL)
        out.flush()

    answer("ready")
    traffic = Traffic(*pickle.load(read))
    while True:
        try:
            up_to, issued = pickle.load(read)
        except EOFError:
            return
        calls, more = traffic.next_calls(up_to, issued)
        answer(([tuple(event) for event in verifier.check_many(calls)], more))  # see Verifier.record


def _moments(rng: random.Random, plans: list[Plan], large: bool, n_events: int, end_ms: int) -> list[tuple]:
    """(ts_ms, order, plan index, scenario) of every call, in time order."""
    start_ms = end_ms - WINDOW_DAYS * DAY_MS
    spans = []
    for p in plans:
        lo = max(p.created_ms + 60_000, start_ms)
        stop = p.revoked_ms or min(end_ms, p.created_ms + p.expiry_days * DAY_MS)
        spans.append((lo, max(lo, stop)))
    late = [i for i, p in enumerate(plans) if p.fate != "active" and start_ms < spans[i][1] < end_ms - 60_000
            and (not large or rng.random() < LATE_SHARE)]
    n_burst = min(BURST_ATTEMPTS, n_events)
    late = late[:(n_events - n_burst) // LATE_ATTEMPTS]
    weights = [p.weight * (hi - lo) for p, (lo, hi) in zip(plans, spans)]
    burst_at = end_ms - 3 * 3_600_000
    n_normal = n_events - n_burst - LATE_ATTEMPTS * len(late)
    line = []
    if sum(weights) > 0:
        for n, i in enumerate(rng.choices(range(len(plans)), weights=weights, k=n_normal)):
            lo, hi = spans[i]
            line.append((rng.randint(lo, hi - 1), n, i, _scenario(rng)))
    for i in late:  # a client still presenting a key that died this month: a few late attempts
        for k in range(LATE_ATTEMPTS):
            line.append((rng.randint(spans[i][1], end_ms - 60_000), n_events + k, i, "normal"))
    target = next((i for i, p in enumerate(plans) if p.ip_allowlist and p.fate == "active"), None)
    if target is not None:
        for k in range(n_burst):
            line.append((burst_at + k * 17_000, n_events + 10 + k, target, "burst"))
    line.sort()
    return line


def _scenario(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.006:
        return "wrong-environment"
    if r < 0.012:
        return "foreign-ip"
    if r < 0.02:
        return "missing-permission"
    if r < 0.025:
        return "unknown-token"
    return "normal"


def _client_ips(rng: random.Random, p: Plan) -> tuple[str, ...]:
    if p.ip_allowlist:
        net = ipaddress.ip_network(p.ip_allowlist[0])
        return tuple(str(net.network_address + rng.randint(1, net.num_addresses - 2)) for _ in range(3))
    return tuple(f"10.{rng.randint(0, 63)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}" for _ in range(3))


def _call(rng: random.Random, p: Plan, token: int | str, ips: tuple[str, ...], scenario: str) -> tuple:
    """(token, environment, permission, scope, ip, module) of one call in the given scenario; the
    token is the plan's index until the key is issued, or a made-up token."""
    env, perm, ip = p.environment.value, rng.choice(p.permissions), rng.choice(ips)
    module = rng.choice(MODULES[p.scope])
    if scenario == "wrong-environment":
        env = rng.choice([e.value for e in Environment if e is not p.environment])
    elif scenario == "foreign-ip" and p.ip_allowlist:
        ip = f"198.51.100.{rng.randint(1, 254)}"
    elif scenario in ("foreign-ip", "missing-permission"):
        missing = [x for x in ("read", "write", "execute", "admin") if x not in p.permissions]
        perm = rng.choice(missing) if missing and "admin" not in p.permissions else perm
    elif scenario == "unknown-token":
        token = tokens.generate(p.environment)
    elif scenario == "burst":
        ip = BURST_IP
    return token, env, perm, None, ip, module
