"""`Vault`: the service contract the faces (CLI, console, gateway) call.

A thin facade over the service modules: it holds one context and passes it to each. Every
operation a face may perform is a method here, with plain values in and out, so the faces
never reach into the store and the same contract can later be served to remote clients.
"""

from __future__ import annotations

import importlib
import io
from datetime import datetime
from pathlib import Path
from typing import Iterable, TextIO

from keytui.clock import Clock
from keytui.domain import Environment, Permission, Scope
from keytui.service.context import Context
from keytui.service.registry import KeyFilter
from keytui.service.verification import Verifier, VerifyResult
from keytui.service.views import IssuedKey, KeyView, NewKey, SecretView


class _Later:
    """A service module imported on first use: the console's first screen (and a CLI command)
    pays only for the modules it calls, not for the demo builder, exports or delivery."""

    def __init__(self, name: str):
        self._name = name

    def __getattr__(self, attr: str):
        return getattr(importlib.import_module(f"keytui.service.{self._name}"), attr)


(alerts, analytics, anchors, audit, channels, dbcopy, delivery, demo, export, homekind, keyrings, leaks, lifecycle,
 mfa, orgpolicy, policies, registry, roles, rotation, watch) = map(_Later, (
    "alerts", "analytics", "anchors", "audit", "channels", "dbcopy", "delivery", "demo", "export", "homekind",
    "keyrings", "leaks", "lifecycle", "mfa", "orgpolicy", "policies", "registry", "roles", "rotation", "watch"))


