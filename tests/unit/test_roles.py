"""Roles: the one map from Vault method to role, the refusal a face shows, grants and revocations
audited, and the roles table arriving by migration in a home that predates it."""

from __future__ import annotations

import getpass

import pytest

from keytui.domain import InputError, RoleRefused
from keytui.service import roles
from keytui.store import migrations


def test_roles_are_ordered_and_the_map_uses_them():
    assert roles.VIEWER < roles.OPERATOR < roles.ADMIN
    assert roles.required("list_keys") is roles.VIEWER and roles.required("copy_token") is roles.OPERATOR
    assert roles.required("set_policy") is roles.ADMIN and roles.required("as_operator") is None
    assert roles.required("apply_org_policy", {"dry_run": True}) is roles.VIEWER
    assert roles.required("apply_org_policy", {"dry_run": "yes"}) is roles.ADMIN


def test_a_refusal_names_the_role_needed_and_is_audited_as_the_caller(vault):
    ctx = vault.ctx.as_operator("rita", role="viewer")
    with pytest.raises(RoleRefused) as refused:
        roles.authorize(ctx, "rotate", {}, roles.VIEWER)
    assert str(refused.value) == "rotate needs the operator role; rita is a viewer"
    assert (refused.value.needed, refused.value.role) == ("operator", "viewer")
    entry = vault.audit_entries(limit=1)[0]
    assert (entry["operator"], entry["action"], entry["details"]) == (
        "rita", "access.refused", {"call": "rotate", "needed": "operator", "role": "viewer"})
    roles.authorize(ctx, "list_keys", {}, roles.VIEWER)  # allowed: nothing raised, nothing written
    assert vault.audit_entries(limit=1)[0]["seq"] == entry["seq"]
    with pytest.raises(RoleRefused, match="bob has no keytui role; .*roles grant bob viewer"):
        roles.authorize(vault.ctx.as_operator("bob"), "list_keys", {}, None)
    with pytest.raises(RoleRefused, match="not available through the daemon"):
        roles.authorize(ctx, "watch_loop", {}, roles.ADMIN)
    assert vault.verify_audit().ok


def test_a_flood_of_refused_calls_is_audited_within_a_budget_and_the_rest_counted(vault, clock):
    rita, bob = vault.ctx.as_operator("rita", role="viewer"), vault.ctx.as_operator("bob", role="viewer")
    budget = roles.RefusalBudget(per_minute=3)

    def refuse(ctx) -> None:
        with pytest.raises(RoleRefused, match="rotate needs the operator role"):
            roles.authorize(ctx, "rotate", {}, roles.VIEWER, budget)

    def refused() -> list[tuple[str, dict]]:
        return [(e["operator"], e["details"]) for e in vault.audit_entries() if e["action"] == "access.refused"]

    for _ in range(8):
        refuse(rita)
    assert len(refused()) == 3  # every attempt refused, three written
    refuse(bob)  # a budget per caller: rita's flood does not silence bob's attempt
    assert refused()[0][0] == "bob"
    clock.advance(seconds=60)
    refuse(rita)
    assert refused()[0] == ("rita", {"call": "rotate", "needed": "operator", "role": "viewer", "unwritten_before": 5})
    refuse(rita)
    assert "unwritten_before" not in refused()[0][1]
    assert vault.verify_audit().ok


def test_a_caller_who_stops_after_a_flood_is_still_accounted_for_once_the_minute_is_over(vault, clock):
    rita = vault.ctx.as_operator("rita", role="viewer")
    budget = roles.RefusalBudget(per_minute=3)
    for _ in range(7):
        with pytest.raises(RoleRefused):
            roles.authorize(rita, "rotate", {}, roles.VIEWER, budget)

    def unwritten() -> list[tuple[str, dict]]:
        return [(e["operator"], e["details"]) for e in vault.audit_entries() if e["action"] == "access.refused.unwritten"]

    roles.record_unwritten(vault.ctx, budget, roles.minute_of(vault.ctx))
    assert unwritten() == []  # the minute is not over: rita may yet be audited again in it
    clock.advance(seconds=60)
    roles.record_unwritten(vault.ctx, budget, roles.minute_of(vault.ctx))
    assert unwritten() == [("rita", {"count": 4})]
    roles.record_unwritten(vault.ctx, budget, roles.minute_of(vault.ctx) + 5)
    assert len(unwritten()) == 1  # said once
    for _ in range(4):  # the daemon stopping mid-minute writes that minute's count too
        with pytest.raises(RoleRefused):
            roles.authorize(rita, "rotate", {}, roles.VIEWER, budget)
    roles.record_unwritten(vault.ctx, budget)
    assert unwritten()[0] == ("rita", {"count": 1}) and vault.verify_audit().ok


def test_grants_and_revocations_are_checked_and_audited(vault):
    me = getpass.getuser()
    assert vault.grant_role(me, "operator") == {"user": me, "role": "operator", "previous": None}
    assert vault.grant_role(me, "viewer")["previous"] == "operator"
    assert [(r["user"], r["role"], r["granted_by"], r["intact"]) for r in vault.roles()] == [(me, "viewer", "alice", True)]
    for user, role, field in (("no-such-user-kt", "viewer", "user"), ("[/]\x1b", "viewer", "user"),
                              (me, "root", "role"), ("", "viewer", "user")):
        with pytest.raises(InputError) as bad:
            vault.grant_role(user, role)
        assert bad.value.field == field
    assert vault.revoke_role(me) == {"user": me, "role": None, "previous": "viewer"}
    with pytest.raises(InputError, match="no role to revoke"):
        vault.revoke_role(me)
    actions = [(e["action"], e["details"].get("role")) for e in vault.audit_entries()]
    assert actions[:3] == [("role.revoke", None), ("role.grant", "viewer"), ("role.grant", "operator")]


def test_an_admin_resets_an_operators_mfa_and_it_is_audited(vault):
    bob = vault.as_operator("bob")
    bob.enroll_mfa()
    vault.reset_mfa("bob")
    assert not bob.has_mfa()
    assert vault.audit_entries(limit=1)[0]["action"] == "mfa.reset"
    with pytest.raises(Exception, match="nothing to reset"):
        vault.reset_mfa("bob")


def test_a_home_from_before_roles_migrates_in_place_and_keeps_its_data(vault, make_key):
    key_id = make_key().key.key_id
    db = vault.ctx.db
    before = 3  # the version just before the roles table
    assert migrations.MIGRATIONS[before + 1].__name__ == "_add_roles"
    db.execute_sql("DROP TABLE role_grant")
    db.execute_sql(f"UPDATE meta SET value = '{before}' WHERE name = 'schema_version'")
    assert migrations.current_version(db) == before
    migrations.migrate(db)
    assert migrations.current_version(db) == migrations.SCHEMA_VERSION
    assert "role_grant" in db.get_tables()
    assert vault.get(key_id).name == "Agents Execution Key" and vault.verify_audit().ok
    assert vault.roles() == []


def test_a_role_row_written_around_keytui_grants_nothing(vault, store):
    from keytui.store.models import RoleGrant

    me = getpass.getuser()
    vault.grant_role(me, "viewer")
    assert roles.role_of(vault.ctx, me) is roles.VIEWER
    RoleGrant.update(role="admin").where(RoleGrant.user == me).execute()
    assert roles.role_of(vault.ctx, me) is None
    RoleGrant.insert(user="mallory", role="admin", granted_at=0, granted_by="x", seal="0" * 64).execute()
    assert roles.role_of(vault.ctx, "mallory") is None
    assert {r["user"]: r["intact"] for r in vault.roles()} == {"mallory": False, me: False}
