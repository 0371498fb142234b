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
from typing import Iterable, NamedTuple, Sequence

from keytui import tokens
from keytui.clock import HOUR_MS, from_ms
from keytui.domain import (CANARY_CODE, PRIVILEGED, Environment, InputError, Permission, Scope, Status, VerifyCode,
                           effective_permissions, effective_status, parse_environment, parse_ip, parse_permission,
                           parse_scope, split_list, split_permissions)
from keytui.service import integrity, policies
from keytui.service.integrity import TAMPERED
from keytui.service.context import Context
from keytui.store.hotpath import VerificationSQL, transaction_id, transaction_status
from keytui.store.sql import execute_many

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


@dataclass
class Receipt:
    """One batch's write across its retries. A COMMIT whose answer is lost (the connection to
    the database server dropped just then) may have committed or not; on PostgreSQL the
    receipt keeps the id of the transaction last tried, and the next attempt asks the server
    how it ended, so a retried batch is never written twice."""

    txid: int | None = None


class OutcomePending(Exception):
    """The last attempt's transaction is still running on the server (it has not yet noticed
    the lost connection): try again shortly."""


class Event(NamedTuple):
    """One verification, ready to be recorded. A tuple: built once per call and, in the demo,
    sent across a pipe by the million, which a frozen dataclass made twice as costly."""

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

    def as_failed(self, code: str) -> "Event":
        """The same call recorded as refused with `code` (the gateway's 503 when it could not commit)."""
        return self._replace(status="failed", code=code)


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