class Vault:
    connected = False  # in process; keytui.daemon.client.RemoteVault is the daemon's

    def __init__(self, ctx: Context):
        self.ctx = ctx
        self.verifier = Verifier(ctx)

    @classmethod
    def open(cls, home=None, *, operator: str | None = None, read_only: bool = False, clock: Clock | None = None,
             mfa_window_seconds: int = 0, new_demo: bool = False, reader: bool = False) -> "Vault":
        return cls(Context.open(home, operator=operator, read_only=read_only, clock=clock,
                                mfa_window_seconds=mfa_window_seconds, new_demo=new_demo, reader=reader))

    def close(self) -> None:
        self.ctx.close()

    def as_operator(self, operator: str) -> "Vault":
        """The same database and clock, acting as someone else."""
        return Vault(self.ctx.as_operator(operator))

    # ------------------------------------------------------------------ who and when
    @property
    def operator(self) -> str:
        return self.ctx.operator

    @property
    def read_only(self) -> bool:
        return self.ctx.read_only

    @property
    def home_kind(self) -> str | None:
        """'demo' for a home `keytui demo` built, 'test' for a test home, None for a real one."""
        return homekind.kind(self.ctx.db, self.ctx.keyring)

    @property
    def role(self) -> str:
        """viewer, operator or admin (keytui.service.roles)."""
        return self.ctx.role

    def whoami(self) -> dict:
        return {"user": self.ctx.operator, "role": self.ctx.role, "read_only": self.ctx.read_only,
                "home_kind": self.home_kind}

    @property
    def settings(self):
        return self.ctx.settings

    @property
    def clock(self) -> Clock:
        return self.ctx.clock

    def now(self) -> datetime:
        return self.ctx.now()

    # ------------------------------------------------------------------ MFA
    def has_mfa(self, operator: str | None = None) -> bool:
        return mfa.has_mfa(self.ctx, operator)

    def enroll_mfa(self, operator: str | None = None, *, replace_existing: bool = False,
                   totp: str | None = None) -> tuple[str, str]:
        return mfa.enroll(self.ctx, operator, replace_existing=replace_existing, totp_code=totp)

    def mfa_window_open(self) -> bool:
        return mfa.window_open(self.ctx)

    def mfa_window_until(self) -> datetime | None:
        """When this session's MFA window closes (None: it is closed)."""
        return self.ctx.mfa_until if mfa.window_open(self.ctx) else None

    def confirm_mfa(self, code: str | None) -> None:
        mfa.confirm(self.ctx, code)

    def reset_mfa(self, operator: str) -> None:
        mfa.reset(self.ctx, operator)

    # ------------------------------------------------------------------ roles (the daemon's users)
    def roles(self) -> list[dict]:
        return roles.list_roles(self.ctx)

    def grant_role(self, user: str, role: str) -> dict:
        return roles.grant(self.ctx, user, role)

    def revoke_role(self, user: str) -> dict:
        return roles.revoke(self.ctx, user)

    # ------------------------------------------------------------------ keys: reads
    def get(self, key_id: str) -> KeyView:
        return registry.get(self.ctx, key_id)

    def secrets(self, key_id: str) -> list[SecretView]:
        return registry.secrets(self.ctx, key_id)

    def list_keys(self, key_filter: KeyFilter | None = None, *, sort: str = "created_at", descending: bool = True,
                  limit: int | None = None, offset: int = 0) -> list[KeyView]:
        return registry.list_keys(self.ctx, key_filter, sort=sort, descending=descending, limit=limit, offset=offset)

    def count_keys(self, key_filter: KeyFilter | None = None) -> int:
        return registry.count_keys(self.ctx, key_filter)

    def find(self, text: str, limit: int = 20) -> list[KeyView]:
        return registry.find(self.ctx, text, limit)

    # ------------------------------------------------------------------ keys: lifecycle
    def create(self, name: str, scope: str | Scope, permissions: Iterable[str] | str, environment: str | Environment,
               *, expires_in_days: int | str | None = None, expires_at: str | datetime | None = None,
               no_expiry: bool = False, ip_allowlist: Iterable[str] | str | None = None, owner: str | None = None,
               totp: str | None = None, canary: bool = False) -> IssuedKey:
        spec = NewKey(name, scope, permissions, environment, expires_in_days=expires_in_days, expires_at=expires_at,
                      no_expiry=no_expiry, ip_allowlist=ip_allowlist, owner=owner, canary=canary)
        return self.create_many([spec], totp=totp)[0]

    def create_many(self, specs: Iterable[NewKey], *, totp: str | None = None) -> list[IssuedKey]:
        return lifecycle.create_many(self.ctx, specs, totp=totp)

    def rotate(self, key_id: str, grace_hours: float | str | None = None, *,
               expires_in_days: int | str | None = None) -> IssuedKey:
        return lifecycle.rotate(self.ctx, key_id, grace_hours, expires_in_days=expires_in_days)

    def regenerate(self, key_id: str) -> IssuedKey:
        return lifecycle.regenerate(self.ctx, key_id)

    def revoke(self, key_id: str, reason: str | None = None) -> KeyView:
        lifecycle.revoke_many(self.ctx, [key_id], reason)
        return self.get(key_id)

    def revoke_many(self, key_ids: Iterable[str], reason: str | None = None) -> list[str]:
        return lifecycle.revoke_many(self.ctx, key_ids, reason)

    def restore(self, key_id: str) -> KeyView:
        return lifecycle.restore(self.ctx, key_id)

    def update(self, key_id: str, *, name: str | None = None, owner: str | None = None,
               ip_allowlist: Iterable[str] | str | None = None, permissions: Iterable[str] | str | None = None,
               totp: str | None = None) -> KeyView:
        return lifecycle.update(self.ctx, key_id, name=name, owner=owner, ip_allowlist=ip_allowlist,
                                permissions=permissions, totp=totp)

    def copy_token(self, key_id: str, totp: str | None = None) -> str:
        return lifecycle.copy_token(self.ctx, key_id, totp)

    def expire_due(self) -> list[str]:
        return lifecycle.expire_due(self.ctx)

    def export_registry(self, fmt: str, out: TextIO, *, key_filter: KeyFilter | None = None,
                        destination: str = "") -> int:
        return export.export_registry(self.ctx, fmt, out, key_filter=key_filter, destination=destination)

    def export_text(self, fmt: str, *, key_filter: KeyFilter | None = None, destination: str = "") -> tuple[int, str]:
        """The export as text (for remote clients, which write the file themselves)."""
        out = io.StringIO()
        count = self.export_registry(fmt, out, key_filter=key_filter, destination=destination)
        return count, out.getvalue()

    # ------------------------------------------------------------------ verification
    def verify(self, token: str, environment: str | Environment, permission: str | Permission | None = None,
               scope: str | Scope | None = None, ip: str | None = None, module: str | None = None) -> VerifyResult:
        return self.verifier.verify(token, environment, permission, scope, ip, module)

    # ------------------------------------------------------------------ policies
    def policy_settings(self) -> dict:
        return policies.read_all(self.ctx)

    def policy_views(self) -> list[policies.SettingView]:
        return policies.settings_view(self.ctx)

    def set_policy(self, name: str, value) -> tuple[str, object]:
        result = policies.set_policy(self.ctx, name, value)
        self.verifier.forget_policy_cache()
        return result

    def org_policy(self) -> orgpolicy.OrgPolicyDoc | None:
        return orgpolicy.active(self.ctx)

    def org_policy_record(self) -> dict | None:
        return orgpolicy.active_record(self.ctx)

    def preview_org_policy(self, text: str) -> orgpolicy.ApplyReport:
        return orgpolicy.preview(self.ctx, text)

    def apply_org_policy(self, text: str, *, dry_run: bool = False) -> orgpolicy.ApplyReport:
        return orgpolicy.apply(self.ctx, text, dry_run=dry_run)

    def default_expiry_days(self, environment: Environment) -> int | None:
        return orgpolicy.default_expiry_days(self.ctx, environment)

    # ------------------------------------------------------------------ audit
    def audit_entries(self, key_id: str | None = None, limit: int | None = None) -> list[dict]:
        return audit.entries(self.ctx, key_id, limit)

    def verify_audit(self) -> audit.ChainReport:
        return audit.verify_chain(self.ctx)

    def reanchor_audit(self, totp: str | None = None) -> list[str]:
        return audit.reanchor(self.ctx, totp)

    def copy_database(self, url: str) -> dict:
        return dbcopy.copy_to(self.ctx, url)

    def export_verify_only_keyring(self, path: str) -> str:
        return keyrings.export_verify_only(self.ctx, Path(path))

    def audit_anchor(self) -> str:
        return anchors.statement(self.ctx)

    def check_anchors(self, lines: Iterable[str]) -> anchors.AnchorCheck:
        return anchors.check(self.ctx, lines)

    # ------------------------------------------------------------------ alerts and the watch
    def alerts(self, *, include_acknowledged: bool = False, key_id: str | None = None,
               limit: int = 200) -> list[alerts.AlertView]:
        return alerts.list_alerts(self.ctx, include_acknowledged=include_acknowledged, key_id=key_id, limit=limit)

    def alert(self, alert_id: int | str) -> alerts.AlertView:
        return alerts.get(self.ctx, alert_id)

    def acknowledge_alert(self, alert_id: int | str) -> alerts.AlertView:
        return alerts.acknowledge(self.ctx, alert_id)

    def run_watch_pass(self) -> watch.PassReport:
        return watch.run_pass(self.ctx)

    def watch_loop(self, **kwargs) -> int:
        return watch.watch_loop(self.ctx, **kwargs)

    # ------------------------------------------------------------------ alert channels and delivery
    def alert_channels(self) -> list[channels.ChannelView]:
        return channels.list_channels(self.ctx)

    def add_alert_channel(self, name: str, kind: str, *, url: str | None = None, secret: str | bytes | None = None,
                          address: str | None = None, min_severity: str | None = None) -> channels.ChannelView:
        return channels.add(self.ctx, name, kind, url=url, secret=secret, address=address, min_severity=min_severity)

    def remove_alert_channel(self, name: str) -> int:
        return channels.remove(self.ctx, name)

    def test_alert_channel(self, name: str) -> str | None:
        """None when the test alert was delivered, else why not."""
        return delivery.send_test(self.ctx, name)

    def deliver_alerts(self) -> delivery.DeliveryReport:
        return delivery.deliver_due(self.ctx)

    # ------------------------------------------------------------------ leaks and rotations in flight
    def scan_report(self, candidates: Iterable[leaks.Candidate]) -> list[leaks.LeakFinding]:
        return leaks.scan_report(self.ctx, candidates)

    def respond_to_leaks(self, candidates: Iterable[leaks.Candidate], *, totp: str | None = None
                         ) -> list[leaks.LeakFinding]:
        return leaks.respond(self.ctx, candidates, totp=totp)

    def rotation_traffic(self, key_id: str) -> rotation.RotationTraffic | None:
        return rotation.traffic(self.ctx, key_id)

    def end_grace(self, key_id: str, *, force: bool = False) -> KeyView:
        return rotation.end_grace(self.ctx, key_id, force=force)

    # ------------------------------------------------------------------ analytics
    def overview(self) -> analytics.Overview:
        return analytics.overview(self.ctx)

    def scope_summaries(self) -> list[analytics.ScopeSummary]:
        return analytics.scope_summaries(self.ctx)

    def usage(self, window: str) -> analytics.Usage:
        return analytics.usage(self.ctx, window)

    def events(self, **filters) -> list[analytics.EventView]:
        return analytics.events(self.ctx, **filters)

    def count_events(self, **filters) -> int:
        return analytics.count_events(self.ctx, **filters)

    def latest_event_id(self) -> int:
        return analytics.latest_event_id(self.ctx)

    def key_activity(self, key_id: str, limit: int = 50) -> list[analytics.EventView]:
        return analytics.key_activity(self.ctx, key_id, limit)

    # ------------------------------------------------------------------ demo data
    def build_demo(self, **kwargs) -> demo.DemoReport:
        return demo.build(self.ctx, **kwargs)
