"""The key lifecycle: issue, rotate, regenerate, revoke, edit, copy and expire.

Every rule of a change lives here once (production keys expire, privileged permissions need
MFA, revoked is final, the org policy holds), and every change writes its audit entry in the
same transaction as the change itself.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Iterable

from keytui.domain import (EXPIRY_CHOICES, Environment, InputError, RuleError, Status, format_permissions,
                           join_list, needs_mfa, parse_environment, parse_expiry, parse_grace_hours,
                           parse_ip_allowlist, parse_permissions, parse_scope, require_expiry, split_list,
                           split_permissions, validate_name, validate_owner)
from keytui.service import integrity, mfa, orgpolicy
from keytui.service.context import Context, uses_store
from keytui.service.keys import (KEY_ID_RE, issue_secret, live_row, new_key_id, new_secret, newest_secret,
                                 refuse_if_final, row, rows, view)
from keytui.service.paced import Paced
from keytui.service.views import IssuedKey, KeyView, NewKey, key_view
from keytui.store import bulk
from keytui.store.models import ApiKey, KeySecret
from keytui.store.sql import chunks

REASON_MAX = 500
# what a new key's row holds in the fields its plan does not set (its view is built from the plan)
_NEW_KEY_UNSET = dict(revoked_at=None, revoke_reason=None, last_used_at=None, policy_violation=None)
BATCH = 400  # keys inserted per statement in a bulk issue


# ---------------------------------------------------------------------------------- issue
@uses_store
def create_many(ctx: Context, specs: Iterable[NewKey], *, totp: str | None = None) -> list[IssuedKey]:
    """Issue keys in one transaction (one key from `create`; imports, demo and benchmark data).

    Every key passes the same checks; one MFA confirmation covers the batch; every key gets
    its own audit entry. All or nothing: one refused key refuses the batch.
    """
    ctx.require_writable()
    now = ctx.now()
    rules = orgpolicy.current(ctx)
    plans = [plan_new_key(ctx, spec, now, rules) for spec in specs]
    seen: set[tuple[str, str]] = set()
    for p in plans:
        if (p["name"], p["environment"]) in seen:
            raise InputError("name", f"{p['name']!r} is given twice for {p['environment']}; choose another name")
        seen.add((p["name"], p["environment"]))
    if any(needs_mfa(split_permissions(p["permissions"])) for p in plans):
        # A taken name is refused before the single-use code is spent on a doomed change
        # (and checked again inside the transaction, for a race with another process).
        for chunk in chunks(plans, BATCH):
            refuse_taken(ctx.db, chunk)
        mfa.confirm(ctx, totp)
    issued: list[IssuedKey] = []
    with ctx.transaction():
        for chunk in chunks(plans, BATCH):
            issued += _insert(ctx, chunk, now)
    return issued


def _insert(ctx: Context, plans: list[dict], now: datetime) -> list[IssuedKey]:
    refuse_taken(ctx.db, plans)
    fields = [{k: v for k, v in p.items() if k != "describe"} for p in plans]
    bulk.insert_rows(ctx.db, ApiKey, fields)
    ids = dict(bulk.select_in(ctx.db, ApiKey, ("key_id", "id"), "key_id", [p["key_id"] for p in plans]))
    secret_rows, entries, issued = [], [], []
    for p, f in zip(plans, fields):
        token, secret = new_secret(ctx, p["key_id"], Environment(p["environment"]), "create")
        secret_rows.append(dict(secret, key=ids[p["key_id"]]))
        details = dict(
            name=p["name"], scope=p["scope"], environment=p["environment"], permissions=p["permissions"],
            expiry=p["describe"], expires_at=p["expires_at"].isoformat() if p["expires_at"] else None,
            ip_allowlist=list(split_list(p["ip_allowlist"])), owner=p["owner"])
        entries.append(("key.create", p["key_id"], dict(details, canary=True) if p["canary"] else details))
        issued.append(IssuedKey(key_view(SimpleNamespace(**f, **_NEW_KEY_UNSET), now, secret["hint"]), token))
    bulk.insert_rows(ctx.db, KeySecret, secret_rows)
    ctx.audit_many(entries, now=now)
    return issued


def plan_new_key(ctx: Context, spec: NewKey, now: datetime, rules: orgpolicy.Rules) -> dict:
    """The ApiKey fields of a valid new key, or InputError/RuleError naming what is wrong."""
    name = validate_name(spec.name)
    scope = parse_scope(spec.scope)
    perms = parse_permissions(spec.permissions)
    env = parse_environment(spec.environment)
    expiry = parse_expiry(spec.expires_in_days, spec.expires_at, spec.no_expiry, now=now, allowed_days=EXPIRY_CHOICES)
    require_expiry(env, expiry)
    allow = parse_ip_allowlist(spec.ip_allowlist)
    owner = validate_owner(ctx.operator if spec.owner is None else spec.owner)
    expires = expiry.resolve(now)
    key_id = new_key_id() if spec.key_id is None else str(spec.key_id)
    if not KEY_ID_RE.match(key_id):
        raise InputError("key_id", f"{key_id!r} is not a key id (key_ and 16 of a-z 2-7)")
    orgpolicy.check_new_key(rules, env=env, scope=scope, permissions=perms, expires_at=expires, now=now,
                            ip_allowlist=allow, expiry_days=expiry.days)
    fields = dict(key_id=key_id, name=name, scope=scope.value, permissions=format_permissions(perms),
                  environment=env.value, owner=owner, created_by=ctx.operator, created_at=now, updated_at=now,
                  expires_at=expires, expiry_days=expiry.days, status=Status.ACTIVE.value,
                  ip_allowlist=join_list(allow), canary=bool(spec.canary))
    return dict(fields, seal=integrity.seal_key_fields(ctx.keyring, fields), describe=expiry.describe())


def refuse_taken(db, plans: list[dict]) -> None:
    """A key id is unique; a name is unique among the live and expired keys of its environment
    (a few hundred plans at most: one statement each, compiled once per length)."""
    ids = [p["key_id"] for p in plans]
    clash = bulk.select_in(db, ApiKey, ("key_id",), "key_id", ids)
    if clash or len(set(ids)) < len(ids):
        raise InputError("key_id", f"{clash[0][0] if clash else 'a key id'!r} is already taken; give another id")
    names = list(dict.fromkeys(p["name"] for p in plans))
    taken = bulk.select_in(db, ApiKey, ("name", "environment"), "name", names, "status <> ?",
                           (Status.REVOKED.value,))
    wanted = {(p["name"], p["environment"]) for p in plans}
    for name, env in taken:
        if (name, env) in wanted:
            raise InputError("name", f"{name!r} is already used by a key in {env}; choose another name")


# ---------------------------------------------------------------------------------- new tokens
@uses_store
def rotate(ctx: Context, key_id: str, grace_hours: float | str | None = None, *, origin: str = "rotate",
           expires_in_days: int | str | None = None) -> IssuedKey:
    """New secret now; the old one keeps working for the grace period (never past the key's expiry).

    A key with a 30/60/90-day policy gets its expiry renewed by that period, which is what
    makes rotating before expiry (by hand or by Auto Rotation) keep the key alive.
    `expires_in_days` gives the key a new 30/60/90-day policy from now on: the rotation that
    brings a key the org policy flags for its lifetime back into line.
    """
    ctx.require_writable()
    grace = parse_grace_hours(grace_hours)
    now = ctx.now()
    new_days = None if expires_in_days is None else parse_expiry(expires_in_days, now=now).days
    rules = orgpolicy.current(ctx)  # parsed before the write lock is taken
    with ctx.transaction():
        key = live_row(key_id, "rotated", now)
        integrity.refuse_tampered(ctx.keyring, key)
        orgpolicy.check_rotation(rules, key=key, now=now, expiry_days=new_days)
        old_expiry = key.expires_at
        if new_days:
            key.expiry_days = new_days
        until = now + timedelta(hours=grace)
        if old_expiry is not None and until > old_expiry:
            until = old_expiry
        # secrets already in an earlier grace period keep their (earlier) end
        KeySecret.update(valid_until=until, ended_by="rotation").where(
            (KeySecret.key == key.id) & KeySecret.ended_by.is_null()).execute()
        if key.expiry_days:
            key.expires_at = now + timedelta(days=key.expiry_days)
        key.updated_at = now
        flag = _rejudge(key, rules, now)
        key.save()
        token = issue_secret(ctx, key, origin)
        integrity.reseal(ctx.db, ctx.keyring, [key.id])
        ctx.audit("key.rotate", key.key_id, grace_hours=grace, old_secret_valid_until=until.isoformat(),
                  expires_at=key.expires_at.isoformat() if key.expires_at else None, origin=origin,
                  previous_expires_at=old_expiry.isoformat() if old_expiry else None,
                  **({"expiry_days": new_days} if new_days else {}), **flag)
    return IssuedKey(view(ctx, key), token)


@uses_store
def regenerate(ctx: Context, key_id: str) -> IssuedKey:
    """New secret now; every old secret stops working at once (suspected leak)."""
    ctx.require_writable()
    now = ctx.now()
    with ctx.transaction():
        key = live_row(key_id, "regenerated", now)
        integrity.refuse_tampered(ctx.keyring, key)
        ended = KeySecret.update(valid_until=now, ended_by="regeneration").where(
            (KeySecret.key == key.id) & (KeySecret.valid_until.is_null() | (KeySecret.valid_until > now))).execute()
        key.updated_at = now
        key.save()
        token = issue_secret(ctx, key, "regenerate")
        integrity.reseal(ctx.db, ctx.keyring, [key.id])
        ctx.audit("key.regenerate", key.key_id, secrets_ended=ended)
    return IssuedKey(view(ctx, key), token)


# ---------------------------------------------------------------------------------- revocation
@uses_store
def revoke_many(ctx: Context, key_ids: Iterable[str], reason: str | None = None) -> list[str]:
    """Revoke keys at once (incident response, demo data), each audited; all or nothing."""
    ctx.require_writable()
    reason = (reason or "").strip() or None
    if reason and (len(reason) > REASON_MAX or not reason.isprintable()):
        raise InputError("reason", f"must be at most {REASON_MAX} printable characters")
    now = ctx.now()
    with ctx.transaction():
        found = rows(key_ids)
        for key in found:
            refuse_if_final(key, "revoked again")
        intact = integrity.intact_ids(ctx.keyring, found)  # a tampered key is revoked but stays reported
        for chunk in chunks([k.id for k in found]):
            KeySecret.update(valid_until=now, ended_by="revocation").where(
                KeySecret.key.in_(chunk) & (KeySecret.valid_until.is_null() | (KeySecret.valid_until > now))).execute()
            ApiKey.update(status=Status.REVOKED.value, revoked_at=now, revoke_reason=reason, updated_at=now).where(
                ApiKey.id.in_(chunk)).execute()
        integrity.reseal(ctx.db, ctx.keyring, intact)
        ctx.audit_many([("key.revoke", key.key_id, {"reason": reason, "previous_status": key.status})
                        for key in found], now=now)
    return [key.key_id for key in found]


@uses_store
def restore(ctx: Context, key_id: str) -> KeyView:
    """There is no way back from revocation; this exists so every face says so the same way."""
    key = row(key_id)
    refuse_if_final(key, "restored")
    raise RuleError(f"key: {key.key_id} is {key.status}; only revoked keys could be restored, and they cannot")


# ---------------------------------------------------------------------------------- edits and copies
@uses_store
def update(ctx: Context, key_id: str, *, name: str | None = None, owner: str | None = None,
           ip_allowlist: Iterable[str] | str | None = None, permissions: Iterable[str] | str | None = None,
           totp: str | None = None) -> KeyView:
    """Edit a key's label, owner, allowlist or permissions; adding execute/admin needs MFA."""
    ctx.require_writable()
    wanted = dict(name=validate_name(name) if name is not None else None,
                  owner=validate_owner(owner) if owner is not None else None,
                  ip_allowlist=parse_ip_allowlist(ip_allowlist) if ip_allowlist is not None else None,
                  permissions=parse_permissions(permissions) if permissions is not None else None)
    key = row(key_id)
    refuse_if_final(key, "edited")
    if wanted["permissions"] is not None and needs_mfa(wanted["permissions"] - split_permissions(key.permissions)):
        mfa.confirm(ctx, totp)
    rules = orgpolicy.current(ctx)  # parsed before the write lock is taken
    with ctx.transaction():
        key = row(key_id)
        refuse_if_final(key, "edited")
        integrity.refuse_tampered(ctx.keyring, key)
        changes = _apply_edits(key, rules, **wanted)
        if changes:
            key.updated_at = ctx.now()
            flag = _rejudge(key, rules, key.updated_at)
            key.save()
            integrity.reseal(ctx.db, ctx.keyring, [key.id])
            ctx.audit("key.permissions" if set(changes) == {"permissions"} else "key.update", key.key_id,
                      changes=changes, **flag)
    return view(ctx, key)


def _rejudge(key: ApiKey, rules: orgpolicy.Rules, now: datetime) -> dict:
    """Set the key's org-policy flag for what it is after the change; the audit detail when it moved."""
    old, new = key.policy_violation, orgpolicy.flag_for(rules, key, now)
    key.policy_violation = new
    return {} if old == new else {"policy_violation": [old, new]}


def _apply_edits(key: ApiKey, rules: orgpolicy.Rules, *, name, owner, ip_allowlist, permissions) -> dict:
    """Set the fields that change on `key` (checked against the org policy); returns
    {field: [old, new]} for the audit entry."""
    changes: dict = {}
    env = Environment(key.environment)
    if name is not None and name != key.name:
        taken = ApiKey.select().where((ApiKey.name == name) & (ApiKey.environment == key.environment)
                                      & (ApiKey.status != Status.REVOKED.value) & (ApiKey.id != key.id)).exists()
        if taken:
            raise InputError("name", f"{name!r} is already used by a key in {key.environment}")
        changes["name"] = [key.name, name]
        key.name = name
    if owner is not None and owner != key.owner:
        changes["owner"] = [key.owner, owner]
        key.owner = owner
    if ip_allowlist is not None and join_list(ip_allowlist) != key.ip_allowlist:
        orgpolicy.check_allowlist(rules, env=env, ip_allowlist=ip_allowlist)
        changes["ip_allowlist"] = [list(split_list(key.ip_allowlist)), list(ip_allowlist)]
        key.ip_allowlist = join_list(ip_allowlist)
    if permissions is not None and permissions != split_permissions(key.permissions):
        orgpolicy.check_permissions(rules, env=env, permissions=permissions)
        changes["permissions"] = [key.permissions, format_permissions(permissions)]
        key.permissions = format_permissions(permissions)
    return changes


@uses_store
def copy_token(ctx: Context, key_id: str, totp: str | None = None) -> str:
    """The current token, decrypted for an explicit, audited copy.

    A production token that can execute is the most dangerous thing keytui holds, so
    copying one needs MFA like creating one does.
    """
    ctx.require_writable()
    key = row(key_id)
    refuse_if_final(key, "copied")
    if key.environment == Environment.PRODUCTION and needs_mfa(split_permissions(key.permissions)):
        mfa.confirm(ctx, totp)
    with ctx.transaction():
        secret = newest_secret(key)
        if secret is None:
            raise RuleError(f"key: {key.key_id} has no live token")
        token = ctx.keyring.decrypt(secret.ciphertext, key.key_id)
        ctx.audit("key.copy", key.key_id, hint=secret.hint)
    return token


# ---------------------------------------------------------------------------------- expiry
EXPIRE_CHUNK = 50  # keys marked expired (and audited) per unit of a short transaction


@uses_store
def expire_due(ctx: Context, paced: Paced | None = None) -> list[str]:
    """Mark active keys past their expiry as expired, each audited (the watch calls this), in
    short transactions: the keys are found with a read, then each chunk is checked again and
    marked, with its audit entries, in a transaction of its own."""
    ctx.require_writable()
    now = ctx.now()
    due = [k for (k,) in ApiKey.select(ApiKey.id).where(_due(now)).order_by(ApiKey.id).tuples()]
    expired: list[str] = []
    (paced or Paced(ctx)).each(chunks(due, EXPIRE_CHUNK), lambda ids: expired.extend(expire_some(ctx, now, ids)))
    return expired


def _due(now: datetime):
    return (ApiKey.status == Status.ACTIVE.value) & ApiKey.expires_at.is_null(False) & (ApiKey.expires_at <= now)


def expire_some(ctx: Context, now: datetime, ids: list[int]) -> list[str]:
    """Those of the keys `ids` that are still due, marked expired (intact ones resealed, a
    tampered one left to fail its seal); inside the caller's transaction."""
    due = integrity.sealed_keys(ApiKey.id.in_(ids) & _due(now))
    if not due:
        return []
    intact = integrity.intact_ids(ctx.keyring, due)
    ApiKey.update(status=Status.EXPIRED.value, updated_at=now).where(ApiKey.id.in_([k.id for k in due])).execute()
    integrity.reseal(ctx.db, ctx.keyring, intact, secrets=False)  # a secret's seal does not cover the key's status
    ctx.audit_many([("key.expire", k.key_id, {"expires_at": k.expires_at.isoformat()}) for k in due], now=now)
    return [k.key_id for k in due]
