"""Read-side queries for the keys registry: filter, sort and page in SQL.

The registry must stay responsive with 100,000 keys, so nothing here loads every row: the
faces ask for a window (LIMIT/OFFSET over an indexed order) and a count.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from keytui.domain import Environment, Scope, Status, parse_environment, parse_scope, InputError
from keytui.store.models import ApiKey, KeySecret

SORTABLE = {
    "name": ApiKey.name, "key_id": ApiKey.key_id, "scope": ApiKey.scope, "owner": ApiKey.owner,
    "created_at": ApiKey.created_at, "expires_at": ApiKey.expires_at, "status": ApiKey.status,
    "last_used_at": ApiKey.last_used_at, "environment": ApiKey.environment, "permissions": ApiKey.permissions,
}


@dataclass(frozen=True)
class KeyFilter:
    status: Status | None = None
    environment: Environment | None = None
    scope: Scope | None = None
    search: str | None = None
    violations_only: bool = False

    @classmethod
    def parse(cls, status=None, environment=None, scope=None, search=None, violations_only=False) -> "KeyFilter":
        st = None
        if status:
            try:
                st = Status(str(status).strip().lower())
            except ValueError:
                raise InputError("status", f"unknown status {status!r}; allowed: active, expired, revoked") from None
        return cls(st, parse_environment(environment) if environment else None,
                   parse_scope(scope) if scope else None, (search or "").strip() or None, violations_only)


def _where(f: KeyFilter, now: datetime):
    cond = []
    if f.status is Status.ACTIVE:
        cond.append((ApiKey.status == "active") & (ApiKey.expires_at.is_null() | (ApiKey.expires_at > now)))
    elif f.status is Status.EXPIRED:
        cond.append((ApiKey.status == "expired") | ((ApiKey.status == "active") & (ApiKey.expires_at <= now)))
    elif f.status is Status.REVOKED:
        cond.append(ApiKey.status == "revoked")
    if f.environment:
        cond.append(ApiKey.environment == f.environment.value)
    if f.scope:
        cond.append(ApiKey.scope == f.scope.value)
    if f.search:
        s = f.search
        cond.append(ApiKey.name.contains(s) | ApiKey.key_id.contains(s.lower()) | ApiKey.owner.contains(s)
                    | ApiKey.scope.contains(s.lower()))
    if f.violations_only:
        cond.append(ApiKey.policy_violation.is_null(False))
    return cond


def query(f: KeyFilter, now: datetime, *, sort: str = "created_at", descending: bool = True,
          limit: int | None = None, offset: int = 0):
    """Rows (ApiKey) of one window, in a stable order (key id breaks ties)."""
    if sort not in SORTABLE:
        raise InputError("sort", f"unknown column {sort!r}; allowed: {', '.join(SORTABLE)}")
    col = SORTABLE[sort]
    q = ApiKey.select()
    for c in _where(f, now):
        q = q.where(c)
    order = [col.desc(), ApiKey.id.desc()] if descending else [col.asc(), ApiKey.id.asc()]
    q = q.order_by(*order).offset(offset)
    if limit is not None:
        q = q.limit(limit)
    return q


def count(f: KeyFilter, now: datetime) -> int:
    q = ApiKey.select()
    for c in _where(f, now):
        q = q.where(c)
    return q.count()


def hints_for(rows) -> dict[int, str]:
    """The current token hint of each key in a window (one query for the window)."""
    ids = [r.id for r in rows]
    if not ids:
        return {}
    out: dict[int, str] = {}
    q = (KeySecret.select(KeySecret.key, KeySecret.hint).where(KeySecret.key.in_(ids) & KeySecret.ended_by.is_null())
         .order_by(KeySecret.id))
    for s in q.tuples():
        out[s[0]] = s[1]
    return out


__all__ = ["KeyFilter", "query", "count", "hints_for", "SORTABLE"]
