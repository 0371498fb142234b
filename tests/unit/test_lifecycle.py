"""Each lifecycle step through the service: create, rotate (grace), regenerate, revoke, expire."""

from __future__ import annotations

from datetime import timedelta

import pytest

from keytui.domain import RuleError, Status, VerifyCode
from keytui.service import Vault


def code(vault, token, environment="sandbox"):
    return vault.verify(token, environment).code


def test_create_issues_an_active_key_with_a_well_formed_id_and_token(vault, make_key, clock):
    issued = make_key(permissions=("read", "write"), ip_allowlist=["10.0.0.0/8"], owner="ci-bot")
    key = issued.key
    assert key.key_id.startswith("key_") and len(key.key_id) == 20
    assert issued.token.startswith("kt_sbx_")
    assert key.status is Status.ACTIVE
    assert key.owner == "ci-bot" and key.created_by == "alice"
    assert key.expires_at == clock.now() + timedelta(days=30)
    assert key.hint == f"kt_sbx_…{issued.token[-4:]}"
    assert vault.get(key.key_id) == key
    assert [e["action"] for e in vault.audit_entries(key.key_id)] == ["key.create"]


def test_owner_defaults_to_the_operator(make_key):
    assert make_key().key.owner == "alice"


def test_the_operator_is_the_os_user_unless_named(home, clock, monkeypatch):
    for variable in ("LOGNAME", "USER", "LNAME", "USERNAME"):
        monkeypatch.setenv(variable, "bob")
    vault = Vault.open(home, clock=clock)
    issued = vault.create("Bob's key", "monitoring", ["read"], "development", no_expiry=True)
    assert (issued.key.created_by, issued.key.owner) == ("bob", "bob")
    assert vault.audit_entries()[0]["operator"] == "bob"
    assert vault.as_operator("carol").operator == "carol"
    vault.close()


def test_rotate_keeps_the_old_token_for_the_default_grace_of_24_hours(vault, make_key, clock):
    issued = make_key()
    rotated = vault.rotate(issued.key.key_id)
    assert rotated.token != issued.token
    clock.advance(hours=23, minutes=59)
    assert code(vault, issued.token) is VerifyCode.VALID
    assert code(vault, rotated.token) is VerifyCode.VALID
    clock.advance(minutes=1)
    assert code(vault, issued.token) is VerifyCode.EXPIRED
    assert code(vault, rotated.token) is VerifyCode.VALID
    entry = vault.audit_entries(issued.key.key_id)[0]
    assert entry["action"] == "key.rotate" and entry["details"]["grace_hours"] == 24


def test_rotate_with_zero_grace_ends_the_old_token_at_once(vault, make_key):
    issued = make_key()
    rotated = vault.rotate(issued.key.key_id, grace_hours=0)
    assert code(vault, issued.token) is VerifyCode.EXPIRED
    assert code(vault, rotated.token) is VerifyCode.VALID


def test_grace_never_outlives_the_keys_expiry(vault, make_key, clock):
    issued = make_key(expires_at=(clock.now() + timedelta(days=3)).isoformat())
    expiry = issued.key.expires_at
    clock.set(expiry - timedelta(hours=2))
    rotated = vault.rotate(issued.key.key_id, grace_hours=24)
    old_secret = vault.secrets(issued.key.key_id)[1]
    assert old_secret.valid_until == expiry
    clock.set(expiry - timedelta(seconds=1))
    assert code(vault, issued.token) is VerifyCode.VALID
    clock.set(expiry)
    assert code(vault, issued.token) is VerifyCode.EXPIRED
    assert code(vault, rotated.token) is VerifyCode.EXPIRED  # an explicit date is not renewed


def test_rotating_a_policy_key_renews_its_expiry_by_the_policy(vault, make_key, clock):
    issued = make_key(expires_in_days=30)
    clock.advance(days=29)
    rotated = vault.rotate(issued.key.key_id)
    assert rotated.key.expires_at == clock.now() + timedelta(days=30)
    clock.advance(days=1)
    assert code(vault, issued.token) is VerifyCode.EXPIRED  # old token clipped at the old expiry
    assert code(vault, rotated.token) is VerifyCode.VALID


def test_a_second_rotation_does_not_extend_the_first_grace(vault, make_key, clock):
    first = make_key()
    vault.rotate(first.key.key_id, grace_hours=1)
    clock.advance(minutes=30)
    vault.rotate(first.key.key_id, grace_hours=24)
    clock.advance(minutes=30)
    assert code(vault, first.token) is VerifyCode.EXPIRED


def test_rotate_of_an_expired_key_is_refused(vault, make_key, clock):
    issued = make_key()
    clock.advance(days=30)
    with pytest.raises(RuleError, match="expired"):
        vault.rotate(issued.key.key_id)
    assert len(vault.secrets(issued.key.key_id)) == 1


