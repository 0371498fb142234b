"""Row integrity: a MAC over every security-relevant field of a key and of each of its secrets.

Whoever can write to the database but does not hold the master key could otherwise set a
revoked key back to active, clear a secret's `ended_by`, or turn a development key into a
production admin key. Each row carries a seal, an HMAC under a key derived from the master key
(keytui.tokens.Keyring.seal) over:

- a key: key_id, status, environment, permissions, scope, expires_at, ip_allowlist, revoked_at,
  expiry_days, and whether it is a canary;
- a secret: its key's key_id (so a secret cannot be moved to another key), digest, created_at,
  valid_until, ended_by.

Names, owners, last-used times and policy flags are not sealed: they decide nothing. A seal
cannot tell an older intact copy of a row from the current one: a revoked key whose pre-revocation
row was put back is found by `audit verify` and the watch against the audit log's `key.revoke`
entries, not by verification. Every
write path that changes a sealed field reseals the row in the same transaction, and only after
checking the old seal, so a tampered row is never blessed by a later change (revoking it is the
exception: the row stays dead and stays reported). Verification refuses a row whose seal fails
(the caller sees NOT_FOUND; the activity log records TAMPERED and the watch raises a high
alert), and `keytui audit verify` reports every such row.

A home created before seals existed is sealed once, on the first open with the master key after
the migration, as an audited `integrity.seal` entry; after that, a row without a seal is tampering.
"""

from __future__ import annotations

import hmac
from datetime import datetime
from typing import Iterable

from keytui.clock import to_ms
from keytui.domain import RuleError, Status
from keytui.store import bulk
from keytui.store.models import ApiKey, AuditEntry, KeySecret, Meta
from keytui.store.sql import chunks
from keytui.tokens import Keyring

UNSEALED = "unsealed_rows"  # written by the migration that added the seals
SEAL_ACTION = "integrity.seal"
TAMPERED = "TAMPERED"  # the activity log's code for a refused row (the caller sees NOT_FOUND)


def _ms(value) -> int | None:
    return to_ms(value) if isinstance(value, datetime) else value


def key_seal(keyring: Keyring, key_id, status, environment, permissions, scope, expires_at, ip_allowlist,
             revoked_at, expiry_days, canary: bool = False) -> str:
    # a canary is sealed as one (so nobody turns the bait into a working key, or a key into bait);
    # other keys' seals are unchanged by the canary column's arrival
    fields = (key_id, status, environment, permissions, scope, _ms(expires_at), ip_allowlist, _ms(revoked_at),
              expiry_days) + (("canary",) if canary else ())
    return keyring.seal("api_key v1", *fields)


def secret_seal(keyring: Keyring, key_id, digest, created_at, valid_until, ended_by) -> str:
    return keyring.seal("key_secret v1", key_id, digest, _ms(created_at), _ms(valid_until), ended_by)


def seal_key_fields(keyring: Keyring, f: dict) -> str:
    """The seal of a key from its field dict (a new key's insert)."""
    return key_seal(keyring, f["key_id"], f["status"], f["environment"], f["permissions"], f["scope"],
                    f["expires_at"], f["ip_allowlist"], f.get("revoked_at"), f.get("expiry_days"),
                    bool(f.get("canary")))


def _key_of(keyring: Keyring, k: ApiKey) -> str:
    return key_seal(keyring, k.key_id, k.status, k.environment, k.permissions, k.scope, k.expires_at,
                    k.ip_allowlist, k.revoked_at, k.expiry_days, bool(k.canary))


def _secret_of(keyring: Keyring, key_id: str, s: KeySecret) -> str:
    return secret_seal(keyring, key_id, s.digest, s.created_at, s.valid_until, s.ended_by)


def _holds(stored: str | None, expected: str) -> bool:
    return stored is not None and hmac.compare_digest(stored, expected)


def refuse_tampered(keyring: Keyring, key: ApiKey) -> None:
    """A change to a key whose rows fail their seals would reseal (bless) the tampering."""
    if not intact_ids(keyring, [key]):
        raise RuleError(f"key: {key.key_id} failed its integrity check (rows changed without the master key); "
                        "it can only be revoked; see `keytui audit verify`")


# what the seals cover, with the row ids and the stored seals: read as plain rows, since building
# a model object per row was most of the cost of expiring thousands of keys
_KEY_COLUMNS = (ApiKey.id, ApiKey.key_id, ApiKey.status, ApiKey.environment, ApiKey.permissions, ApiKey.scope,
                ApiKey.expires_at, ApiKey.ip_allowlist, ApiKey.revoked_at, ApiKey.expiry_days, ApiKey.canary,
                ApiKey.seal)
