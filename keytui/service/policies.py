"""Security and rotation policy settings (spec section 6), persisted and audited when changed.

Each setting has a default that applies until an operator changes it (the defaults are the
spec's mock config: auto rotation and alerts enabled, IP Locking optional); reading is cheap
so the verification hot path can consult Usage Monitoring through a short cache.

What each does, and where:
- auto_rotation / auto_rotation_days: the watch rotates an active key once when it enters the
  window before its expiry, as `system`, with the default grace period; the new token is kept
  encrypted for an audited copy, and an `auto-rotated` alert tells operators to hand it over.
- expiry_alerts / expiry_alert_days: the watch alerts when a key enters the window (and was not
  renewed by rotation) and when it expires.
- usage_monitoring: on, every verification writes an activity event; off, verification still
  bumps the hourly counters and last-used times (analytics and charts keep working) but writes
  no per-event row, so the activity log and suspicious-activity detection see nothing new.
- suspicious_detection / suspicious_failures / suspicious_window_minutes: the watch alerts on a
  burst of failures for one key or from one IP (N within M minutes), a valid token from outside
  its allowlist, use of a revoked or expired key, and a token presented in another environment.
- ip_locking.<environment>: `required` refuses creating or rotating a key without an allowlist
  there (and removing one); the watch flags existing keys without one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable

from keytui.domain import Environment, InputError, parse_environment
from keytui.service.context import Context, uses_store
from keytui.store.models import PolicySetting


def _bool(name: str) -> Callable[[Any], bool]:
    def parse(value: Any) -> bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("on", "true", "yes", "1", "enabled", "enable"):
            return True
        if text in ("off", "false", "no", "0", "disabled", "disable"):
            return False
        raise InputError(name, f"{value!r} is not on/off; allowed: on, off")
    return parse


def _int(name: str, low: int, high: int) -> Callable[[Any], int]:
    def parse(value: Any) -> int:
        try:
            number = int(str(value).strip())
        except ValueError:
            number = None
        if number is None or not (low <= number <= high):
            raise InputError(name, f"{value!r} is not allowed; give a whole number from {low} to {high}")
        return number
    return parse


def _choice(name: str, choices: tuple[str, ...]) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        text = str(value).strip().lower()
        if text not in choices:
            raise InputError(name, f"{value!r} is not allowed; allowed: {', '.join(choices)}")
        return text
    return parse


@dataclass(frozen=True)
class PolicyDef:
    name: str
    default: Any
    parse: Callable[[Any], Any]
    help: str


def _defs() -> list[PolicyDef]:
    defs = [
        PolicyDef("auto_rotation", True, _bool("auto_rotation"), "Rotate active keys shortly before they expire"),
        PolicyDef("auto_rotation_days", 7, _int("auto_rotation_days", 1, 60), "Days before expiry to rotate"),
        PolicyDef("expiry_alerts", True, _bool("expiry_alerts"), "Alert before and when a key expires"),
        PolicyDef("expiry_alert_days", 7, _int("expiry_alert_days", 1, 60), "Days before expiry to alert"),
        PolicyDef("usage_monitoring", True, _bool("usage_monitoring"),
                  "Record every verification in the activity log (off: hourly counters only)"),
        PolicyDef("suspicious_detection", True, _bool("suspicious_detection"), "Detect suspicious activity"),
        PolicyDef("suspicious_failures", 5, _int("suspicious_failures", 2, 1000),
                  "Failed verifications (one key or one IP) that make a burst"),
        PolicyDef("suspicious_window_minutes", 5, _int("suspicious_window_minutes", 1, 1440),
                  "Minutes within which the failures count as a burst"),
    ]
    for env in Environment:
        defs.append(PolicyDef(f"ip_locking.{env.value}", "optional",
                              _choice(f"ip_locking.{env.value}", ("optional", "required")),
                              f"IP restrictions in {env.value}: optional or required"))
    return defs


POLICIES: dict[str, PolicyDef] = {d.name: d for d in _defs()}


def parse_setting(name: str, value: Any) -> tuple[str, Any]:
    key = str(name).strip().lower().replace("-", "_")
    if key.startswith("ip_locking."):
        env_part = key.split(".", 1)[1]
        key = f"ip_locking.{parse_environment(env_part, 'policy').value}"
    if key not in POLICIES:
        raise InputError("policy", f"unknown policy {name!r}; allowed: {', '.join(POLICIES)}")
    return key, POLICIES[key].parse(value)


@uses_store
def read_all(ctx: Context) -> dict[str, Any]:
    values = {d.name: d.default for d in POLICIES.values()}
    for row in PolicySetting.select():
        if row.name in values:
            values[row.name] = json.loads(row.value)
    return values


@uses_store
def read(ctx: Context, name: str) -> Any:
    row = PolicySetting.get_or_none(PolicySetting.name == name)
    return json.loads(row.value) if row else POLICIES[name].default


@uses_store
def set_policy(ctx: Context, name: str, value) -> tuple[str, Any]:
    """Change one setting (audited when the value changes); returns the parsed (name, value)."""
    ctx.require_writable()
    key, parsed = parse_setting(name, value)
    now, operator = ctx.now(), ctx.operator
    with ctx.transaction():
        old = read(ctx, key)
        text = json.dumps(parsed)
        PolicySetting.insert(name=key, value=text, updated_at=now, updated_by=operator).on_conflict(
            conflict_target=[PolicySetting.name],
            update={PolicySetting.value: text, PolicySetting.updated_at: now, PolicySetting.updated_by: operator},
        ).execute()
        if old != parsed:
            ctx.audit("policy.set", None, policy=key, old=old, new=parsed)
    return key, parsed


@dataclass(frozen=True)
class SettingView:
    """One setting as `policy show` and the Policies page present it."""

    name: str
    value: Any
    default: Any
    help: str
    updated_at: Any = None
    updated_by: str | None = None

    @property
    def text(self) -> str:
        return format_value(self.value)


def format_value(value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


@uses_store
def settings_view(ctx: Context) -> list[SettingView]:
    rows = {row.name: row for row in PolicySetting.select()}
    out = []
    for d in POLICIES.values():
        row = rows.get(d.name)
        out.append(SettingView(d.name, json.loads(row.value) if row else d.default, d.default, d.help,
                               row.updated_at if row else None, row.updated_by if row else None))
    return out