def test_regenerate_kills_every_old_token_at_once(vault, make_key):
    issued = make_key()
    rotated = vault.rotate(issued.key.key_id)  # the first token is now in its grace period
    regenerated = vault.regenerate(issued.key.key_id)
    assert code(vault, issued.token) is VerifyCode.REVOKED
    assert code(vault, rotated.token) is VerifyCode.REVOKED
    assert code(vault, regenerated.token) is VerifyCode.VALID
    assert vault.audit_entries(issued.key.key_id)[0]["action"] == "key.regenerate"


def test_revoke_is_immediate_and_permanent(vault, make_key, clock):
    issued = make_key()
    view = vault.revoke(issued.key.key_id, reason="leaked in a CI log")
    assert view.status is Status.REVOKED and view.revoke_reason == "leaked in a CI log"
    assert code(vault, issued.token) is VerifyCode.REVOKED
    clock.advance(days=400)
    assert code(vault, issued.token) is VerifyCode.REVOKED
    assert vault.get(issued.key.key_id).status is Status.REVOKED


@pytest.mark.parametrize("change", [
    lambda v, k: v.rotate(k),
    lambda v, k: v.regenerate(k),
    lambda v, k: v.update(k, name="New label"),
    lambda v, k: v.restore(k),
    lambda v, k: v.copy_token(k),
    lambda v, k: v.revoke(k),
], ids=["rotate", "regenerate", "edit", "restore", "copy", "revoke-again"])
def test_a_revoked_key_refuses_every_change(vault, make_key, change):
    key_id = make_key().key.key_id
    vault.revoke(key_id)
    entries = len(vault.audit_entries())
    with pytest.raises(RuleError, match="revoked"):
        change(vault, key_id)
    assert len(vault.audit_entries()) == entries
    assert len(vault.secrets(key_id)) == 1


def test_restore_of_a_live_key_is_refused_too(vault, make_key):
    with pytest.raises(RuleError, match="cannot"):
        vault.restore(make_key().key.key_id)


def test_a_key_past_expiry_is_refused_at_once_and_marked_expired_by_the_watch(vault, make_key, clock):
    issued = make_key()
    clock.advance(days=30)
    assert code(vault, issued.token) is VerifyCode.EXPIRED
    assert vault.get(issued.key.key_id).status is Status.EXPIRED
    assert vault.get(issued.key.key_id).stored_status is Status.ACTIVE
    assert vault.expire_due() == [issued.key.key_id]
    assert vault.get(issued.key.key_id).stored_status is Status.EXPIRED
    assert vault.audit_entries(issued.key.key_id)[0]["action"] == "key.expire"
    assert vault.expire_due() == []
    assert vault.verify_audit().ok  # the expired row and its token's row are sealed as they are now


def test_copy_returns_the_current_token_and_is_audited(vault, make_key):
    issued = make_key()
    assert vault.copy_token(issued.key.key_id) == issued.token
    rotated = vault.rotate(issued.key.key_id)
    assert vault.copy_token(issued.key.key_id) == rotated.token
    assert vault.audit_entries(issued.key.key_id)[0]["action"] == "key.copy"


def test_copying_a_production_token_that_can_execute_needs_mfa(vault, make_key, mfa_code):
    issued = make_key(environment="production", permissions=("execute",), totp=mfa_code())
    with pytest.raises(RuleError) as err:
        vault.copy_token(issued.key.key_id)
    assert err.value.field == "totp"
    assert vault.audit_entries()[0]["action"] == "key.create"
    assert vault.copy_token(issued.key.key_id, totp=mfa_code()) == issued.token


def test_keys_are_never_deleted(vault, make_key):
    key_id = make_key().key.key_id
    vault.revoke(key_id)
    assert [k.key_id for k in vault.list_keys()] == [key_id]


def test_a_bulk_issue_refuses_a_taken_key_id_or_live_name_in_any_chunk_and_writes_nothing(vault, make_key):
    from keytui.domain import InputError
    from keytui.service import NewKey, lifecycle

    taken = make_key("Taken", environment="staging").key.key_id
    revoked = make_key("Freed", environment="staging").key.key_id
    vault.revoke(revoked)

    def batch(last: NewKey) -> list[NewKey]:  # the clash sits in the second statement's chunk
        return [NewKey(f"Bulk {n}", "agents", ["read"], "staging", expires_in_days=30)
                for n in range(lifecycle.BATCH + 7)] + [last]

    before = len(vault.list_keys())
    for last, field in [(NewKey("Other", "agents", ["read"], "sandbox", expires_in_days=30, key_id=taken), "key_id"),
                        (NewKey("Taken", "agents", ["read"], "staging", expires_in_days=30), "name")]:
        with pytest.raises(InputError) as refused:
            vault.create_many(batch(last))
        assert refused.value.field == field
        assert len(vault.list_keys()) == before
    # a revoked key's name is free again; the same name in another environment is another key
    issued = vault.create_many(batch(NewKey("Freed", "agents", ["read"], "staging", expires_in_days=30))
                               + [NewKey("Taken", "agents", ["read"], "sandbox", expires_in_days=30)])
    assert len(issued) == lifecycle.BATCH + 9 and len(vault.list_keys()) == before + lifecycle.BATCH + 9
    assert [vault.get(k.key.key_id).name for k in issued[-2:]] == ["Freed", "Taken"]