_SECRET_COLUMNS = (KeySecret.id, KeySecret.key, KeySecret.digest, KeySecret.created_at, KeySecret.valid_until,
                   KeySecret.ended_by, KeySecret.seal)


def sealed_keys(where) -> list:
    """The key rows matching `where`, with the fields their seals cover (attribute access, like models)."""
    return list(ApiKey.select(*_KEY_COLUMNS).where(where).namedtuples())


def _sealed_secrets(key_row_ids: list[int]):
    """The secrets of these keys (`.key` is the key's row id)."""
    return KeySecret.select(*_SECRET_COLUMNS).where(KeySecret.key.in_(key_row_ids)).namedtuples()


def intact_ids(keyring: Keyring, keys: Iterable[ApiKey]) -> set[int]:
    """The row ids of the keys whose rows and secrets' rows all hold (a few queries for any number)."""
    by_id = {k.id: k for k in keys}
    bad = {k.id for k in by_id.values() if not _holds(k.seal, _key_of(keyring, k))}
    for chunk in chunks(list(by_id)):
        for s in _sealed_secrets(chunk):
            if not _holds(s.seal, _secret_of(keyring, by_id[s.key].key_id, s)):
                bad.add(s.key)
    return set(by_id) - bad


def reseal(db, keyring: Keyring, key_row_ids: Iterable[int], *, secrets: bool = True) -> None:
    """Recompute the seals of these keys and (unless the change left them alone) of all their
    secrets from what is stored now (call it after the change, in its transaction, for keys
    that were intact before it)."""
    for chunk in chunks(list(key_row_ids)):
        keys = sealed_keys(ApiKey.id.in_(chunk))
        bulk.set_column(db, ApiKey, "seal", [(_key_of(keyring, k), k.id) for k in keys])
        if secrets:
            ids = {k.id: k.key_id for k in keys}
            bulk.set_column(db, KeySecret, "seal", [(_secret_of(keyring, ids[s.key], s), s.id)
                                                    for s in _sealed_secrets(chunk)])


def scan(keyring: Keyring) -> list[str]:
    """Every key and secret row whose seal fails, and every revocation undone (for `keytui audit verify`)."""
    names = dict(ApiKey.select(ApiKey.id, ApiKey.key_id).tuples())
    found = [f"key {k.key_id}: its row was changed without the master key (status, environment, permissions, "
             "scope, expiry or allowlist)" for k in ApiKey.select().iterator() if not _holds(k.seal, _key_of(keyring, k))]
    for s in KeySecret.select().iterator():
        key_id = names.get(s.key_id)
        if key_id is None or not _holds(s.seal, _secret_of(keyring, key_id, s)):
            found.append(f"key {key_id or '?'}: token …{s.hint[-4:]} (secret {s.id}) was changed without the master "
                         "key (validity or end)")
    return found + [problem for _, problem in revocations_undone()]


def revocations_undone() -> list[tuple[str, str]]:
    """Keys the audit log says were revoked whose row is not revoked: an older, intact copy of
    the row was put back (a seal cannot tell an old state from the current one; the chain can)."""
    revoked = AuditEntry.select(AuditEntry.key_id).where(AuditEntry.action == "key.revoke")
    undone = (ApiKey.select(ApiKey.key_id)
              .where(ApiKey.key_id.in_(revoked) & (ApiKey.status != Status.REVOKED.value)).tuples())
    return [(key_id, f"key {key_id}: the audit log records its revocation but its row is not revoked (rolled back)")
            for (key_id,) in undone]


def seal_migrated_rows(ctx) -> int:
    """Seal the rows of a home created before seals existed, once (audited). A home whose log
    already holds an `integrity.seal` entry is never sealed again: a planted flag must not bless
    rows edited since."""
    with ctx.bound():
        if Meta.get_or_none(Meta.name == UNSEALED) is None:
            return 0
    with ctx.transaction():
        if Meta.get_or_none(Meta.name == UNSEALED) is None:
            return 0
        Meta.delete().where(Meta.name == UNSEALED).execute()
        if AuditEntry.select().where(AuditEntry.action == SEAL_ACTION).exists():
            return 0
        ids = [k for (k,) in ApiKey.select(ApiKey.id).where(ApiKey.seal.is_null()).tuples()]
        secrets = KeySecret.select().where(KeySecret.seal.is_null()).count()
        reseal(ctx.db, ctx.keyring, ids)
        ctx.as_operator("system").audit(SEAL_ACTION, None, keys=len(ids), secrets=secrets)
    return len(ids)
