"""Security & rotation policy settings: persisted, audited, refused with a clear error."""

import pytest

from keytui.service import analytics, policies
from keytui.domain import InputError, RuleError


def test_defaults_are_the_spec_mock_config(vault):
    settings = vault.policy_settings()
    assert settings["auto_rotation"] is True and settings["expiry_alerts"] is True
    assert settings["ip_locking.production"] == "optional"
    assert (settings["suspicious_failures"], settings["suspicious_window_minutes"]) == (5, 5)


def test_set_is_persisted_and_audited_once(vault):
    assert vault.set_policy("auto-rotation", "off") == ("auto_rotation", False)
    vault.set_policy("auto_rotation", "off")  # no change: no second audit entry
    assert policies.read(vault.ctx, "auto_rotation") is False
    entries = [e for e in vault.audit_entries() if e["action"] == "policy.set"]
    assert [e["details"] for e in entries] == [{"policy": "auto_rotation", "old": True, "new": False}]
    view = {v.name: v for v in policies.settings_view(vault.ctx)}["auto_rotation"]
    assert (view.text, view.updated_by) == ("off", "alice")


@pytest.mark.parametrize("name,value,field", [
    ("bogus", "on", "policy"), ("auto_rotation", "maybe", "auto_rotation"),
    ("auto_rotation_days", "0", "auto_rotation_days"), ("suspicious_failures", "x", "suspicious_failures"),
    ("ip_locking.moon", "required", "policy"), ("ip_locking.prod", "always", "ip_locking.production"),
])
def test_bad_names_and_values_are_refused_and_change_nothing(vault, name, value, field):
    with pytest.raises(InputError) as err:
        vault.set_policy(name, value)
    assert err.value.field == field
    assert vault.policy_settings() == {d.name: d.default for d in policies.POLICIES.values()}


def test_ip_locking_required_refuses_keys_without_allowlist(vault, make):
    loose = make("Loose", env="production")
    vault.set_policy("ip_locking.prod", "required")
    with pytest.raises(RuleError, match="IP Locking is required in production"):
        make("Other", env="production")
    with pytest.raises(RuleError, match="IP Locking"):
        vault.rotate(loose.key.key_id)
    locked = make("Locked", env="production", ip_allowlist=["10.0.0.0/8"])
    with pytest.raises(RuleError, match="IP Locking"):
        vault.update(locked.key.key_id, ip_allowlist=[])
    make("Dev is optional", env="development")


def test_usage_monitoring_off_keeps_counters_but_no_events(vault, make):
    key = make("K")
    vault.set_policy("usage_monitoring", "off")
    vault.verifier.forget_policy_cache()
    vault.verify(key.token, "sandbox")
    assert analytics.count_events(vault.ctx) == 0
    assert analytics.usage(vault.ctx, "24h").total_ok == 1
    assert vault.get(key.key.key_id).last_used_at == vault.now()
