"""Reading key rows and minting secrets: the steps the lifecycle functions share.

Every function here runs inside its caller's bound context (usually its transaction).
"""

from __future__ import annotations

import base64
import re
import secrets
from datetime import datetime
from typing import Iterable

from keytui import tokens
from keytui.domain import Environment, NotFoundError, RuleError, Status, effective_status
from keytui.service import integrity
from keytui.service.context import Context
from keytui.service.views import KeyView, key_view
from keytui.store.models import ApiKey, KeySecret
from keytui.store.sql import chunks

KEY_ID_RE = re.compile(r"^key_[a-z2-7]{16}$")


def new_key_id() -> str:
    return "key_" + base64.b32encode(secrets.token_bytes(10)).decode().lower()


def normal_id(key_id: str) -> str:
    return str(key_id).strip().lower()


def row(key_id: str) -> ApiKey:
    found = ApiKey.get_or_none(ApiKey.key_id == normal_id(key_id))
    if found is None:
        raise NotFoundError(f"key: no key with id {key_id!r}")
    return found


def rows(key_ids: Iterable[str]) -> list[ApiKey]:
    """Several keys, a few queries for any number, in the order given (duplicates once);
    NotFoundError names a missing one."""
    wanted = list(dict.fromkeys(normal_id(k) for k in key_ids))
    found: dict[str, ApiKey] = {}
    for chunk in chunks(wanted):
        found.update((r.key_id, r) for r in ApiKey.select().where(ApiKey.key_id.in_(chunk)))
    missing = next((k for k in wanted if k not in found), None)
    if missing is not None:
        raise NotFoundError(f"key: no key with id {missing!r}")
    return [found[k] for k in wanted]


def refuse_if_final(key: ApiKey, action: str) -> None:
    """Revoked is final."""
    if key.status == Status.REVOKED:
        raise RuleError(f"key: {key.key_id} is revoked; revoked keys cannot be {action} or restored")


def live_row(key_id: str, action: str, now: datetime) -> ApiKey:
    """The key, if it may still get a new token: not revoked, not expired."""
    key = row(key_id)
    refuse_if_final(key, action)
    if effective_status(key.status, key.expires_at, now) is Status.EXPIRED:
        raise RuleError(f"key: {key.key_id} has expired; expired keys cannot be {action} (create a new key)")
    return key


def newest_secret(key: ApiKey) -> KeySecret | None:
    return (KeySecret.select().where((KeySecret.key == key.id) & KeySecret.ended_by.is_null())
            .order_by(KeySecret.id.desc()).first())


def new_secret(ctx: Context, key_id: str, env: Environment, origin: str) -> tuple[str, dict]:
    """A fresh token and the KeySecret fields that keep it: digest, ciphertext and hint only."""
    token = tokens.generate(env)
    digest, now = ctx.keyring.digest(token), ctx.now()
    return token, dict(digest=digest, ciphertext=ctx.keyring.encrypt(token, key_id), hint=tokens.hint(token),
                       origin=origin, created_at=now,
                       seal=integrity.secret_seal(ctx.keyring, key_id, digest, now, None, None))


def issue_secret(ctx: Context, key: ApiKey, origin: str) -> str:
    token, fields = new_secret(ctx, key.key_id, Environment(key.environment), origin)
    KeySecret.create(key=key.id, **fields)
    return token


def view(ctx: Context, key: ApiKey) -> KeyView:
    secret = newest_secret(key)
    return key_view(key, ctx.now(), secret.hint if secret else None)
