"""Verification, the hot path every face and the gateway share.

A token is judged in two steps: ``check`` reads (format and checksum first, so a malformed
token never reaches the database; then one lookup by HMAC digest, so no secret is ever
compared), and ``record`` writes the activity events, the hourly usage counters and the
keys' last-used times in one transaction. ``verify`` does both for one call; the gateway
checks many requests and records them together (group commit).

The SQL is written once per process with the database's own parameter style: building a
Peewee query per call costs more than the lookup itself (see DESIGN.md).
"""

from __future__ import annotations

import hmac
import ipaddress
import re
import time
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Iterable

from keytui import tokens
from keytui.clock import HOUR_MS, from_ms
from keytui.domain import (CANARY_CODE, PRIVILEGED, Environment, InputError, Permission, Scope, Status, VerifyCode,
                           effective_permissions, effective_status, parse_environment, parse_ip, parse_permission,
                           parse_scope, split_list, split_permissions)
from keytui.service import integrity, policies
from keytui.service.integrity import TAMPERED
from keytui.service.context import Context
from keytui.store.hotpath import VerificationSQL

MODULE_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,31}$")
POLICY_TTL_S = 2.0
INTACT_CACHE = 4096  # rows whose seals were checked, per verifier


@dataclass(frozen=True)
class VerifyResult:
    valid: bool
    code: VerifyCode
    key_id: str | None = None
    scope: str | None = None
    environment: str | None = None
    permissions: tuple[str, ...] = ()
    expires_at: datetime | None = None
    # a canary key's token: answered exactly like NOT_FOUND (never in as_dict, equality or repr);
    # the gateway reads it to cool the caller off at once
    canary: bool = field(default=False, repr=False, compare=False)

    def as_dict(self) -> dict:
        return {"valid": self.valid, "code": self.code.value, "key_id": self.key_id, "scope": self.scope,
                "environment": self.environment, "permissions": list(self.permissions),
                "expires_at": self.expires_at.isoformat() if self.expires_at else None}


@dataclass(frozen=True)
class Event:
    """One verification, ready to be recorded."""

    ts_ms: int
    key_id: str | None
    key_row: int | None
    module: str
    action: str
    status: str
    code: str
    ip: str | None
    environment: str
    secret_row: int | None = None  # which of the key's tokens matched (old or new during a rotation)


@lru_cache(maxsize=4096)
def _networks(allowlist: str) -> tuple:
    return tuple(ipaddress.ip_network(n, strict=False) for n in split_list(allowlist))


def ip_allowed(ip: str | None, allowlist: str) -> bool:
    if not allowlist:
        return True
    if ip is None:
        return False
    addr = ipaddress.ip_address(ip)
    return any(addr in net for net in _networks(allowlist))