def _result(code: VerifyCode | None, row: tuple | None, event: Event) -> VerifyResult:
    """The caller's answer to a call judged `code` (None: an unknown token, a tampered row or a
    canary, all answered alike; only the gateway learns of the canary)."""
    if code is None:
        return VerifyResult(False, VerifyCode.NOT_FOUND, canary=event.code == CANARY_CODE)
    _, key_id, key_scope, perms_text, key_env, _, expires_at, *_ = row
    return VerifyResult(code is VerifyCode.VALID, code, key_id, key_scope, key_env, _permission_names(perms_text),
                        from_ms(expires_at))


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
        tag_env = tokens.token_environment(token)
        digest = row = None
        if tag_env is not None:
            digest = self.ctx.keyring.digest(token)
            row = self.ctx.db.execute_sql(self.sql.lookup, (digest,)).fetchone()
        intact = row is not None and self._intact(row, digest) and tag_env.value == row[4]
        code, event = self._event(self.ctx.clock.now_ms(), row, intact, environment, permission, scope, ip, module)
        return _result(code, row, event), event

    def check_many(self, calls: Sequence[tuple[int, tuple]]) -> list[Event]:
        """The events of many calls, each `(moment in ms, check's arguments)`, judged exactly as
        `check` judges them at their own moments, against the keys as they are now.

        Each distinct token is read once, a few hundred in one query, and its seals are checked
        once: the demo checks a million calls in stretches between which no key changes, and
        reading the same token's row again for each of its calls cost half of checking them."""
        read: dict[str, tuple] = {}
        tagged: dict[str, tuple[Environment, str]] = {}  # well-formed token -> (its tag, its digest)
        for _, (token, *_) in calls:
            if token not in read:
                read[token] = (None, False)
                tag_env = tokens.token_environment(token)
                if tag_env is not None:
                    tagged[token] = (tag_env, self.ctx.keyring.digest(token))
        rows = self._lookup_many([digest for _, digest in tagged.values()])
        for token, (tag_env, digest) in tagged.items():
            row = rows.get(digest)
            if row is not None:
                read[token] = (row, self._intact(row, digest) and tag_env.value == row[4])
        judge = self._event
        return [judge(ts, *read[args[0]], *args[1:])[1] for ts, args in calls]

    def _lookup_many(self, digests: list[str]) -> dict[str, tuple]:
        """digest -> the row `check` reads for it, for the digests that match a secret."""
        found: dict[str, tuple] = {}
        execute, many = self.ctx.db.execute_sql, self.sql.many
        for at in range(0, len(digests), many):
            chunk = digests[at:at + many]
            chunk += chunk[-1:] * (many - len(chunk))  # one statement for every chunk
            for digest, *row in execute(self.sql.lookup_many, chunk).fetchall():
                found[digest] = tuple(row)
        return found

    def _event(self, now_ms: int, row: tuple | None, intact: bool, environment: str | Environment,
               permission=None, scope=None, ip=None, module=None) -> tuple[VerifyCode | None, Event]:
        """Judge one call of a token whose row was read (None: no such token) and whose seals
        and environment tag were checked (`intact`): the verdict (None: answered as an unknown
        token) and the event to record. The caller's answer is built apart (`_result`): the
        demo checks a million calls and needs only their events."""
        env = _environment(environment)
        perm = _permission(permission) if permission else None
        want_scope = _scope(scope) if scope else None
        ip = _ip(ip) if ip else None
        module = _module(module) if module else None
        action = "execution" if perm in PRIVILEGED else "access"
        if row is None:
            return None, Event(now_ms, None, None, module or "unknown", action, "failed",
                               VerifyCode.NOT_FOUND.value, ip, env.value)

        (row_id, key_id, key_scope, perms_text, key_env, status, expires_at, allowlist, valid_until, ended_by,
         *sealed, secret_row, canary) = row
        if not intact:
            # edited without the master key: the caller learns nothing more than for an unknown
            # token; the activity log says TAMPERED and the watch raises a high alert
            return None, Event(now_ms, key_id, None, module or key_scope, action, "failed", TAMPERED, ip, env.value)
        if canary:
            return None, Event(now_ms, key_id, row_id, module or "unknown", action, "failed", CANARY_CODE, ip,
                               env.value, secret_row)
        code = self._judge(now_ms, env, perm, want_scope, ip, key_scope, perms_text, key_env, status, expires_at,
                           allowlist, valid_until, ended_by)
        return code, Event(now_ms, key_id, row_id, module or key_scope, action,
                           "success" if code is VerifyCode.VALID else "failed", code.value, ip, env.value, secret_row)

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
    def record(self, events: Iterable[Event], receipt: Receipt | None = None) -> None:
        """Write events, counters and last-used times in one transaction (one commit for many calls).
        A canary's use is written even with Usage Monitoring off: its alert is built from it.
        Last used is the last successful verification: a refused presentation (an expired key's
        token, a wrong environment) is in the activity log, not in the key's last use. Read by
        position, so a plain tuple of an Event's fields is recorded alike (the demo's helper
        sends its million events so: unpickling an Event costs five times a tuple). With a
        `receipt`, an earlier attempt of the same batch that did commit is not written again."""
        events = list(events)
        if not events:
            return
        self.ctx.require_recording()
        if receipt is not None and receipt.txid is not None and self._landed(receipt):
            return
        keep_rows = self._monitoring()
        rollups: dict[tuple[int, str, str], list[int]] = {}
        touched: dict[int, int] = {}
        for ts_ms, key_id, key_row, module, _, status, *_ in events:
            counts = rollups.setdefault((ts_ms - ts_ms % HOUR_MS, key_id or "", module), [0, 0])
            if status == "success":
                counts[0] += 1
                if key_row is not None and ts_ms > touched.get(key_row, 0):
                    touched[key_row] = ts_ms
            else:
                counts[1] += 1
        db = self.ctx.db
        rows = events if keep_rows else [ev for ev in events if ev[6] == CANARY_CODE]  # code
        with db.atomic():
            if receipt is not None:
                receipt.txid = transaction_id(db)
            cursor = db.cursor()
            if rows:  # every field but key_row
                execute_many(db, self.sql.insert_event, [ev[:2] + ev[3:] for ev in rows], cursor)
            if touched:
                execute_many(db, self.sql.touch_key, [(ts, row_id, ts) for row_id, ts in touched.items()], cursor)
            execute_many(db, self.sql.bump_rollup, [(hour, key_id, module, ok, failed)
                                                   for (hour, key_id, module), (ok, failed) in rollups.items()], cursor)

    def _landed(self, receipt: Receipt) -> bool:
        """Did the attempt whose COMMIT went unanswered commit after all?"""
        status = transaction_status(self.ctx.db, receipt.txid)
        if status == "in progress":
            raise OutcomePending("the activity batch's last COMMIT is still running on the database server")
        receipt.txid = None
        return status == "committed"

    def verify(self, token: str, environment, permission=None, scope=None, ip=None, module=None) -> VerifyResult:
        result, event = self.check(token, environment, permission, scope, ip, module)
        self.record([event])
        return result
