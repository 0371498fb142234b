"""Rules an organisation adds on top of keytui's own: IP Locking per environment, and the active
org policy (a TOML file applied with `keytui policy apply`).

The vault calls the check_* functions inside its own validation, so every face enforces the
same policy. Each raises RuleError naming the field and what the policy allows.
"""

from __future__ import annotations

from datetime import datetime

from keytui import policies
from keytui.domain import Environment, Permission, RuleError, Scope


def check_allowlist(*, env: Environment, ip_allowlist: tuple[str, ...]) -> None:
    if not ip_allowlist and policies.read(f"ip_locking.{env.value}") == "required":
        raise RuleError(f"ip: IP Locking is required in {env.value}; give at least one address or CIDR", field="ip")


def check_permissions(*, env: Environment, permissions: frozenset[Permission]) -> None:
    return None


def check_new_key(*, env: Environment, scope: Scope, permissions: frozenset[Permission],
                  expires_at: datetime | None, now: datetime, ip_allowlist: tuple[str, ...]) -> None:
    check_allowlist(env=env, ip_allowlist=ip_allowlist)
    check_permissions(env=env, permissions=permissions)


def check_rotation(*, row, now: datetime) -> None:
    env = Environment(row.environment)
    check_allowlist(env=env, ip_allowlist=tuple(x for x in row.ip_allowlist.split(",") if x))