def parse_module(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    text = str(value).strip().lower()
    if not MODULE_RE.match(text):
        raise InputError("module", f"{value!r} is not a module name (1-32 of a-z 0-9 . _ -)")
    return text


# The same few environments, permissions, scopes, modules and callers come back on every call:
# parse each spelling once (a bad one raises InputError every time; exceptions are not cached).
_environment = lru_cache(maxsize=64)(parse_environment)
_permission = lru_cache(maxsize=64)(parse_permission)
_scope = lru_cache(maxsize=64)(parse_scope)
_ip = lru_cache(maxsize=4096)(parse_ip)
_module = lru_cache(maxsize=256)(parse_module)


@lru_cache(maxsize=64)
def _effective(perms_text: str) -> frozenset[Permission]:
    return effective_permissions(split_permissions(perms_text))


@lru_cache(maxsize=64)
def _permission_names(perms_text: str) -> tuple[str, ...]:
    return tuple(sorted(p.value for p in split_permissions(perms_text)))


class Verifier:
    """Checks and records verifications for one context (its database, keyring and clock)."""

    def __init__(self, ctx: Context):
        self.ctx = ctx
        self.sql = VerificationSQL.for_database(ctx.db)
        self._policy_value: bool | None = None
        self._policy_read_at = 0.0
        self._intact_rows: dict[tuple, bool] = {}  # (row, digest) -> seals hold

    def forget_policy_cache(self) -> None:
        self._policy_value = None

    def _monitoring(self) -> bool:
        now = time.monotonic()
        if self._policy_value is None or now - self._policy_read_at > POLICY_TTL_S:
            self._policy_value = bool(policies.read(self.ctx, "usage_monitoring"))
            self._policy_read_at = now
        return self._policy_value

    # ------------------------------------------------------------------ read
    def check(self, token: str, environment: str | Environment, permission: str | Permission | None = None,
              scope: str | Scope | None = None, ip: str | None = None,
              module: str | None = None) -> tuple[VerifyResult, Event]:
        env = _environment(environment)
        perm = _permission(permission) if permission else None
        want_scope = _scope(scope) if scope else None
        ip = _ip(ip) if ip else None
        module = _module(module) if module else None
        now_ms = self.ctx.clock.now_ms()
        action = "execution" if perm in PRIVILEGED else "access"

        row = None
        tag_env = tokens.token_environment(token)
        if tag_env is not None:
            digest = self.ctx.keyring.digest(token)
            row = self.ctx.db.execute_sql(self.sql.lookup, (digest,)).fetchone()
        if row is None:
            result = VerifyResult(False, VerifyCode.NOT_FOUND)
            return result, Event(now_ms, None, None, module or "unknown", action, "failed",
                                 result.code.value, ip, env.value)

        (row_id, key_id, key_scope, perms_text, key_env, status, expires_at, allowlist, valid_until, ended_by,
         *sealed, secret_row, canary) = row
        if not self._intact(row, digest) or tag_env.value != key_env:
            # edited without the master key: the caller learns nothing more than for an unknown
            # token; the activity log says TAMPERED and the watch raises a high alert
            result = VerifyResult(False, VerifyCode.NOT_FOUND)
            return result, Event(now_ms, key_id, None, module or key_scope, action, "failed", TAMPERED, ip, env.value)
        if canary:
            return (VerifyResult(False, VerifyCode.NOT_FOUND, canary=True),
                    Event(now_ms, key_id, row_id, module or "unknown", action, "failed", CANARY_CODE, ip, env.value,
                          secret_row))
        code = self._judge(now_ms, env, perm, want_scope, ip, key_scope, perms_text, key_env, status, expires_at,
                           allowlist, valid_until, ended_by)
        result = VerifyResult(code is VerifyCode.VALID, code, key_id, key_scope, key_env,
                              _permission_names(perms_text), from_ms(expires_at))
        event = Event(now_ms, key_id, row_id, module or key_scope, action,
                      "success" if result.valid else "failed", code.value, ip, env.value, secret_row)
        return result, event

    def _intact(self, row: tuple, digest: str) -> bool:
        """Do the key's and the secret's seals hold? Rows repeat call after call, so each row as
        read (seals included: any edit makes a new entry) is judged once."""
        known = self._intact_rows.get((row, digest))
        if known is None:
            (_, key_id, scope, perms, env, status, expires_at, allowlist, valid_until, ended_by, revoked_at,
             expiry_days, key_seal, created_at, secret_seal, _, canary) = row
            keyring = self.ctx.keyring
            known = (key_seal is not None and secret_seal is not None
                     and hmac.compare_digest(key_seal, integrity.key_seal(
                         keyring, key_id, status, env, perms, scope, expires_at, allowlist, revoked_at, expiry_days,
                         bool(canary)))
                     and hmac.compare_digest(secret_seal, integrity.secret_seal(
                         keyring, key_id, digest, created_at, valid_until, ended_by)))
            if len(self._intact_rows) >= INTACT_CACHE:
                self._intact_rows.clear()
            self._intact_rows[(row, digest)] = known
        return known

    @staticmethod
    def _judge(now_ms, env, perm, want_scope, ip, key_scope, perms_text, key_env, status, expires_at, allowlist,
               valid_until, ended_by) -> VerifyCode:
        judged = effective_status(status, expires_at, now_ms)
        if judged is Status.REVOKED:
            return VerifyCode.REVOKED
        if judged is Status.EXPIRED:
            return VerifyCode.EXPIRED
        if valid_until is not None and valid_until <= now_ms:
            return VerifyCode.REVOKED if ended_by in ("regeneration", "revocation") else VerifyCode.EXPIRED
        if key_env != env.value:
            return VerifyCode.WRONG_ENVIRONMENT
        if not ip_allowed(ip, allowlist):
            return VerifyCode.IP_NOT_ALLOWED
        if want_scope is not None and want_scope.value != key_scope:
            return VerifyCode.SCOPE_MISMATCH
        if perm is not None and perm not in _effective(perms_text):
            return VerifyCode.INSUFFICIENT_PERMISSION
        return VerifyCode.VALID

    # ------------------------------------------------------------------ write
    def record(self, events: Iterable[Event]) -> None:
        """Write events, counters and last-used times in one transaction (one commit for many calls).
        A canary's use is written even with Usage Monitoring off: its alert is built from it.
        Last used is the last successful verification: a refused presentation (an expired key's
        token, a wrong environment) is in the activity log, not in the key's last use."""
        events = list(events)
        if not events:
            return
        self.ctx.require_recording()
        keep_rows = self._monitoring()
        rollups: dict[tuple[int, str, str], list[int]] = {}
        touched: dict[int, int] = {}
        for ev in events:
            counts = rollups.setdefault((ev.ts_ms - ev.ts_ms % HOUR_MS, ev.key_id or "", ev.module), [0, 0])
            counts[0 if ev.status == "success" else 1] += 1
            if ev.status == "success" and ev.key_row is not None and ev.ts_ms > touched.get(ev.key_row, 0):
                touched[ev.key_row] = ev.ts_ms
        db = self.ctx.db
        rows = events if keep_rows else [ev for ev in events if ev.code == CANARY_CODE]
        with db.atomic():
            cursor = db.cursor()
            if rows:
                cursor.executemany(self.sql.insert_event, [(ev.ts_ms, ev.key_id, ev.module, ev.action, ev.status,
                                                         ev.code, ev.ip, ev.environment, ev.secret_row) for ev in rows])
            if touched:
                cursor.executemany(self.sql.touch_key, [(ts, row_id, ts) for row_id, ts in touched.items()])
            cursor.executemany(self.sql.bump_rollup, [(hour, key_id, module, ok, failed)
                                                   for (hour, key_id, module), (ok, failed) in rollups.items()])

    def verify(self, token: str, environment, permission=None, scope=None, ip=None, module=None) -> VerifyResult:
        result, event = self.check(token, environment, permission, scope, ip, module)
        self.record([event])
        return result
