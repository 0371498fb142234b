"""Leaked tokens: which keys they belong to, and the response (revoke, or alert only).

The faces find token-shaped strings (the CLI in files and git history, the gateway in signed
leak reports) and hand them here with where they were found. Only the service can tell which
key a token belongs to, by its lookup digest, exactly as verification does, so no secret is
compared. Nothing here keeps or returns a token: a finding names the key and the token's hint.

A token is *live* when its secret works now (key active and unexpired, secret within its
validity window); a match on a revoked or expired key, or on a secret ended by a rotation, is
*dead*. Canary keys are never live: their tokens are bait and are left in place.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Iterable

from peewee import IntegrityError

from keytui import tokens
from keytui.domain import Environment, InputError, effective_status, is_live
from keytui.service import alerts, lifecycle, mfa, policies
from keytui.service.context import Context, uses_store
from keytui.store.models import ApiKey, KeySecret, LeakReportSeen
from keytui.store.sql import chunks
from keytui.text import visible

WHERE_MAX = 300  # characters of a location kept in a revoke reason or an alert
REPLAY_WINDOW = timedelta(days=30)  # how long a handled leak report is remembered
REPORT_MAX_ITEMS = 1000


@dataclass(frozen=True)
class Candidate:
    """A token-shaped string and where it was found ("path:line", "commit 1a2b3c4d path:line", a URL)."""

    token: str = field(repr=False)
    where: str


@dataclass(frozen=True)
class LeakFinding:
    hint: str
    locations: tuple[str, ...]
    state: str  # live | dead | canary | unknown | malformed
    key_id: str | None = None
    name: str | None = None
    environment: str | None = None
    why_dead: str | None = None  # revoked | expired | ended by rotation | ended by regeneration
    action: str | None = None  # revoked | alerted | None

    def as_dict(self) -> dict:
        return {"hint": self.hint, "state": self.state, "key_id": self.key_id, "name": self.name,
                "environment": self.environment, "why_dead": self.why_dead, "action": self.action,
                "locations": list(self.locations)}


class ReplayedReport(Exception):
    """This signed leak report was handled before."""


def printable(text: str, limit: int = WHERE_MAX) -> str:
    """A location as data: control characters made visible, and cut to `limit`."""
    text = visible(text)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _safe_hint(token: str) -> str:
    """The hint of a well-formed token; a malformed one shows only its first characters."""
    return tokens.hint(token) if tokens.token_environment(token) else printable(token[:8]) + "…"


def _group(candidates: Iterable[Candidate]) -> dict[str, list[str]]:
    """token -> where it was found, each token once, in the order first seen."""
    out: dict[str, list[str]] = {}
    for c in candidates:
        places = out.setdefault(c.token, [])
        where = printable(c.where)
        if where not in places:
            places.append(where)
    return out


def _lookup(ctx: Context, digests: list[str]) -> dict[str, tuple]:
    """digest -> (key row, secret row) for the digests that match a secret."""
    found: dict[str, tuple] = {}
    for chunk in chunks(digests):
        q = (KeySecret.select(KeySecret, ApiKey).join(ApiKey).where(KeySecret.digest.in_(chunk)))
        for secret in q:
            found[secret.digest] = (secret.key, secret)
    return found


def _judge(ctx: Context, token: str, places: list[str], match: tuple | None) -> tuple[LeakFinding, tuple | None]:
    hint = _safe_hint(token)
    if tokens.token_environment(token) is None:
        return LeakFinding(hint, tuple(places), "malformed"), None
    if match is None:
        return LeakFinding(hint, tuple(places), "unknown"), None
    key, secret = match
    now = ctx.now()
    base = dict(key_id=key.key_id, name=key.name, environment=key.environment)
    if key.canary:
        return LeakFinding(hint, tuple(places), "canary", **base), match
    if not is_live(key.status, key.expires_at, now):
        return LeakFinding(hint, tuple(places), "dead", why_dead=effective_status(key.status, key.expires_at, now)
                           .value, **base), match
    if secret.valid_until is not None and secret.valid_until <= now:
        return LeakFinding(hint, tuple(places), "dead", why_dead=f"ended by {secret.ended_by or 'expiry'}",
                           **base), match
    return LeakFinding(hint, tuple(places), "live", **base), match


def _findings(ctx: Context, candidates: Iterable[Candidate]) -> dict[str, tuple[LeakFinding, tuple | None]]:
    """token -> (its finding, the matching (key, secret) rows or None), each token once."""
    grouped = _group(candidates)
    digests = {t: ctx.keyring.digest(t) for t in grouped if tokens.token_environment(t)}
    found = _lookup(ctx, list(digests.values()))
    return {token: _judge(ctx, token, places, found.get(digests.get(token, ""))) for token, places in grouped.items()}


@uses_store
def scan_report(ctx: Context, candidates: Iterable[Candidate]) -> list[LeakFinding]:
    """What each token found is: live, dead, a canary, unknown or malformed (changes nothing)."""
    return [finding for finding, _ in _findings(ctx, candidates).values()]


@uses_store
def respond(ctx: Context, candidates: Iterable[Candidate], *, totp: str | None = None) -> list[LeakFinding]:
    """Report, then act on the live keys found, as the `leak_response` policy says: revoke each
    with the reason "leaked: <where>" (revoking a production key needs the operator's TOTP code,
    as the MFA rules ask for production), or raise an alert only. One transaction, all or nothing."""
    ctx.require_writable()
    candidates = list(candidates)
    revoking = policies.read(ctx, "leak_response") == "revoke"
    if revoking and any(f.state == "live" and f.environment == Environment.PRODUCTION.value
                        for f, _ in _findings(ctx, candidates).values()):
        mfa.confirm(ctx, totp)
    with ctx.transaction():  # judged again inside: a key revoked meanwhile is simply dead now
        return _act(ctx, _findings(ctx, candidates), revoking)


def _act(ctx: Context, judged: dict[str, tuple[LeakFinding, tuple | None]], revoking: bool) -> list[LeakFinding]:
    """Inside the caller's transaction: revoke or alert for each live key, alert for a canary found."""
    out, revoked = [], set()
    for finding, match in judged.values():
        if finding.state not in ("live", "canary"):
            out.append(finding)
            continue
        key, secret = match
        where = finding.locations[0]
        if finding.state == "live" and revoking:
            if key.key_id not in revoked:  # the old and the new token of a rotation: one revocation
                lifecycle.revoke_many(ctx, [key.key_id], printable(f"leaked: {where}", lifecycle.REASON_MAX))
                revoked.add(key.key_id)
            action, severity, said = "revoked", "high", "revoked"
        elif finding.state == "live":
            action, severity, said = "alerted", "high", "the policy says alert only: rotate or revoke it now"
        else:
            action, severity, said = "alerted", "medium", "a canary: left in place"
        alerts.raise_alert(ctx, kind="key-leaked", severity=severity, key_id=key.key_id,
                           message=f"{key.name} ({key.environment}): token {secret.hint} found at {where}; {said}",
                           dedupe_key=f"key-leaked:{secret.id}")
        out.append(LeakFinding(**{**finding.__dict__, "action": action}))
    return out


