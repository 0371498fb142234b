"""Rules an organisation adds on top of keytui's own: IP Locking per environment, and the active
org policy (a TOML file applied with `keytui policy apply`; every field is documented in
keytui/examples/org-policy.toml).

The lifecycle calls the check_* hooks inside its own validation, so every face enforces the same
policy; each raises RuleError naming the field and what the policy allows. `apply` validates a
policy file, stores it as the active policy (audited), and flags the live keys that violate it
(and clears the flags of keys that no longer do); `preview` reports the same without changing
anything. Only live keys (active, not past expiry) are judged: expired and revoked keys cannot
be used, so flagging them would be noise.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache

from keytui.domain import (EXPIRY_CHOICES, Environment, InputError, Permission, RuleError, Scope, format_permissions,
                           is_live, parse_environment, parse_permission, parse_scope, split_list, split_permissions)
from keytui.service import policies
from keytui.service.context import Context, uses_store
from keytui.service.paced import CHUNK, Paced
from keytui.store.models import ApiKey, OrgPolicy
from keytui.store.sql import chunks

MAX_DAYS = 3650
MAX_POLICY_BYTES = 64 * 1024
CHANNEL_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,31}$")
FIELDS = {
    "max_expiry_days": "longest lifetime a key may have, in days (1-3650); keys that never expire violate it",
    "require_ip_restriction": "true: every key needs an IP allowlist",
    "forbidden_permissions": "permissions no key may hold (read, write, execute, admin)",
    "allowed_scopes": "the only scopes keys may have (omit for all)",
    "default_expiry_days": "the expiry policy the create form preselects (30, 60 or 90)",
}


@dataclass(frozen=True)
class EnvRules:
    """What the org policy says about one environment (None / empty: no rule)."""

    max_expiry_days: int | None = None
    require_ip_restriction: bool = False
    forbidden_permissions: frozenset[Permission] = frozenset()
    allowed_scopes: frozenset[Scope] | None = None
    default_expiry_days: int | None = None


@dataclass(frozen=True)
class OrgPolicyDoc:
    name: str
    environments: dict[Environment, EnvRules]
    source: str = field(repr=False)
    required_channels: tuple[str, ...] = ()  # alert channels that must exist ([alerts])

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.source.encode()).hexdigest()


@dataclass(frozen=True)
class Rules:
    """A snapshot of what creation and rotation must respect: IP Locking and the org policy.
    Bulk paths take one snapshot per batch instead of reading the settings per key."""

    ip_required: frozenset[Environment]
    org: OrgPolicyDoc | None

    def env(self, env: Environment) -> EnvRules:
        return self.org.environments.get(env, EnvRules()) if self.org else EnvRules()


# ---------------------------------------------------------------------------------- parsing
def parse(text: str) -> OrgPolicyDoc:
    """The policy in `text`, or InputError naming the line and field and what is allowed.

    A policy is read on every create, rotation and watch pass, so it is capped in size and each
    text is parsed once per process (the cache is keyed by the text itself, so a policy row
    edited behind keytui's back is parsed afresh, never answered from the cache).
    """
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_POLICY_BYTES:
        raise InputError("org policy", f"is {size} bytes; at most {MAX_POLICY_BYTES} allowed")
    return _parse(text)


@lru_cache(maxsize=8)
def _parse(text: str) -> OrgPolicyDoc:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError("org policy", f"not valid TOML: {exc}") from None
    except RecursionError:
        raise InputError("org policy", "nested too deeply to be a policy (tables and arrays go a few levels deep)") from None
    where = _Locator(text)
    unknown = set(data) - {"name", "defaults", "environments", "alerts"}
    if unknown:
        bad = sorted(unknown)[0]
        raise InputError(where(bad), "unknown setting; allowed: name, [defaults], [environments.<env>], [alerts]")
    name = data.get("name", "org policy")
    if not isinstance(name, str) or not name.strip() or len(name) > 100 or not name.isprintable():
        raise InputError(where("name"), "must be a text of 1-100 printable characters (no control characters)")
    defaults = _env_table(data.get("defaults", {}), ("defaults",), where, {})
    envs_raw = data.get("environments", {})
    if not isinstance(envs_raw, dict):
        raise InputError(where("environments"), "must be tables like [environments.production]")
    given: dict[Environment, dict] = {}
    spelled: dict[Environment, str] = {}
    for raw_env, table in envs_raw.items():
        try:
            env = parse_environment(raw_env, where("environments", raw_env))
        except InputError as exc:
            raise InputError(exc.field, exc.message) from None
        if env in given:  # [environments.prod] after [environments.production]: one would shadow the other
            raise InputError(where("environments", raw_env),
                             f"{env.value} is already given as [environments.{spelled[env]}]; give it once")
        spelled[env] = raw_env
        given[env] = _env_table(table, ("environments", raw_env), where, defaults)
    environments = {env: EnvRules(**given.get(env, defaults)) for env in Environment}
    return OrgPolicyDoc(name.strip(), environments, text, _required_channels(data.get("alerts", {}), where))


def _required_channels(table, where) -> tuple[str, ...]:
    """[alerts] required_channels = ["oncall", ...]: channel names (1-32 of a-z 0-9 . _ -)."""
    if not isinstance(table, dict) or set(table) - {"required_channels"}:
        raise InputError(where("alerts"), "allowed: required_channels = [\"name\", ...]")
    names = table.get("required_channels", [])
    if not isinstance(names, list) or not all(isinstance(n, str) and CHANNEL_RE.match(n) for n in names):
        raise InputError(where("alerts", "required_channels"),
                         "must be a list of channel names (1-32 of a-z 0-9 . _ -), e.g. [\"oncall\"]")
    return tuple(dict.fromkeys(names))


def _env_table(table, path: tuple[str, ...], where, inherited: dict) -> dict:
    if not isinstance(table, dict):
        raise InputError(where(*path), "must be a table of settings")
    out = dict(inherited)
    for key, value in table.items():
        spot = where(*path, key)
        if key not in FIELDS:
            raise InputError(spot, f"unknown setting; allowed: {', '.join(FIELDS)}")
        if key == "max_expiry_days":
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_DAYS:
                raise InputError(spot, f"{value!r} is not allowed; give a whole number of days from 1 to {MAX_DAYS}")
            out[key] = value
        elif key == "default_expiry_days":
            if value not in EXPIRY_CHOICES or isinstance(value, bool):
                raise InputError(spot, f"{value!r} is not an expiry policy; allowed: "
                                       f"{', '.join(map(str, EXPIRY_CHOICES))}")
            out[key] = value
        elif key == "require_ip_restriction":
            if not isinstance(value, bool):
                raise InputError(spot, f"{value!r} is not allowed; give true or false")
            out[key] = value
        else:
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise InputError(spot, "must be a list of names, e.g. [\"admin\"]")
            try:
                items = [(parse_permission(v) if key == "forbidden_permissions" else parse_scope(v)) for v in value]
            except InputError as exc:
                raise InputError(spot, exc.message) from None
            out[key] = frozenset(items)
    default, longest = out.get("default_expiry_days"), out.get("max_expiry_days")
    if default and longest and default > longest:
        raise InputError(where(*path, "default_expiry_days"),
                         f"{default} days is longer than max_expiry_days ({longest})")
    return out


class _Locator:
    """Names a setting with the line it is on, for error messages."""

    def __init__(self, text: str):
        self.lines: dict[tuple[str, ...], int] = {}
        table: tuple[str, ...] = ()
        for number, line in enumerate(text.splitlines(), 1):
            stripped = line.strip()
            header = re.match(r"^\[\s*([^\[\]]+?)\s*\]", stripped)
            if header:
                table = tuple(p.strip().strip("\"'") for p in header.group(1).split("."))
                self.lines.setdefault(table, number)
                continue
            key = re.match(r"^([A-Za-z0-9_\-\"'.]+)\s*=", stripped)
            if key:
                path = table + tuple(p.strip("\"'") for p in key.group(1).split("."))
                self.lines.setdefault(path, number)

    def __call__(self, *path: str) -> str:
        dotted = ".".join(path)
        for end in range(len(path), 0, -1):
            if path[:end] in self.lines:
                return f"{dotted} (line {self.lines[path[:end]]})"
        return dotted


# ---------------------------------------------------------------------------------- the active policy
@uses_store
def active(ctx: Context) -> OrgPolicyDoc | None:
    row = OrgPolicy.select().where(OrgPolicy.active == True).order_by(OrgPolicy.id.desc()).first()  # noqa: E712
    return parse(row.source) if row else None


@uses_store
def active_record(ctx: Context) -> dict | None:
    """Who applied the active org policy, when, and its name and digest (for `policy show`)."""
    row = OrgPolicy.select().where(OrgPolicy.active == True).order_by(OrgPolicy.id.desc()).first()  # noqa: E712
    if row is None:
        return None
    doc = parse(row.source)
    return {"name": doc.name, "sha256": doc.digest, "applied_at": row.applied_at.isoformat(),
            "applied_by": row.applied_by}


@uses_store
def current(ctx: Context) -> Rules:
    settings = policies.read_all(ctx)
    required = frozenset(env for env in Environment if settings[f"ip_locking.{env.value}"] == "required")
    return Rules(required, active(ctx))


def default_expiry_days(ctx: Context, env: Environment) -> int | None:
    """The expiry the create form should preselect in `env` (None: the form's own default)."""
    return current(ctx).env(env).default_expiry_days


# ---------------------------------------------------------------------------------- judging
def problems(rules: Rules, *, env: Environment, scope: Scope, permissions: frozenset[Permission],
             ip_allowlist: tuple[str, ...], expires_at: datetime | None, expiry_days: int | None,
             now: datetime) -> list[tuple[str, str]]:
    """Every (field, reason) by which a key breaks IP Locking or the org policy."""
    org = rules.env(env)
    out: list[tuple[str, str]] = []
    if org.allowed_scopes is not None and scope not in org.allowed_scopes:
        allowed = ", ".join(s.value for s in Scope if s in org.allowed_scopes) or "none"
        out.append(("scope", f"the org policy does not allow scope {scope.value} in {env.value} (allowed: {allowed})"))
    out += _permission_problems(rules, env, permissions) + _ip_problems(rules, env, ip_allowlist)
    if org.max_expiry_days is not None:
        limit = now + timedelta(days=org.max_expiry_days, minutes=1)
        allows = f"the org policy allows at most {org.max_expiry_days} days in {env.value}"
        if expires_at is None:
            out.append(("expiry", f"never expires; {allows}"))
        elif expires_at > limit or (expiry_days or 0) > org.max_expiry_days:
            days = expiry_days or round((expires_at - now).total_seconds() / 86400)
            out.append(("expiry", f"{days}-day expiry; {allows}"))
    return out


def _permission_problems(rules: Rules, env: Environment, permissions: frozenset[Permission]) -> list:
    forbidden = rules.env(env).forbidden_permissions & permissions
    if not forbidden:
        return []
    return [("permission", f"the org policy forbids {format_permissions(forbidden)} permission in {env.value}")]


def _ip_problems(rules: Rules, env: Environment, ip_allowlist: tuple[str, ...]) -> list:
    if ip_allowlist:
        return []
    if env in rules.ip_required:
        return [("ip", f"IP Locking is required in {env.value}; give at least one address or CIDR")]
    if rules.env(env).require_ip_restriction:
        return [("ip", f"the org policy requires an IP restriction in {env.value}; give at least one address or CIDR")]
    return []


def _refuse(found: list[tuple[str, str]]) -> None:
    if found:
        field_name, reason = found[0]
        raise RuleError(f"{field_name}: {reason}", field=field_name)


def check_allowlist(rules: Rules, *, env: Environment, ip_allowlist: tuple[str, ...]) -> None:
    _refuse(_ip_problems(rules, env, ip_allowlist))


def check_permissions(rules: Rules, *, env: Environment, permissions: frozenset[Permission]) -> None:
    _refuse(_permission_problems(rules, env, permissions))


def check_new_key(rules: Rules, *, env: Environment, scope: Scope, permissions: frozenset[Permission],
                  expires_at: datetime | None, now: datetime, ip_allowlist: tuple[str, ...],
                  expiry_days: int | None = None) -> None:
    _refuse(problems(rules, env=env, scope=scope, permissions=permissions, ip_allowlist=ip_allowlist,
                     expires_at=expires_at, expiry_days=expiry_days, now=now))


def check_rotation(rules: Rules, *, key, now: datetime, expiry_days: int | None = None) -> None:
    """A rotation renews the key for its expiry policy (or the new one, `expiry_days`), so the
    renewed key must comply."""
    days = expiry_days or key.expiry_days
    expires = now + timedelta(days=days) if days else key.expires_at
    _refuse(problems(rules, env=Environment(key.environment), scope=Scope(key.scope),
                     permissions=split_permissions(key.permissions), ip_allowlist=split_list(key.ip_allowlist),
                     expires_at=expires, expiry_days=days, now=now))


def flag_for(rules: Rules, key, now: datetime) -> str | None:
    """The key's flag as the watch would set it (None: complies, or not live): a change that
    fixes a key clears its flag at once instead of at the next watch pass."""
    if not is_live(key.status, key.expires_at, now):
        return None
    found = problems(rules, env=Environment(key.environment), scope=Scope(key.scope),
                     permissions=split_permissions(key.permissions), ip_allowlist=split_list(key.ip_allowlist),
                     expires_at=key.expires_at, expiry_days=key.expiry_days, now=now)
    return "; ".join(reason for _, reason in found) or None


# ---------------------------------------------------------------------------------- apply
@dataclass(frozen=True)
class Violation:
    key_id: str
    name: str
    environment: str
    reasons: list[str]


@dataclass(frozen=True)
class ApplyReport:
    policy: OrgPolicyDoc | None
    dry_run: bool
    checked: int
    violations: list[Violation]
    flagged: int  # keys newly flagged or whose reasons changed
    cleared: int  # keys whose flag was removed

    def as_dict(self) -> dict:
        return {"policy": self.policy.name if self.policy else None,
                "sha256": self.policy.digest if self.policy else None, "dry_run": self.dry_run,
                "checked": self.checked, "flagged": self.flagged, "cleared": self.cleared,
                "violations": [{"key_id": v.key_id, "name": v.name, "environment": v.environment,
                                "reasons": v.reasons} for v in self.violations]}


def preview(ctx: Context, text: str) -> ApplyReport:
    """What applying `text` would report; nothing is stored or flagged."""
    return apply(ctx, text, dry_run=True)


@uses_store
def apply(ctx: Context, text: str, *, dry_run: bool = False) -> ApplyReport:
    doc = parse(text)
    if dry_run:
        return _judge_keys(ctx, Rules(current(ctx).ip_required, doc), dry_run=True)[0]
    ctx.require_writable()
    with ctx.transaction():
        OrgPolicy.update(active=False).where(OrgPolicy.active == True).execute()  # noqa: E712
        OrgPolicy.create(applied_at=ctx.now(), applied_by=ctx.operator, source=text, active=True)
        report, changes = _judge_keys(ctx, Rules(current(ctx).ip_required, doc), dry_run=False)
        _store_flags(changes)
        ctx.audit("orgpolicy.apply", None, name=doc.name, sha256=doc.digest, checked=report.checked,
                     violations=len(report.violations), flagged=report.flagged, cleared=report.cleared,
                     violating_keys=[v.key_id for v in report.violations[:100]])
    return report


@uses_store
def refresh_flags(ctx: Context, paced: Paced | None = None) -> tuple[int, int]:
    """Re-judge live keys against the active policy (the watch calls this after its pass: a fixed
    key loses its flag, a key that expired or was revoked too). Returns (flagged, cleared).

    Keys are judged outside any write transaction (a scan of every key must not hold the write
    lock); only the changed flags are written, a chunk and its audit entry per short
    transaction. A key edited in between is re-judged next pass.
    """
    rules = current(ctx)
    if rules.org is None and not rules.ip_required:
        if not ApiKey.select().where(ApiKey.policy_violation.is_null(False)).exists():
            return 0, 0
    report, changes = _judge_keys(ctx, rules, dry_run=False)
    if changes:
        ctx.require_writable()
        work = [(text, chunk) for text, ids in changes.items() for chunk in chunks(ids, CHUNK)]
        (paced or Paced(ctx)).each(work, lambda item: _store_flag_chunk(ctx, *item))
    return report.flagged, report.cleared


def _store_flag_chunk(ctx: Context, text: str | None, key_ids: list[str]) -> None:
    _store_flags({text: key_ids})
    ctx.audit("orgpolicy.flags", None, flagged=len(key_ids) if text else 0, cleared=0 if text else len(key_ids))


def _store_flags(changes: dict[str | None, list[str]]) -> None:
    for text, ids in changes.items():
        for chunk in chunks(ids):
            ApiKey.update(policy_violation=text).where(ApiKey.key_id.in_(chunk)).execute()


def _judge_keys(ctx: Context, rules: Rules, *, dry_run: bool) -> tuple[ApplyReport, dict[str | None, list[str]]]:
    """The report for every live key, and the flag changes it implies (new text -> key ids)."""
    now = ctx.now()
    violations: list[Violation] = []
    changes: dict[str | None, list[str]] = {}
    flagged = cleared = checked = 0
    q = ApiKey.select(ApiKey.key_id, ApiKey.name, ApiKey.environment, ApiKey.scope, ApiKey.permissions,
                      ApiKey.ip_allowlist, ApiKey.expires_at, ApiKey.expiry_days, ApiKey.status,
                      ApiKey.policy_violation).order_by(ApiKey.id)
    for key_id, name, env, scope, perms, allow, expires_at, expiry_days, status, flag in q.tuples().iterator():
        reasons = []
        if is_live(status, expires_at, now):
            checked += 1
            reasons = [r for _, r in problems(
                rules, env=Environment(env), scope=Scope(scope), permissions=split_permissions(perms),
                ip_allowlist=split_list(allow), expires_at=expires_at,
                expiry_days=expiry_days, now=now)]
        if reasons:
            violations.append(Violation(key_id, name, env, reasons))
        text = "; ".join(reasons) or None
        if text != flag:
            changes.setdefault(text, []).append(key_id)
            flagged += text is not None
            cleared += text is None
    return ApplyReport(rules.org, dry_run, checked, violations, flagged, cleared), changes
