"""Who may do what: the roles of the daemon's users, and the one map from each `Vault` method
to the role it needs.

Roles are ordered: a viewer reads everything but changes nothing and never sees a token; an
operator also runs the key lifecycle (the MFA rules still apply); an admin also changes
policies, the org policy and roles, and resets another operator's MFA. The daemon authorises
every remote call with `authorize`; in embedded mode whoever can open the home holds its master
key and is its admin (or a viewer with --read-only). Grants, revocations and refusals are audited.
"""

from __future__ import annotations

import hmac
import pwd
import re
import threading
from enum import IntEnum

from keytui.domain import InputError, RoleRefused
from keytui.service.context import Context, uses_store
from keytui.store.models import RoleGrant


class Role(IntEnum):
    VIEWER = 1
    OPERATOR = 2
    ADMIN = 3

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> "Role":
        try:
            return cls[str(text).strip().upper()]
        except KeyError:
            raise InputError("role", f"unknown role {text!r}; allowed: viewer, operator, admin") from None


VIEWER, OPERATOR, ADMIN = Role.VIEWER, Role.OPERATOR, Role.ADMIN

# Every Vault method a remote caller may reach, and the least role it needs. A method missing
# here is refused to remote callers (tests/unit/test_roles.py checks every method is decided).
REQUIRED: dict[str, Role] = {
    # who am I, reads
    "whoami": VIEWER, "now": VIEWER, "has_mfa": VIEWER, "mfa_window_open": VIEWER, "mfa_window_until": VIEWER,
    "enroll_mfa": VIEWER,
    "confirm_mfa": VIEWER, "get": VIEWER, "secrets": VIEWER, "list_keys": VIEWER, "count_keys": VIEWER,
    "find": VIEWER, "export_text": VIEWER, "policy_settings": VIEWER, "policy_views": VIEWER,
    "org_policy": VIEWER, "org_policy_record": VIEWER, "preview_org_policy": VIEWER,
    "default_expiry_days": VIEWER, "audit_entries": VIEWER, "verify_audit": VIEWER, "audit_anchor": VIEWER,
    "check_anchors": VIEWER, "alerts": VIEWER, "alert_channels": VIEWER, "rotation_traffic": VIEWER,
    "alert": VIEWER, "overview": VIEWER, "scope_summaries": VIEWER, "usage": VIEWER, "events": VIEWER,
    "count_events": VIEWER, "latest_event_id": VIEWER, "key_activity": VIEWER, "roles": VIEWER,
    # the key lifecycle
    "create": OPERATOR, "create_many": OPERATOR, "rotate": OPERATOR, "regenerate": OPERATOR, "revoke": OPERATOR,
    "revoke_many": OPERATOR, "restore": OPERATOR, "update": OPERATOR, "copy_token": OPERATOR,
    "expire_due": OPERATOR, "verify": OPERATOR, "acknowledge_alert": OPERATOR, "run_watch_pass": OPERATOR,
    "end_grace": OPERATOR, "scan_report": OPERATOR, "respond_to_leaks": OPERATOR, "deliver_alerts": OPERATOR,
    "test_alert_channel": OPERATOR,
    # the house rules
    "set_policy": ADMIN, "apply_org_policy": ADMIN, "grant_role": ADMIN, "revoke_role": ADMIN,
    "reset_mfa": ADMIN, "build_demo": ADMIN, "reanchor_audit": ADMIN, "add_alert_channel": ADMIN,
    "remove_alert_channel": ADMIN,
}
# Only in process: they hand out another identity or run until stopped.
EMBEDDED_ONLY = frozenset({"open", "as_operator", "close", "watch_loop", "export_registry",
                           "export_verify_only_keyring", "copy_database"})  # files, URLs of the caller's host

# What a refusal calls the call (`rotate needs the operator role`).
ACTION_NAMES = {"copy_token": "copy token", "update": "edit", "create_many": "create", "revoke_many": "revoke",
                "acknowledge_alert": "acknowledge an alert", "set_policy": "change a policy",
                "apply_org_policy": "apply the org policy", "grant_role": "grant a role",
                "revoke_role": "revoke a role", "reset_mfa": "reset MFA", "run_watch_pass": "run the watch",
                "build_demo": "build demo data", "expire_due": "expire keys",
                "reanchor_audit": "re-anchor the audit log", "add_alert_channel": "add an alert channel",
                "remove_alert_channel": "remove an alert channel", "scan_report": "check tokens found by a scan",
                "respond_to_leaks": "revoke leaked keys", "end_grace": "end a grace period"}

USER_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,63}\Z")


def required(method: str, kwargs: dict | None = None) -> Role | None:
    """The least role `method` needs with these arguments; None if remote callers may not call it."""
    if method == "apply_org_policy" and (kwargs or {}).get("dry_run") is True:
        return VIEWER  # a dry run stores nothing
    return REQUIRED.get(method)


def refusal(method: str, user: str, role: Role | None, needed: Role | None) -> RoleRefused:
    what = ACTION_NAMES.get(method, method.replace("_", " "))
    if role is None:
        return RoleRefused(f"{user} has no keytui role; an admin can grant one with `keytui roles grant {user} viewer`",
                           needed=needed.label if needed else None)
    if needed is None:
        return RoleRefused(f"{what} is not available through the daemon", role=role.label)
    article = "an" if role is ADMIN else "a"
    return RoleRefused(f"{what} needs the {needed.label} role; {user} is {article} {role.label}",
                       needed=needed.label, role=role.label)


AUDITED_REFUSALS = 60  # a caller's refused attempts written to the audit log in a minute


