"""Read-side queries for the keys registry: filter, sort and page in SQL; one key in full.

The registry must stay responsive with 100,000 keys, so nothing here loads every row: the
faces ask for a window (LIMIT/OFFSET over an indexed order) and a count.
"""

from __future__ import annotations

from dataclasses import dataclass

from peewee import SQL

from keytui.clock import DAY_MS, to_ms
from keytui.domain import (Environment, InputError, Scope, Status, is_live, parse_environment, parse_scope,
                           status_sql)
from keytui.service.context import Context, uses_store
from keytui.service.keys import row, view
from keytui.service.views import KeyView, SecretView, key_view
from keytui.store.models import ApiKey, KeySecret

SORTABLE = {
    "name": ApiKey.name, "key_id": ApiKey.key_id, "scope": ApiKey.scope, "owner": ApiKey.owner,
    "created_at": ApiKey.created_at, "expires_at": ApiKey.expires_at, "status": ApiKey.status,
    "last_used_at": ApiKey.last_used_at, "environment": ApiKey.environment, "permissions": ApiKey.permissions,
}


EXPIRING = "expiring"  # the status filter for live keys that expire soon


@dataclass(frozen=True)
class KeyFilter:
    status: Status | None = None
    environment: Environment | None = None
    scope: Scope | None = None
    search: str | None = None
    violations_only: bool = False
    expiring_days: int | None = None  # live keys that expire within this many days

    @classmethod
    def parse(cls, status=None, environment=None, scope=None, search=None, violations_only=False,
              expiring_days: int = 7) -> "KeyFilter":
        """`status` is active, expired, revoked or expiring (live and expiring within `expiring_days`)."""
        st, soon = None, None
        if status and str(status).strip().lower() == EXPIRING:
            soon = expiring_days
        elif status:
            try:
                st = Status(str(status).strip().lower())
            except ValueError:
                raise InputError("status", f"unknown status {status!r}; allowed: active, expired, revoked, "
                                           f"{EXPIRING}") from None
        return cls(st, parse_environment(environment) if environment else None,
                   parse_scope(scope) if scope else None, (search or "").strip() or None, violations_only, soon)


def _filtered(f: KeyFilter, now_ms: int, *fields):
    q = ApiKey.select(*fields)
    if f.status is not None:
        q = q.where(SQL(status_sql(f.status, now_ms)))
    if f.environment:
        q = q.where(ApiKey.environment == f.environment.value)
    if f.scope:
        q = q.where(ApiKey.scope == f.scope.value)
    if f.search:
        s = f.search
        q = q.where(ApiKey.name.contains(s) | ApiKey.key_id.contains(s.lower()) | ApiKey.owner.contains(s)
                    | ApiKey.scope.contains(s.lower()))
    if f.violations_only:
        q = q.where(ApiKey.policy_violation.is_null(False))
    if f.expiring_days is not None:
        q = q.where(SQL(status_sql(Status.ACTIVE, now_ms)) & ApiKey.expires_at.is_null(False)
                    & (ApiKey.expires_at <= now_ms + int(f.expiring_days) * DAY_MS))
    return q


@uses_store
def list_keys(ctx: Context, key_filter: KeyFilter | None = None, *, sort: str = "created_at",
              descending: bool = True, limit: int | None = None, offset: int = 0) -> list[KeyView]:
    """One window of the registry, in a stable order (the row id breaks ties)."""
    if sort not in SORTABLE:
        raise InputError("sort", f"unknown column {sort!r}; allowed: {', '.join(SORTABLE)}")
    if limit is not None and limit < 1:
        raise InputError("limit", f"{limit!r} is not allowed; give 1 or more")
    now = ctx.now()
    col = SORTABLE[sort]
    order = [col.desc(), ApiKey.id.desc()] if descending else [col.asc(), ApiKey.id.asc()]
    q = _filtered(key_filter or KeyFilter(), to_ms(now)).order_by(*order).offset(offset)
    if limit is not None:
        q = q.limit(limit)
    found = list(q)
    hints = _hints(found)
    return [key_view(r, now, hints.get(r.id)) for r in found]


@uses_store
def count_keys(ctx: Context, key_filter: KeyFilter | None = None) -> int:
    return _filtered(key_filter or KeyFilter(), to_ms(ctx.now())).count()


def _hints(found) -> dict[int, str]:
    """The current token hint of each key in a window (one query for the window)."""
    ids = [r.id for r in found]
    if not ids:
        return {}
    q = (KeySecret.select(KeySecret.key, KeySecret.hint).where(KeySecret.key.in_(ids) & KeySecret.ended_by.is_null())
         .order_by(KeySecret.id))
    return dict(q.tuples())


@uses_store
def find(ctx: Context, text: str, limit: int = 20) -> list[KeyView]:
    """Keys whose id or name matches (command palette jump, key pickers)."""
    text = text.strip()
    q = ApiKey.select().where((ApiKey.key_id == text.lower()) | (ApiKey.name.contains(text)))
    return [view(ctx, r) for r in q.order_by(ApiKey.name).limit(limit)]


@uses_store
def get(ctx: Context, key_id: str) -> KeyView:
    return view(ctx, row(key_id))


@uses_store
def secrets(ctx: Context, key_id: str) -> list[SecretView]:
    """Every token of the key, newest first, with whether it works now."""
    key = row(key_id)
    now = ctx.now()
    key_live = is_live(key.status, key.expires_at, now)
    out = []
    for s in KeySecret.select().where(KeySecret.key == key.id).order_by(KeySecret.id.desc()):
        works = key_live and (s.valid_until is None or s.valid_until > now)
        out.append(SecretView(s.hint, s.origin, s.created_at, s.valid_until, s.ended_by, works))
    return out
