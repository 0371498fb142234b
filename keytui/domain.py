"""The vocabulary of keytui and the pure validation of what users type.

The slugs here are the public interface of the CLI, the HTTP API and the export, so they
never change spelling. Every parse_* function raises InputError naming the field and what
is allowed, before anything touches the store.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from enum import StrEnum
from typing import Iterable


class InputError(ValueError):
    """Bad input: one line naming the field and what is allowed; nothing was changed."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class RuleError(Exception):
    """A product rule refused the change (revoked is final, MFA required, policy...)."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


class NotFoundError(LookupError):
    """No such key (or operator)."""


class ReadOnlyError(RuleError):
    """keytui was opened read-only; the service refuses every write."""


class StoreUnavailable(Exception):
    """The store cannot be used as it is: locked past the busy timeout, damaged, missing, full,
    read-only, or a home that is not safe. `message` is one line naming the cause and what to
    do; `reason` is a stable slug (locked, damaged, missing, full, read-only, unsafe, schema,
    unavailable, unreachable: a database server that cannot be reached). Nothing was changed."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason
        self.message = message


class RoleRefused(RuleError):
    """The caller's role does not allow the call (`rotate needs the operator role; alice is a viewer`)."""

    def __init__(self, message: str, *, needed: str | None = None, role: str | None = None):
        super().__init__(message)
        self.needed = needed
        self.role = role


class Scope(StrEnum):
    AGENTS = "agents"
    WORKFLOWS = "workflows"
    GOVERNANCE = "governance"
    SANDBOX = "sandbox"
    DEMO_BUILDS = "demo-builds"
    INTEGRATIONS = "integrations"
    MONITORING = "monitoring"

    @property
    def label(self) -> str:
        return SCOPE_LABELS[self]


SCOPE_LABELS = {
    Scope.AGENTS: "Agents Execution",
    Scope.WORKFLOWS: "Workflow Automation",
    Scope.GOVERNANCE: "Governance Systems",
    Scope.SANDBOX: "Sandbox Environments",
    Scope.DEMO_BUILDS: "Demo Builds",
    Scope.INTEGRATIONS: "Integrations",
    Scope.MONITORING: "Monitoring & Logs",
}

# Which platform module uses keys of a scope (spec "Interconnections").
SCOPE_USAGE = {
    Scope.AGENTS: "Execution triggers",
    Scope.WORKFLOWS: "Automation calls",
    Scope.GOVERNANCE: "Policy and compliance checks",
    Scope.SANDBOX: "Simulation access",
    Scope.DEMO_BUILDS: "Build triggers",
    Scope.INTEGRATIONS: "Git / CI/CD / cloud / external AI APIs",
    Scope.MONITORING: "Metrics ingestion",
}


class Permission(StrEnum):
    READ = "read"
    WRITE = "write"
    EXECUTE = "execute"
    ADMIN = "admin"

    @property
    def capability(self) -> str:
        return PERMISSION_CAPABILITIES[self]


PERMISSION_CAPABILITIES = {
    Permission.READ: "Fetch data",
    Permission.WRITE: "Modify configs",
    Permission.EXECUTE: "Trigger workflows",
    Permission.ADMIN: "Full control",
}
PERMISSION_ORDER = [Permission.READ, Permission.WRITE, Permission.EXECUTE, Permission.ADMIN]
# Privileged permissions: granting or copying them needs MFA, and they weigh on scope risk.
PRIVILEGED = frozenset({Permission.EXECUTE, Permission.ADMIN})


class Environment(StrEnum):
    DEVELOPMENT = "development"
    SANDBOX = "sandbox"
    STAGING = "staging"
    PRODUCTION = "production"

    @property
    def tag(self) -> str:
        """The short form inside a token: kt_<tag>_..."""
        return ENV_TAGS[self]

    @property
    def label(self) -> str:
        return self.value.capitalize()


ENV_TAGS = {
    Environment.DEVELOPMENT: "dev",
    Environment.SANDBOX: "sbx",
    Environment.STAGING: "stg",
    Environment.PRODUCTION: "prod",
}
TAG_ENVS = {tag: env for env, tag in ENV_TAGS.items()}
ENV_ALIASES = {"dev": Environment.DEVELOPMENT, "prod": Environment.PRODUCTION,
               "sbx": Environment.SANDBOX, "stg": Environment.STAGING}


class Status(StrEnum):
    ACTIVE = "active"
    EXPIRED = "expired"
    REVOKED = "revoked"


def effective_status(stored: Status | str, expires_at, now) -> Status:
    """What a key is now: an active key past its expiry is expired, whether or not the watch
    has recorded it yet. `expires_at` and `now` are both datetimes or both epoch ms."""
    status = Status(stored)
    if status is Status.ACTIVE and expires_at is not None and expires_at <= now:
        return Status.EXPIRED
    return status


def is_live(stored: Status | str, expires_at, now) -> bool:
    """May the key's tokens work (before their own validity windows are judged)?"""
    return effective_status(stored, expires_at, now) is Status.ACTIVE