# ---------------------------------------------------------------------------------- signed leak reports
def report_items(data) -> list[Candidate]:
    """The candidates in a leak report shaped like GitHub's secret scanning partner program:
    a JSON list of {"token", "type", "url", "source"}; InputError names what is wrong."""
    if not isinstance(data, list) or not data:
        raise InputError("body", 'must be a non-empty JSON list of {"token", "type", "url", "source"}')
    if len(data) > REPORT_MAX_ITEMS:
        raise InputError("body", f"holds {len(data)} reports; at most {REPORT_MAX_ITEMS} allowed")
    out = []
    for item in data:
        if not isinstance(item, dict) or not isinstance(item.get("token"), str) or not item["token"]:
            raise InputError("token", "every report needs a token (a string)")
        for name in ("type", "url", "source"):
            if item.get(name) is not None and not isinstance(item[name], str):
                raise InputError(name, "must be a string")
        where = item.get("url") or item.get("source") or "a leak report"
        out.append(Candidate(item["token"], where))
    return out


def token_hash(token: str) -> str:
    """What GitHub's feedback format calls token_hash: SHA-256 of the raw token, hex."""
    return hashlib.sha256(token.encode()).hexdigest()


@uses_store
def handle_signed_report(ctx: Context, data, body_digest: str) -> list[dict]:
    """Act on a leak report whose signature the gateway has checked: refuse a replay (the body's
    digest is remembered for REPLAY_WINDOW, in the same transaction as the response), then
    respond per policy (no MFA: the signature is the authority) and answer GitHub's labels."""
    ctx.require_writable()
    candidates = report_items(data)
    revoking = policies.read(ctx, "leak_response") == "revoke"
    now = ctx.now()
    with ctx.transaction():
        if LeakReportSeen.select().where(LeakReportSeen.digest == body_digest).exists():
            raise ReplayedReport()
        LeakReportSeen.delete().where(LeakReportSeen.seen_at < now - REPLAY_WINDOW).execute()
        try:
            LeakReportSeen.create(digest=body_digest, seen_at=now)
        except IntegrityError:  # the same report in another worker's transaction, committed first
            raise ReplayedReport() from None
        judged = _findings(ctx, candidates)
        _act(ctx, judged, revoking)
        ctx.audit("leak.report", None, reports=len(candidates),
                  matched=sum(f.state not in ("unknown", "malformed") for f, _ in judged.values()))
    types = {item["token"]: item.get("type") for item in reversed(data)}
    return [{"token_hash": token_hash(c.token), "token_type": types[c.token],
             "label": "false_positive" if judged[c.token][0].state in ("unknown", "malformed") else "true_positive"}
            for c in candidates]
