"""The service: the only writer of the store.

Every face (CLI, TUI, gateway, watch) calls a Vault. Every rule lives here once: production
keys expire, execute/admin needs MFA, revoked is final, every change is audited in the same
transaction as the change itself.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Iterable

from peewee import Database

from keytui import audit, mfa, policies, registry, tokens
from keytui.clock import Clock, clock_from_env
from keytui.config import Settings, default_operator, load_master_key, load_settings
from keytui.domain import (EXPIRY_CHOICES, Environment, Expiry, InputError, NotFoundError, Permission,
                           ReadOnlyError, RuleError, Scope, Status, effective_permissions, format_permissions,
                           needs_mfa, parse_environment, parse_expiry, parse_grace_hours, parse_ip_allowlist,
                           parse_permissions, parse_scope, split_permissions, validate_name, validate_owner)
from keytui.store import bulk
from keytui.store.db import bind_master_key, open_database
from keytui.store.models import ApiKey, KeySecret, Operator
from keytui.verification import Verifier, VerifyResult  # noqa: F401  (re-exported for the faces)

SYSTEM_OPERATOR = "system"


@dataclass(frozen=True)
class KeyView:
    """A key as the faces see it: no secret, status already judged against the clock."""

    key_id: str
    name: str
    scope: Scope
    permissions: frozenset[Permission]
    environment: Environment
    owner: str
    created_by: str
    created_at: datetime
    updated_at: datetime
    expires_at: datetime | None
    expiry_days: int | None
    status: Status
    stored_status: Status
    revoked_at: datetime | None
    revoke_reason: str | None
    last_used_at: datetime | None
    ip_allowlist: tuple[str, ...]
    policy_violation: str | None
    hint: str | None = None

    @property
    def permissions_text(self) -> str:
        return format_permissions(self.permissions)

    def as_dict(self) -> dict:
        """The registry record (export, --json): never a token, digest or ciphertext."""
        iso = lambda d: d.isoformat() if d else None  # noqa: E731
        return {
            "key_id": self.key_id, "name": self.name, "scope": self.scope.value, "owner": self.owner,
            "created_at": iso(self.created_at), "expires_at": iso(self.expires_at), "status": self.status.value,
            "last_used_at": iso(self.last_used_at), "environment": self.environment.value,
            "permissions": sorted(p.value for p in self.permissions), "ip_allowlist": list(self.ip_allowlist),
            "hint": self.hint, "policy_violation": self.policy_violation,
            "revoked_at": iso(self.revoked_at), "revoke_reason": self.revoke_reason, "created_by": self.created_by,
        }


@dataclass(frozen=True)
class IssuedKey:
    """A key with the token just issued: the only moment the token exists outside the vault."""

    key: KeyView
    token: str = field(repr=False)


@dataclass(frozen=True)
class SecretView:
    hint: str
    origin: str
    created_at: datetime
    valid_until: datetime | None
    ended_by: str | None
    live: bool


def key_view(row: ApiKey, now: datetime, hint: str | None = None) -> KeyView:
    stored = Status(row.status)
    status = stored
    if stored is Status.ACTIVE and row.expires_at is not None and row.expires_at <= now:
        status = Status.EXPIRED
    return KeyView(
        key_id=row.key_id, name=row.name, scope=Scope(row.scope), permissions=split_permissions(row.permissions),
        environment=Environment(row.environment), owner=row.owner, created_by=row.created_by,
        created_at=row.created_at, updated_at=row.updated_at, expires_at=row.expires_at,
        expiry_days=row.expiry_days, status=status, stored_status=stored, revoked_at=row.revoked_at,
        revoke_reason=row.revoke_reason, last_used_at=row.last_used_at,
        ip_allowlist=tuple(x for x in row.ip_allowlist.split(",") if x), policy_violation=row.policy_violation,
        hint=hint,
    )


def new_key_id() -> str:
    return "key_" + base64.b32encode(secrets.token_bytes(10)).decode().lower()


KEY_ID_RE = re.compile(r"^key_[a-z2-7]{16}$")


def _chunks(items: list, size: int):
    for i in range(0, len(items), size):
        yield items[i:i + size]


@dataclass(frozen=True)
class NewKey:
    """A key to issue with `Vault.create_many`: the fields of `create`, plus an optional key id
    for imports and reproducible demo data (validated, and unique like any other)."""

    name: str
    scope: str | Scope
    permissions: Iterable[str] | str
    environment: str | Environment
    expires_in_days: int | str | None = None
    expires_at: str | datetime | None = None
    no_expiry: bool = False
    ip_allowlist: Iterable[str] | str | None = None
    owner: str | None = None
    key_id: str | None = None


class Vault:
    def __init__(self, db: Database, keyring: tokens.Keyring, *, clock: Clock | None = None,
                 operator: str | None = None, read_only: bool = False, mfa_window_seconds: int = 0,
                 settings: Settings | None = None):
        self.db = db
        self.keyring = keyring
        self.clock = clock or Clock()
        self.operator = operator or default_operator()
        self.read_only = read_only
        self.mfa_window_seconds = mfa_window_seconds
        self.settings = settings
        self._mfa_until: datetime | None = None
        self.verifier = Verifier(self)

    @classmethod
    def open(cls, home=None, *, operator: str | None = None, read_only: bool = False, clock: Clock | None = None,
             mfa_window_seconds: int = 0) -> "Vault":
        settings = load_settings(home)
        keyring = tokens.Keyring(load_master_key(settings))
        db = open_database(settings)
        bind_master_key(keyring.check_value)
        return cls(db, keyring, clock=clock or clock_from_env(), operator=operator, read_only=read_only,
                   mfa_window_seconds=mfa_window_seconds, settings=settings)

    def as_operator(self, operator: str) -> "Vault":
        """The same vault acting as someone else (the watch acts as 'system')."""
        other = Vault(self.db, self.keyring, clock=self.clock, operator=operator, read_only=self.read_only,
                      settings=self.settings)
        return other

    def close(self) -> None:
        if not self.db.is_closed():
            self.db.close()

    # ------------------------------------------------------------------ helpers
    def now(self) -> datetime:
        """The clock's time at the store's resolution (milliseconds), so views match what is stored."""
        now = self.clock.now()
        return now.replace(microsecond=now.microsecond // 1000 * 1000)

    def _writable(self) -> None:
        if self.read_only:
            raise ReadOnlyError("keytui is open read-only: changes are refused")

    def _audit(self, action: str, key_id: str | None = None, **details) -> None:
        audit.append(self.keyring.audit_key, now=self.now(), operator=self.operator, action=action,
                     key_id=key_id, details=details)

    def _row(self, key_id: str) -> ApiKey:
        row = ApiKey.get_or_none(ApiKey.key_id == str(key_id).strip().lower())
        if row is None:
            raise NotFoundError(f"key: no key with id {key_id!r}")
        return row

    def _rows(self, key_ids: Iterable[str]) -> list[ApiKey]:
        """Several keys in one query per 500, in the order given (duplicates once); NotFoundError names a missing one."""
        wanted = list(dict.fromkeys(str(k).strip().lower() for k in key_ids))
        found: dict[str, ApiKey] = {}
        for chunk in _chunks(wanted, 500):
            found.update((r.key_id, r) for r in ApiKey.select().where(ApiKey.key_id.in_(chunk)))
        missing = next((k for k in wanted if k not in found), None)
        if missing is not None:
            raise NotFoundError(f"key: no key with id {missing!r}")
        return [found[k] for k in wanted]

    def _current_hint(self, row: ApiKey) -> str | None:
        secret = self._newest_secret(row)
        return secret.hint if secret else None

    def _newest_secret(self, row: ApiKey) -> KeySecret | None:
        return (KeySecret.select().where((KeySecret.key == row.id) & KeySecret.ended_by.is_null())
                .order_by(KeySecret.id.desc()).first())

    def _issue_secret(self, row: ApiKey, origin: str) -> str:
        token, fields = self._new_secret(row.key_id, Environment(row.environment), origin)
        KeySecret.create(key=row.id, **fields)
        return token

    def _new_secret(self, key_id: str, env: Environment, origin: str) -> tuple[str, dict]:
        """A fresh token and the KeySecret fields that keep it: digest, ciphertext and hint only."""
        token = tokens.generate(env)
        return token, dict(digest=self.keyring.digest(token), ciphertext=self.keyring.encrypt(token, key_id),
                           hint=tokens.hint(token), origin=origin, created_at=self.now())

    def _view(self, row: ApiKey) -> KeyView:
        return key_view(row, self.now(), self._current_hint(row))

    def _live_row(self, key_id: str, action: str, now: datetime) -> ApiKey:
        """The key, if it may still get a new token: not revoked, not expired."""
        row = self._row(key_id)
        self._refuse_if_final(row, action)
        if row.status == Status.EXPIRED or (row.expires_at is not None and row.expires_at <= now):
            raise RuleError(f"key: {row.key_id} has expired; expired keys cannot be {action} (create a new key)")
        return row

    def _refuse_if_final(self, row: ApiKey, action: str) -> None:
        if row.status == Status.REVOKED:
            raise RuleError(f"key: {row.key_id} is revoked; revoked keys cannot be {action} or restored")

    # ------------------------------------------------------------------ MFA
    def has_mfa(self, operator: str | None = None) -> bool:
        row = Operator.get_or_none(Operator.name == (operator or self.operator))
        return bool(row and row.totp_secret)

    def enroll_mfa(self, operator: str | None = None, *, replace_existing: bool = False) -> tuple[str, str]:
        """Returns (secret, otpauth URI), shown once to the operator."""
        self._writable()
        name = operator or self.operator
        secret = mfa.new_secret()
        with self.db.atomic():
            row = Operator.get_or_none(Operator.name == name)
            if row and row.totp_secret and not replace_existing:
                raise RuleError(f"operator: {name} is already enrolled; use --replace to enrol a new device")
            blob = self.keyring.encrypt_mfa(secret, name)
            if row is None:
                Operator.create(name=name, totp_secret=blob, enrolled_at=self.now())
            else:
                Operator.update(totp_secret=blob, enrolled_at=self.now(), last_totp_step=None, failed_attempts=0,
                                locked_until=None).where(Operator.id == row.id).execute()
            self._audit("mfa.enroll", None, operator=name)
        return secret, mfa.provisioning_uri(secret, name)

    def mfa_window_open(self) -> bool:
        return self._mfa_until is not None and self.now() < self._mfa_until

    def confirm_mfa(self, code: str | None) -> None:
        """Check the operator's TOTP code (single use, rate-limited) or an open MFA window.

        Failures are committed even though the caller's change will not happen, so the
        lock-out counts them.
        """
        if self.mfa_window_open():
            return
        if not code:
            raise RuleError("totp: execute/admin permission requires MFA; give the operator's current TOTP code",
                            field="totp")
        now = self.now()
        with self.db.atomic():
            row = Operator.get_or_none(Operator.name == self.operator)
            if row is None or not row.totp_secret:
                raise RuleError(f"totp: operator {self.operator} has no MFA enrolled; run `keytui mfa enroll` first",
                                field="totp")
            if row.locked_until and row.locked_until > now:
                wait = int((row.locked_until - now).total_seconds()) + 1
                raise RuleError(f"totp: too many wrong codes; try again in {wait} s", field="totp")
            step = mfa.matching_step(self.keyring.decrypt_mfa(row.totp_secret, row.name), code, now)
            if step is not None and row.last_totp_step is not None and step <= row.last_totp_step:
                failure = "totp: this code was already used; wait for the next code"
            elif step is None:
                failure = "totp: wrong code (6 digits from the operator's authenticator)"
            else:
                failure = None
            if failure:
                failures = row.failed_attempts + 1
                locked = mfa.lock_until(now) if failures >= mfa.MAX_FAILURES else None
                Operator.update(failed_attempts=0 if locked else failures, locked_until=locked).where(
                    Operator.id == row.id).execute()
                if locked:
                    self._audit("mfa.lockout", None, operator=row.name, failures=failures,
                                locked_until=locked.isoformat())
            else:
                Operator.update(last_totp_step=step, failed_attempts=0, locked_until=None).where(
                    Operator.id == row.id).execute()
        if failure:
            raise RuleError(failure, field="totp")
        if self.mfa_window_seconds:
            self._mfa_until = now + timedelta(seconds=self.mfa_window_seconds)

    # ------------------------------------------------------------------ reads
    def get(self, key_id: str) -> KeyView:
        return self._view(self._row(key_id))

    def secrets(self, key_id: str) -> list[SecretView]:
        row = self._row(key_id)
        now = self.now()
        out = []
        for s in KeySecret.select().where(KeySecret.key == row.id).order_by(KeySecret.id.desc()):
            live = (row.status != Status.REVOKED and (s.valid_until is None or s.valid_until > now)
                    and (row.expires_at is None or row.expires_at > now))
            out.append(SecretView(s.hint, s.origin, s.created_at, s.valid_until, s.ended_by, live))
        return out

    def list_keys(self, key_filter: "registry.KeyFilter | None" = None, *, sort: str = "created_at",
                  descending: bool = True, limit: int | None = None, offset: int = 0) -> list[KeyView]:
        """One window of the registry, filtered and sorted in SQL."""
        now = self.now()
        rows = list(registry.query(key_filter or registry.KeyFilter(), now, sort=sort, descending=descending,
                                   limit=limit, offset=offset))
        hints = registry.hints_for(rows)
        return [key_view(r, now, hints.get(r.id)) for r in rows]

    def count_keys(self, key_filter: "registry.KeyFilter | None" = None) -> int:
        return registry.count(key_filter or registry.KeyFilter(), self.now())

    def find(self, text: str, limit: int = 20) -> list[KeyView]:
        """Keys whose id or name matches (command palette jump, CLI lookups)."""
        text = text.strip()
        q = ApiKey.select().where((ApiKey.key_id == text.lower()) | (ApiKey.name.contains(text)))
        return [self._view(r) for r in q.order_by(ApiKey.name).limit(limit)]

    # ------------------------------------------------------------------ lifecycle
    def create(self, name: str, scope: str | Scope, permissions: Iterable[str] | str,
               environment: str | Environment, *, expires_in_days: int | str | None = None,
               expires_at: str | datetime | None = None, no_expiry: bool = False,
               ip_allowlist: Iterable[str] | str | None = None, owner: str | None = None,
               totp: str | None = None) -> IssuedKey:
        spec = NewKey(name, scope, permissions, environment, expires_in_days=expires_in_days, expires_at=expires_at,
                      no_expiry=no_expiry, ip_allowlist=ip_allowlist, owner=owner)
        return self.create_many([spec], totp=totp)[0]

    def create_many(self, specs: Iterable["NewKey"], *, totp: str | None = None) -> list[IssuedKey]:
        """Issue keys in one transaction (one key from `create`; imports, demo and benchmark data).

        Every key passes the same checks; one MFA confirmation covers the batch; every key gets
        its own audit entry. All or nothing: one refused key refuses the batch.
        """
        self._writable()
        now = self.now()
        from keytui import orgpolicy

        rules = orgpolicy.current()
        plans = [self._plan_new_key(spec, now, rules) for spec in specs]
        seen: set[tuple[str, str]] = set()
        for p in plans:
            if (p["name"], p["environment"]) in seen:
                raise InputError("name", f"{p['name']!r} is given twice for {p['environment']}; choose another name")
            seen.add((p["name"], p["environment"]))
        if any(needs_mfa(split_permissions(p["permissions"])) for p in plans):
            # A taken name is refused before the single-use code is spent on a doomed change
            # (and checked again inside the transaction, for a race with another process).
            for chunk in _chunks(plans, 400):
                self._refuse_taken(chunk)
            self.confirm_mfa(totp)
        issued: list[IssuedKey] = []
        with self.db.atomic():
            for chunk in _chunks(plans, 400):
                self._refuse_taken(chunk)
                bulk.insert_rows(self.db, ApiKey, [{k: v for k, v in p.items() if k != "describe"} for p in chunk])
                ids = dict(ApiKey.select(ApiKey.key_id, ApiKey.id).where(
                    ApiKey.key_id.in_([p["key_id"] for p in chunk])).tuples())
                secrets_rows, entries = [], []
                for p in chunk:
                    token, fields = self._new_secret(p["key_id"], Environment(p["environment"]), "create")
                    secrets_rows.append(dict(fields, key=ids[p["key_id"]]))
                    entries.append(("key.create", p["key_id"], dict(
                        name=p["name"], scope=p["scope"], environment=p["environment"], permissions=p["permissions"],
                        expiry=p["describe"], expires_at=p["expires_at"].isoformat() if p["expires_at"] else None,
                        ip_allowlist=[x for x in p["ip_allowlist"].split(",") if x], owner=p["owner"])))
                    row = ApiKey(id=ids[p["key_id"]], **{k: v for k, v in p.items() if k != "describe"})
                    issued.append(IssuedKey(key_view(row, now, fields["hint"]), token))
                bulk.insert_rows(self.db, KeySecret, secrets_rows)
                audit.append_many(self.keyring.audit_key, now=now, operator=self.operator, entries=entries)
        return issued

    def _plan_new_key(self, spec: "NewKey", now: datetime, rules) -> dict:
        """The ApiKey fields of a valid new key, or InputError/RuleError naming what is wrong."""
        name = validate_name(spec.name)
        scope = parse_scope(spec.scope)
        perms = parse_permissions(spec.permissions)
        env = parse_environment(spec.environment)
        expiry = parse_expiry(spec.expires_in_days, spec.expires_at, spec.no_expiry, now=now,
                              allowed_days=EXPIRY_CHOICES)
        if env is Environment.PRODUCTION and expiry.never:
            raise InputError("expiry", "production keys must expire; choose 30, 60 or 90 days or a date")
        allow = parse_ip_allowlist(spec.ip_allowlist)
        owner = validate_owner(self.operator if spec.owner is None else spec.owner)
        expires = expiry.resolve(now)
        key_id = new_key_id() if spec.key_id is None else str(spec.key_id)
        if not KEY_ID_RE.match(key_id):
            raise InputError("key_id", f"{key_id!r} is not a key id (key_ and 16 of a-z 2-7)")
        from keytui import orgpolicy

        orgpolicy.check_new_key(env=env, scope=scope, permissions=perms, expires_at=expires, now=now,
                                ip_allowlist=allow, expiry_days=expiry.days, rules=rules)
        return dict(key_id=key_id, name=name, scope=scope.value, permissions=format_permissions(perms),
                    environment=env.value, owner=owner, created_by=self.operator, created_at=now, updated_at=now,
                    expires_at=expires, expiry_days=expiry.days, status=Status.ACTIVE.value,
                    ip_allowlist=",".join(allow), describe=expiry.describe())

    @staticmethod
    def _refuse_taken(plans: list[dict]) -> None:
        ids = [p["key_id"] for p in plans]
        clash = ApiKey.select(ApiKey.key_id).where(ApiKey.key_id.in_(ids)).first()
        if clash is not None or len(set(ids)) < len(ids):
            raise InputError("key_id", f"{clash.key_id if clash else 'a key id'!r} is already taken; give another id")
        names = {p["name"] for p in plans}
        taken = (ApiKey.select(ApiKey.name, ApiKey.environment)
                 .where(ApiKey.name.in_(list(names)) & (ApiKey.status != Status.REVOKED.value)).tuples())
        wanted = {(p["name"], p["environment"]) for p in plans}
        for name, env in taken:
            if (name, env) in wanted:
                raise InputError("name", f"{name!r} is already used by a key in {env}; choose another name")

    def rotate(self, key_id: str, grace_hours: float | str | None = None, *, origin: str = "rotate") -> IssuedKey:
        """New secret now; the old one keeps working for the grace period (never past the key's expiry).

        A key with a 30/60/90-day policy gets its expiry renewed by that period, which is what
        makes rotating before expiry (by hand or by Auto Rotation) keep the key alive.
        """
        self._writable()
        grace = parse_grace_hours(grace_hours)
        now = self.now()
        with self.db.atomic():
            row = self._live_row(key_id, "rotated", now)
            from keytui import orgpolicy

            orgpolicy.check_rotation(row=row, now=now)
            old_expiry = row.expires_at
            until = now + timedelta(hours=grace)
            if old_expiry is not None and until > old_expiry:
                until = old_expiry
            live = KeySecret.update(valid_until=until, ended_by="rotation").where(
                (KeySecret.key == row.id) & KeySecret.ended_by.is_null())
            live.execute()
            # secrets already in an earlier grace period keep their (earlier) end
            if row.expiry_days:
                row.expires_at = now + timedelta(days=row.expiry_days)
            row.updated_at = now
            row.save()
            token = self._issue_secret(row, origin)
            self._audit("key.rotate", row.key_id, grace_hours=grace, old_secret_valid_until=until.isoformat(),
                        expires_at=row.expires_at.isoformat() if row.expires_at else None, origin=origin,
                        previous_expires_at=old_expiry.isoformat() if old_expiry else None)
        return IssuedKey(self._view(row), token)

    def regenerate(self, key_id: str) -> IssuedKey:
        """New secret now; every old secret stops working at once (suspected leak)."""
        self._writable()
        now = self.now()
        with self.db.atomic():
            row = self._live_row(key_id, "regenerated", now)
            ended = KeySecret.update(valid_until=now, ended_by="regeneration").where(
                (KeySecret.key == row.id) & ((KeySecret.valid_until.is_null()) | (KeySecret.valid_until > now))).execute()
            row.updated_at = now
            row.save()
            token = self._issue_secret(row, "regenerate")
            self._audit("key.regenerate", row.key_id, secrets_ended=ended)
        return IssuedKey(self._view(row), token)

    def revoke(self, key_id: str, reason: str | None = None) -> KeyView:
        """Immediate and permanent."""
        self.revoke_many([key_id], reason)
        return self.get(key_id)

    def revoke_many(self, key_ids: Iterable[str], reason: str | None = None) -> list[str]:
        """Revoke keys at once (incident response, demo data), each audited; all or nothing."""
        self._writable()
        reason = (reason or "").strip() or None
        if reason and (len(reason) > 500 or not reason.isprintable()):
            raise InputError("reason", "must be at most 500 printable characters")
        now = self.now()
        with self.db.atomic():
            rows = self._rows(key_ids)
            for row in rows:
                self._refuse_if_final(row, "revoked again")
            for chunk in _chunks([r.id for r in rows], 500):
                KeySecret.update(valid_until=now, ended_by="revocation").where(
                    KeySecret.key.in_(chunk) & ((KeySecret.valid_until.is_null()) | (KeySecret.valid_until > now))).execute()
                ApiKey.update(status=Status.REVOKED.value, revoked_at=now, revoke_reason=reason, updated_at=now).where(
                    ApiKey.id.in_(chunk)).execute()
            audit.append_many(self.keyring.audit_key, now=now, operator=self.operator, entries=[
                ("key.revoke", row.key_id, {"reason": reason, "previous_status": row.status}) for row in rows])
        return [row.key_id for row in rows]

    def restore(self, key_id: str) -> KeyView:
        """There is no way back from revocation; this exists so every face says so the same way."""
        row = self._row(key_id)
        self._refuse_if_final(row, "restored")
        raise RuleError(f"key: {row.key_id} is {row.status}; only revoked keys could be restored, and they cannot")

    def update(self, key_id: str, *, name: str | None = None, owner: str | None = None,
               ip_allowlist: Iterable[str] | str | None = None, permissions: Iterable[str] | str | None = None,
               totp: str | None = None) -> KeyView:
        """Edit a key's label, owner, allowlist or permissions; adding execute/admin needs MFA."""
        self._writable()
        now = self.now()
        new_name = validate_name(name) if name is not None else None
        new_owner = validate_owner(owner) if owner is not None else None
        new_allow = parse_ip_allowlist(ip_allowlist) if ip_allowlist is not None else None
        new_perms = parse_permissions(permissions) if permissions is not None else None
        row = self._row(key_id)
        self._refuse_if_final(row, "edited")
        old_perms = split_permissions(row.permissions)
        if new_perms is not None and needs_mfa(new_perms - old_perms):
            self.confirm_mfa(totp)
        changes: dict = {}
        with self.db.atomic():
            row = self._row(key_id)
            self._refuse_if_final(row, "edited")
            if new_name is not None and new_name != row.name:
                taken = ApiKey.select().where((ApiKey.name == new_name) & (ApiKey.environment == row.environment)
                                              & (ApiKey.status != Status.REVOKED.value) & (ApiKey.id != row.id)).exists()
                if taken:
                    raise InputError("name", f"{new_name!r} is already used by a key in {row.environment}")
                changes["name"] = [row.name, new_name]
                row.name = new_name
            if new_owner is not None and new_owner != row.owner:
                changes["owner"] = [row.owner, new_owner]
                row.owner = new_owner
            if new_allow is not None and ",".join(new_allow) != row.ip_allowlist:
                from keytui import orgpolicy

                orgpolicy.check_allowlist(env=Environment(row.environment), ip_allowlist=new_allow)
                changes["ip_allowlist"] = [row.ip_allowlist.split(",") if row.ip_allowlist else [], list(new_allow)]
                row.ip_allowlist = ",".join(new_allow)
            if new_perms is not None and new_perms != old_perms:
                from keytui import orgpolicy

                orgpolicy.check_permissions(env=Environment(row.environment), permissions=new_perms)
                changes["permissions"] = [row.permissions, format_permissions(new_perms)]
                row.permissions = format_permissions(new_perms)
            if not changes:
                return self._view(row)
            row.updated_at = now
            row.save()
            action = "key.permissions" if set(changes) == {"permissions"} else "key.update"
            self._audit(action, row.key_id, changes=changes)
        return self._view(row)

    def copy_token(self, key_id: str, totp: str | None = None) -> str:
        """The current token, decrypted for an explicit, audited copy.

        A production token that can execute is the most dangerous thing keytui holds, so
        copying one needs MFA like creating one does.
        """
        self._writable()
        row = self._row(key_id)
        self._refuse_if_final(row, "copied")
        if row.environment == Environment.PRODUCTION and needs_mfa(split_permissions(row.permissions)):
            self.confirm_mfa(totp)
        with self.db.atomic():
            secret = self._newest_secret(row)
            if secret is None:
                raise RuleError(f"key: {row.key_id} has no live token")
            token = self.keyring.decrypt(secret.ciphertext, row.key_id)
            self._audit("key.copy", row.key_id, hint=secret.hint)
        return token

    def expire_due(self) -> list[str]:
        """Mark active keys past their expiry as expired, each audited (the watch calls this)."""
        self._writable()
        now = self.now()
        with self.db.atomic():
            rows = list(ApiKey.select(ApiKey.id, ApiKey.key_id, ApiKey.expires_at).where(
                (ApiKey.status == Status.ACTIVE.value) & ApiKey.expires_at.is_null(False) & (ApiKey.expires_at <= now)))
            for chunk in _chunks(rows, 500):
                ApiKey.update(status=Status.EXPIRED.value, updated_at=now).where(
                    ApiKey.id.in_([r.id for r in chunk]) & (ApiKey.status == Status.ACTIVE.value)).execute()
            audit.append_many(self.keyring.audit_key, now=now, operator=self.operator, entries=[
                ("key.expire", r.key_id, {"expires_at": r.expires_at.isoformat()}) for r in rows])
        return [r.key_id for r in rows]

    # ------------------------------------------------------------------ policies
    def policy_settings(self) -> dict:
        return policies.read_all()

    def set_policy(self, name: str, value) -> tuple[str, object]:
        self._writable()
        key, parsed = policies.parse_setting(name, value)
        with self.db.atomic():
            old = policies.read(key)
            policies.write(key, parsed, now=self.now(), operator=self.operator)
            if old != parsed:
                self._audit("policy.set", None, policy=key, old=old, new=parsed)
        self.verifier.forget_policy_cache()
        return key, parsed

    # ------------------------------------------------------------------ verification
    def verify(self, token: str, environment: str | Environment, permission: str | Permission | None = None,
               scope: str | Scope | None = None, ip: str | None = None, module: str | None = None) -> VerifyResult:
        return self.verifier.verify(token, environment, permission, scope, ip, module)

    # ------------------------------------------------------------------ audit
    def audit_entries(self, key_id: str | None = None, limit: int | None = None) -> list[dict]:
        from keytui.store.models import AuditEntry

        q = AuditEntry.select().order_by(AuditEntry.seq.desc())
        if key_id:
            q = q.where(AuditEntry.key_id == key_id.strip().lower())
        if limit:
            q = q.limit(limit)
        return [{"seq": e.seq, "ts": e.ts.isoformat(), "operator": e.operator, "action": e.action,
                 "key_id": e.key_id, "details": json.loads(e.details)} for e in q]

    def verify_audit(self) -> audit.ChainReport:
        return audit.verify_chain(self.keyring.audit_key)

    def audit_export(self, what: str, **details) -> None:
        """Record an export (or another read that leaves the building) in the audit log."""
        self._writable()
        with self.db.atomic():
            self._audit(what, None, **details)


def expiry_label(view: KeyView) -> str:
    if view.expires_at is None:
        return "never"
    return view.expires_at.strftime("%Y-%m-%d")