def status_sql(status: Status, now_ms: int, prefix: str = "") -> str:
    """The SQL form of `effective_status(...) is status` over a key row (`prefix` is "k." in joins)."""
    st, exp, now = f"{prefix}status", f"{prefix}expires_at", int(now_ms)
    if status is Status.ACTIVE:
        return f"({st} = '{Status.ACTIVE.value}' AND ({exp} IS NULL OR {exp} > {now}))"
    if status is Status.EXPIRED:
        return f"({st} = '{Status.EXPIRED.value}' OR ({st} = '{Status.ACTIVE.value}' AND {exp} <= {now}))"
    return f"({st} = '{Status.REVOKED.value}')"


def live_sql(now_ms: int, prefix: str = "") -> str:
    return status_sql(Status.ACTIVE, now_ms, prefix)


class VerifyCode(StrEnum):
    VALID = "VALID"
    NOT_FOUND = "NOT_FOUND"
    EXPIRED = "EXPIRED"
    REVOKED = "REVOKED"
    WRONG_ENVIRONMENT = "WRONG_ENVIRONMENT"
    IP_NOT_ALLOWED = "IP_NOT_ALLOWED"
    INSUFFICIENT_PERMISSION = "INSUFFICIENT_PERMISSION"
    SCOPE_MISMATCH = "SCOPE_MISMATCH"


# The activity-log code of a canary key's use. The caller is answered NOT_FOUND, exactly as for
# an unknown token; only operators (the log, alerts) ever see this code.
CANARY_CODE = "CANARY"
# What the gateway records for a call that got no verdict: an address cooling off (429), a call
# without a token (401), or a call answered 503 because its event could not be written in time.
RATE_LIMITED, MISSING_TOKEN, UNAVAILABLE = "RATE_LIMITED", "MISSING_TOKEN", "UNAVAILABLE"

EXPIRY_CHOICES = (30, 60, 90)
NAME_MAX = 64
DEFAULT_GRACE_HOURS = 24.0
MAX_GRACE_HOURS = 24.0 * 30


def _choices(enum) -> str:
    return ", ".join(m.value for m in enum)


def parse_scope(value: str) -> Scope:
    try:
        return Scope(str(value).strip().lower())
    except ValueError:
        raise InputError("scope", f"unknown scope {value!r}; allowed: {_choices(Scope)}") from None


def parse_environment(value: str, field: str = "environment") -> Environment:
    text = str(value).strip().lower()
    if text in ENV_ALIASES:
        return ENV_ALIASES[text]
    try:
        return Environment(text)
    except ValueError:
        raise InputError(field, f"unknown environment {value!r}; allowed: {_choices(Environment)} (or dev, prod)") from None


def parse_permission(value: str, field: str = "permission") -> Permission:
    try:
        return Permission(str(value).strip().lower())
    except ValueError:
        raise InputError(field, f"unknown permission {value!r}; allowed: {_choices(Permission)}") from None


def parse_permissions(values: Iterable[str] | str) -> frozenset[Permission]:
    if isinstance(values, str):
        values = [v for v in re.split(r"[,\s]+", values) if v]
    perms = frozenset(parse_permission(v) for v in values)
    if not perms:
        raise InputError("permission", f"at least one is required; allowed: {_choices(Permission)}")
    return perms


def effective_permissions(perms: Iterable[Permission]) -> frozenset[Permission]:
    """admin implies the other three."""
    perms = frozenset(perms)
    return frozenset(Permission) if Permission.ADMIN in perms else perms


def needs_mfa(perms: Iterable[Permission]) -> bool:
    return bool(PRIVILEGED & frozenset(perms))


def privileged_sql(column: str) -> str:
    """The SQL form of `needs_mfa` over a stored permissions list ("read,execute")."""
    return "(" + " OR ".join(f"{column} LIKE '%{p.value}%'" for p in PERMISSION_ORDER if p in PRIVILEGED) + ")"


def format_permissions(perms: Iterable[Permission | str]) -> str:
    """Stored and shown in a fixed order: read,write,execute,admin."""
    perms = {Permission(p) for p in perms}
    return ",".join(p.value for p in PERMISSION_ORDER if p in perms)


def split_permissions(text: str) -> frozenset[Permission]:
    return frozenset(Permission(p) for p in text.split(",") if p)


def validate_name(value: str) -> str:
    name = (value or "").strip()
    if not name:
        raise InputError("name", "must not be empty (1-64 printable characters)")
    if len(name) > NAME_MAX:
        raise InputError("name", f"is {len(name)} characters; at most {NAME_MAX} allowed")
    if not name.isprintable():
        raise InputError("name", "must contain printable characters only (no control, bidi or line-break characters)")
    return name


# Owners and operators are identifiers (a user, a team, a system), not prose: a word character
# first, then word characters and a few separators, so none can carry markup or control.
OWNER_RE = re.compile(r"^\w[\w .@+/-]{0,63}$")
OPERATOR_RE = re.compile(r"^\w[\w.@$-]{0,63}$")


def validate_owner(value: str) -> str:
    owner = (value or "").strip()
    if not OWNER_RE.fullmatch(owner) or not owner.isprintable():
        raise InputError("owner", "must be 1-64 characters: letters, digits and space . @ + / - _ "
                                  "(starting with a letter or digit)")
    return owner