class RefusalBudget:
    """How many of a caller's refused attempts are audited in a minute. Any local user may call
    the daemon, and a loop of refused calls would otherwise fill the audit log (and hold its
    write lock) without end. Past the budget an attempt is still refused, and counted: the
    caller's next audited refusal says how many went unwritten before it, or, for a caller who
    stops, `record_unwritten` does once the minute is over. A person mistyping commands stays
    far below the budget."""

    def __init__(self, per_minute: int = AUDITED_REFUSALS):
        self.per_minute = per_minute
        self._lock = threading.Lock()  # the daemon's pool threads share it
        self._callers: dict[str, tuple[int, int, int]] = {}  # user -> (minute, audited in it, unwritten since)

    def take(self, user: str, minute: int) -> int | None:
        """None if this attempt goes unwritten; else how many went unwritten before it."""
        with self._lock:
            at, audited, unwritten = self._callers.get(user, (minute, 0, 0))
            if at != minute:
                at, audited = minute, 0
            if audited >= self.per_minute:
                self._callers[user] = (at, audited, unwritten + 1)
                return None
            self._callers[user] = (at, audited + 1, 0)
            return unwritten

    def overdue(self, minute: int | None = None) -> list[tuple[str, int]]:
        """(caller, attempts left unwritten) for each minute before `minute` (every one, with
        None) whose unwritten attempts no audited refusal has reported; those are forgotten."""
        with self._lock:
            over = [user for user, (at, _, _) in self._callers.items() if minute is None or at < minute]
            due = [(user, self._callers.pop(user)[2]) for user in over]
        return [(user, count) for user, count in due if count]


def minute_of(ctx: Context) -> int:
    """The budget's minute: the service clock's, so a test's clock moves it too."""
    return int(ctx.now().timestamp() // 60)


def record_unwritten(ctx: Context, budget: RefusalBudget, minute: int | None = None) -> None:
    """Audit, as each caller, how many of their refused attempts the budget left unwritten in a
    minute now over (every one, with None: the daemon stopping), one entry per caller."""
    for user, count in budget.overdue(minute):
        as_user = ctx.as_operator(user)
        with as_user.transaction():
            as_user.audit("access.refused.unwritten", None, count=count)


def authorize(ctx: Context, method: str, kwargs: dict | None, role: Role | None,
              budget: RefusalBudget | None = None) -> None:
    """Refuse a call `role` does not allow (None: the caller has no role), and audit the refused
    attempt as the context's operator (within `budget`, if given)."""
    needed = required(method, kwargs)
    if needed is not None and role is not None and role >= needed:
        return
    raise recorded(ctx, method, refusal(method, ctx.operator, role, needed), budget)


def recorded(ctx: Context, method: str, error: RoleRefused, budget: RefusalBudget | None = None) -> RoleRefused:
    """The refused attempt in the audit log, in a transaction of its own (nothing else happens)."""
    unwritten = budget.take(ctx.operator, minute_of(ctx)) if budget is not None else 0
    if unwritten is None:
        return error
    extra = {"unwritten_before": unwritten} if unwritten else {}
    with ctx.transaction():
        ctx.audit("access.refused", None, call=method, needed=error.needed, role=error.role, **extra)
    return error


def _seal(ctx: Context, user: str, role: str) -> str:
    return ctx.keyring.seal("role grant", user, role)


@uses_store
def role_of(ctx: Context, user: str) -> Role | None:
    """The user's role; a row whose seal fails (written around keytui, e.g. straight into a
    shared PostgreSQL database) grants nothing."""
    found = RoleGrant.get_or_none(RoleGrant.user == user)
    if found is None or not hmac.compare_digest(found.seal, _seal(ctx, found.user, found.role)):
        return None
    return Role.parse(found.role)


@uses_store
def list_roles(ctx: Context) -> list[dict]:
    return [{"user": r.user, "role": r.role, "granted_at": r.granted_at.isoformat(), "granted_by": r.granted_by,
             "intact": hmac.compare_digest(r.seal, _seal(ctx, r.user, r.role))}
            for r in RoleGrant.select().order_by(RoleGrant.user)]


def _check_user(user: str) -> str:
    user = str(user).strip()
    if not USER_NAME.match(user):
        raise InputError("user", "a user name is letters, digits, '_', '.' or '-' (at most 64, not starting with a digit)")
    try:
        pwd.getpwnam(user)
    except KeyError:
        raise InputError("user", f"{user!r} is not a user on this host") from None
    return user


@uses_store
def grant(ctx: Context, user: str, role: str | Role) -> dict:
    ctx.require_writable()
    user, role = _check_user(user), role if isinstance(role, Role) else Role.parse(role)
    with ctx.transaction():
        before = RoleGrant.get_or_none(RoleGrant.user == user)
        seal = _seal(ctx, user, role.label)
        RoleGrant.insert(user=user, role=role.label, granted_at=ctx.now(), granted_by=ctx.operator,
                         seal=seal).on_conflict(
            conflict_target=[RoleGrant.user],
            update={RoleGrant.role: role.label, RoleGrant.granted_at: ctx.now(), RoleGrant.granted_by: ctx.operator,
                    RoleGrant.seal: seal}).execute()
        ctx.audit("role.grant", None, user=user, role=role.label, previous=before.role if before else None)
    return {"user": user, "role": role.label, "previous": before.role if before else None}


@uses_store
def revoke(ctx: Context, user: str) -> dict:
    ctx.require_writable()
    user = str(user).strip()
    with ctx.transaction():
        before = RoleGrant.get_or_none(RoleGrant.user == user)
        if before is None:
            raise InputError("user", f"{user!r} has no role to revoke")
        RoleGrant.delete().where(RoleGrant.user == user).execute()
        ctx.audit("role.revoke", None, user=user, previous=before.role)
    return {"user": user, "role": None, "previous": before.role}
