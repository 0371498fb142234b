"""The validation rules of the spec, enforced by the service: production expiry, MFA for
execute/admin, unique names, and bad input that changes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest

from keytui.domain import InputError, RuleError


def test_production_keys_must_expire(vault, make_key):
    with pytest.raises(InputError) as err:
        make_key(environment="production", no_expiry=True)
    assert err.value.field == "expiry"
    assert make_key(environment="prod", expires_in_days=90).key.environment.value == "production"
    assert make_key("Dev forever", environment="dev", no_expiry=True).key.expires_at is None


@pytest.mark.parametrize("permissions", [("execute",), ("admin",), ("read", "execute")])
def test_execute_or_admin_needs_a_totp_code_to_create(vault, make_key, mfa_code, permissions):
    with pytest.raises(RuleError) as err:
        make_key(permissions=permissions)
    assert err.value.field == "totp"
    assert vault.count_keys() == 0
    assert make_key(permissions=permissions, totp=mfa_code()).key.permissions_text == ",".join(permissions)


def test_a_wrong_code_creates_nothing(vault, make_key, mfa_code):
    with pytest.raises(RuleError, match="wrong code"):
        make_key(permissions=("execute",), totp="000000" if mfa_code() != "000000" else "111111")
    assert vault.count_keys() == 0


def test_read_and_write_need_no_mfa(make_key):
    assert make_key(permissions=("read", "write")).key.permissions_text == "read,write"


def test_adding_execute_or_admin_to_a_key_needs_a_totp_code(vault, make_key, mfa_code):
    key_id = make_key(permissions=("read",)).key.key_id
    with pytest.raises(RuleError) as err:
        vault.update(key_id, permissions=["read", "execute"])
    assert err.value.field == "totp"
    assert vault.get(key_id).permissions_text == "read"
    view = vault.update(key_id, permissions=["read", "execute"], totp=mfa_code())
    assert view.permissions_text == "read,execute"
    assert vault.update(key_id, permissions=["read"]).permissions_text == "read"  # removing needs none
    entry = vault.audit_entries(key_id)[0]
    assert entry["action"] == "key.permissions" and entry["details"]["changes"]["permissions"] == ["read,execute", "read"]


def test_names_are_unique_among_live_keys_of_one_environment(vault, make_key):
    first = make_key("GitHub Sync Key")
    with pytest.raises(InputError) as err:
        make_key("GitHub Sync Key")
    assert err.value.field == "name"
    make_key("GitHub Sync Key", environment="staging")
    vault.revoke(first.key.key_id)
    assert make_key("GitHub Sync Key").key.name == "GitHub Sync Key"


def test_renaming_onto_a_live_name_is_refused(vault, make_key):
    make_key("Taken")
    other = make_key("Other").key.key_id
    with pytest.raises(InputError) as err:
        vault.update(other, name="Taken")
    assert err.value.field == "name"
    assert vault.get(other).name == "Other"


@pytest.mark.parametrize("options, field", [
    (dict(name=""), "name"),
    (dict(name="   "), "name"),
    (dict(name="x" * 65), "name"),
    (dict(name="tab\there"), "name"),
    (dict(scope="everything"), "scope"),
    (dict(permissions=()), "permission"),
    (dict(permissions=("root",)), "permission"),
    (dict(environment="moon"), "environment"),
    (dict(ip_allowlist=["10.0.0.0/33"]), "ip"),
    (dict(ip_allowlist=["not-an-ip"]), "ip"),
    (dict(expires_in_days=45), "expiry"),
    (dict(expires_at="2020-01-01"), "expiry"),
    (dict(expires_at="next tuesday"), "expiry"),
    (dict(expires_in_days=30, no_expiry=True), "expiry"),
    (dict(owner=""), "owner"),
])
def test_bad_input_names_the_field_and_changes_nothing(vault, make_key, options, field):
    name = options.pop("name", "Valid name")
    with pytest.raises(InputError) as err:
        make_key(name, **options)
    assert err.value.field == field
    assert "\n" not in str(err.value)
    assert vault.count_keys() == 0 and vault.audit_entries() == []


def test_a_date_in_the_past_is_refused_but_a_future_one_is_kept(vault, make_key, clock):
    with pytest.raises(InputError, match="past"):
        make_key(expires_at=(clock.now() - timedelta(minutes=1)).isoformat())
    when = clock.now() + timedelta(days=10)
    assert make_key(expires_at=when.isoformat()).key.expires_at == when.replace(microsecond=0)


@pytest.mark.parametrize("grace", ["-1", "soon", "100000"])
def test_bad_grace_is_refused_and_nothing_rotates(vault, make_key, grace):
    key_id = make_key().key.key_id
    with pytest.raises(InputError) as err:
        vault.rotate(key_id, grace)
    assert err.value.field == "grace"
    assert len(vault.secrets(key_id)) == 1


def test_ip_allowlist_is_normalised(make_key):
    view = make_key(ip_allowlist=["10.1.2.3/8", "203.0.113.7", "2001:DB8::/32", "203.0.113.7/32"]).key
    assert view.ip_allowlist == ("10.0.0.0/8", "203.0.113.7", "2001:db8::/32")


def test_a_taken_name_is_refused_before_the_totp_code_is_spent(vault, mfa_code):
    from keytui.domain import InputError

    vault.create("Deploy Trigger", "workflows", ["read"], "staging", expires_in_days=30)
    code = mfa_code()
    with pytest.raises(InputError, match="name"):
        vault.create("Deploy Trigger", "workflows", ["execute"], "staging", expires_in_days=30, totp=code)
    issued = vault.create("Deploy Trigger 2", "workflows", ["execute"], "staging", expires_in_days=30, totp=code)
    assert issued.key.name == "Deploy Trigger 2"