def validate_operator(value: str) -> str:
    operator = str(value or "").strip()
    if not OPERATOR_RE.fullmatch(operator) or not operator.isprintable():
        raise InputError("operator", "must be 1-64 characters: letters, digits and . @ $ - _ "
                                     "(starting with a letter or digit)")
    return operator


def split_list(text: str | None) -> tuple[str, ...]:
    """A stored comma-separated list (IP allowlists) as its items."""
    return tuple(x for x in (text or "").split(",") if x)


def join_list(items: Iterable[str]) -> str:
    return ",".join(items)


def parse_ip_allowlist(values: Iterable[str] | str | None) -> tuple[str, ...]:
    """IPv4/IPv6 addresses and CIDRs, normalised (10.0.0.0/8, 2001:db8::/32)."""
    if values is None:
        return ()
    if isinstance(values, str):
        values = [v for v in re.split(r"[,\s]+", values) if v]
    out: list[str] = []
    for raw in values:
        try:
            if not NETWORK_TEXT.fullmatch(raw.strip()):
                raise ValueError(raw)
            net = ipaddress.ip_network(raw.strip(), strict=False)
        except ValueError:
            raise InputError("ip", f"{raw!r} is not an IPv4/IPv6 address or CIDR (e.g. 10.0.0.0/8, 203.0.113.7)") from None
        text = str(net.network_address) if net.num_addresses == 1 else str(net)
        if text not in out:
            out.append(text)
    return tuple(out)


ADDRESS_TEXT = re.compile(r"[0-9A-Fa-f:.]{2,45}")  # digits, hex, dots and colons only: no zone id, no other text
NETWORK_TEXT = re.compile(r"[0-9A-Fa-f:.]{2,45}(/[0-9]{1,3})?")


def address(text: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """An IP address, or None for anything else. `ipaddress` takes any text after a `%` as an
    IPv6 zone id (`fe80::1%<ESC>]52;...`), so the characters are checked first: a stored or
    logged address can never carry text."""
    if not text or not ADDRESS_TEXT.fullmatch(text):
        return None
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def parse_ip(value: str | None, field: str = "ip") -> str | None:
    if value is None or value == "":
        return None
    addr = address(str(value).strip())
    if addr is None:
        raise InputError(field, f"{value!r} is not an IPv4 or IPv6 address (no zone id)")
    return str(addr)


@dataclass(frozen=True)
class Expiry:
    """What the user asked for: N days, an explicit moment, or never."""

    days: int | None = None
    at: datetime | None = None
    never: bool = False

    def resolve(self, now: datetime) -> datetime | None:
        if self.never:
            return None
        if self.at is not None:
            return self.at
        return now + timedelta(days=self.days)

    def describe(self) -> str:
        if self.never:
            return "never"
        if self.at is not None:
            return self.at.isoformat()
        return f"{self.days} days"


def require_expiry(env: Environment, expiry: Expiry) -> None:
    """Production keys must expire."""
    if env is Environment.PRODUCTION and expiry.never:
        raise InputError("expiry", "production keys must expire; choose 30, 60 or 90 days or a date")


def parse_expiry(days: int | str | None = None, at: str | datetime | None = None, never: bool = False,
                 *, now: datetime, allowed_days: Iterable[int] = EXPIRY_CHOICES) -> Expiry:
    given = sum(x is not None and x is not False for x in (days, at, never or None))
    if given == 0:
        raise InputError("expiry", f"choose one: {'/'.join(map(str, allowed_days))} days, a future date, or never (not in production)")
    if given > 1:
        raise InputError("expiry", "give only one of days, date, or never")
    if never:
        return Expiry(never=True)
    if days is not None:
        try:
            n = int(days)
        except (TypeError, ValueError):
            n = None
        allowed = tuple(allowed_days)
        if n not in allowed:
            raise InputError("expiry", f"{days!r} days is not a policy; allowed: {', '.join(map(str, allowed))} days")
        return Expiry(days=n)
    when = parse_datetime(at, "expiry")
    if when <= now:
        raise InputError("expiry", f"{when.date().isoformat()} is in the past; give a future date")
    return Expiry(at=when)


def parse_datetime(value: str | datetime, field: str) -> datetime:
    if isinstance(value, datetime):
        when = value
    else:
        text = str(value).strip()
        try:
            if len(text) == 10:
                when = datetime.combine(date.fromisoformat(text), time(23, 59, 59))
            else:
                when = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise InputError(field, f"{value!r} is not a date (YYYY-MM-DD or ISO 8601 date-time)") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.astimezone(timezone.utc)


def parse_grace_hours(value: float | str | None) -> float:
    if value is None:
        return DEFAULT_GRACE_HOURS
    try:
        hours = float(value)
    except (TypeError, ValueError):
        hours = -1.0
    if not (0 <= hours <= MAX_GRACE_HOURS):
        raise InputError("grace", f"{value!r} is not a grace period; allowed: 0 to {MAX_GRACE_HOURS:g} hours")
    return hours
