"""What the service hands to the faces: plain, immutable views with no secret in them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Iterable

from keytui.domain import (Environment, Permission, Scope, Status, effective_status, format_permissions,
                           split_list, split_permissions)


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


@dataclass(frozen=True)
class NewKey:
    """A key to issue with `create_many`: the fields of `create`, plus an optional key id
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


def key_view(row, now: datetime, hint: str | None = None) -> KeyView:
    """The view of an ApiKey row (or of the same fields planned for one)."""
    stored = Status(row.status)
    return KeyView(
        key_id=row.key_id, name=row.name, scope=Scope(row.scope), permissions=split_permissions(row.permissions),
        environment=Environment(row.environment), owner=row.owner, created_by=row.created_by,
        created_at=row.created_at, updated_at=row.updated_at, expires_at=row.expires_at,
        expiry_days=row.expiry_days, status=effective_status(stored, row.expires_at, now), stored_status=stored,
        revoked_at=row.revoked_at, revoke_reason=row.revoke_reason, last_used_at=row.last_used_at,
        ip_allowlist=split_list(row.ip_allowlist), policy_violation=row.policy_violation, hint=hint,
    )
