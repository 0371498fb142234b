"""Org policy: parse errors name the line, later creates and rotations are refused, existing
violators are reported and flagged (and unflagged once compliant)."""

from datetime import timedelta
from pathlib import Path

import pytest

import keytui
from keytui.service import orgpolicy, watch
from keytui.domain import Environment, InputError, RuleError
from keytui.service import KeyFilter
from keytui.store.models import OrgPolicy

EXAMPLE = Path(keytui.__file__).parent / "examples" / "org-policy.toml"

pytestmark = pytest.mark.usefixtures("store")

PROD_RULES = """
name = "Prod rules"

[environments.production]
max_expiry_days = 60
require_ip_restriction = true
forbidden_permissions = ["admin"]
allowed_scopes = ["agents", "integrations"]
"""


@pytest.mark.parametrize("text,where", [
    ('name = "x"\n[defaults]\nmax_expiry_days = "ninety"\n', "defaults.max_expiry_days (line 3)"),
    ('[environments.production]\nmax_expiry_days = 60\ncolour = "red"\n', "environments.production.colour (line 3)"),
    ('[environments.moon]\nmax_expiry_days = 60\n', "environments.moon (line 1)"),
    ('[environments.prod]\n\nforbidden_permissions = ["root"]\n', "environments.prod.forbidden_permissions (line 3)"),
    ('[defaults]\nallowed_scopes = "agents"\n', "defaults.allowed_scopes (line 2)"),
    ('[defaults]\ndefault_expiry_days = 45\n', "defaults.default_expiry_days (line 2)"),
    ('[defaults]\nrequire_ip_restriction = "yes"\n', "defaults.require_ip_restriction (line 2)"),
    ('owner = "me"\n', "owner (line 1)"),
])
def test_parse_errors_name_the_field_and_line(text, where):
    with pytest.raises(InputError) as err:
        orgpolicy.parse(text)
    assert err.value.field == where


def test_invalid_toml_names_the_line():
    with pytest.raises(InputError, match="line 2"):
        orgpolicy.parse('name = "x"\nmax_expiry_days = \n')


def test_example_file_parses_and_documents_every_field():
    text = EXAMPLE.read_text()
    doc = orgpolicy.parse(text)
    assert doc.environments[Environment.PRODUCTION].require_ip_restriction is True
    assert doc.environments[Environment.STAGING].default_expiry_days == 60  # inherited from [defaults]
    for name in orgpolicy.FIELDS:
        assert f"# {name}:" in text, name


def test_enforced_on_create_and_rotate(vault, make, mfa_code):
    older = make("Old Prod", env="production", days=90, ip_allowlist=["10.0.0.0/8"])
    orgpolicy.apply(vault.ctx, PROD_RULES)
    with pytest.raises(RuleError, match="allows at most 60 days in production"):
        make("Long", env="production", days=90, ip_allowlist=["10.0.0.0/8"])
    with pytest.raises(RuleError, match="requires an IP restriction") as err:
        make("Open", env="production")
    assert err.value.field == "ip"
    with pytest.raises(RuleError, match="forbids admin"):
        vault.create("Admin", "agents", ["admin"], "production", expires_in_days=30, ip_allowlist=["10.0.0.0/8"],
                     totp=mfa_code())
    with pytest.raises(RuleError, match="does not allow scope sandbox"):
        make("Wrong scope", scope="sandbox", env="production", ip_allowlist=["10.0.0.0/8"])
    make("Compliant", env="production", days=60, ip_allowlist=["10.0.0.0/8"])
    make("Sandbox is free", env="sandbox", days=90)
    with pytest.raises(RuleError, match="90-day expiry"):
        vault.rotate(older.key.key_id)
    assert vault.count_keys() == 3


def test_apply_reports_and_flags_violators_then_clears_fixed_ones(vault, make):
    bad = make("Open Prod", env="production", days=30)
    ok = make("Locked Prod", env="production", days=30, ip_allowlist=["10.0.0.0/8"])
    make("Dev", env="development", days=90)
    gone = make("Revoked Prod", env="production", days=90)
    vault.revoke(gone.key.key_id)

    preview = orgpolicy.preview(vault.ctx, PROD_RULES)
    assert [(v.name, v.reasons) for v in preview.violations] == [
        ("Open Prod", ["the org policy requires an IP restriction in production; give at least one address or CIDR"])]
    assert vault.get(bad.key.key_id).policy_violation is None and OrgPolicy.select().count() == 0

    report = orgpolicy.apply(vault.ctx, PROD_RULES)
    assert (report.checked, len(report.violations), report.flagged, report.cleared) == (3, 1, 1, 0)
    assert [k.key_id for k in vault.list_keys(KeyFilter(violations_only=True))] == [bad.key.key_id]
    assert vault.get(ok.key.key_id).policy_violation is None
    applied = [e for e in vault.audit_entries() if e["action"] == "orgpolicy.apply"]
    assert applied[0]["details"]["violating_keys"] == [bad.key.key_id]

    vault.update(bad.key.key_id, ip_allowlist=["10.1.0.0/16"])
    assert vault.get(bad.key.key_id).policy_violation is None  # judged again with the change itself
    watch.run_pass(vault.ctx)
    assert vault.get(bad.key.key_id).policy_violation is None


def test_an_edit_that_breaks_the_policy_is_refused_and_one_that_fixes_it_clears_the_flag(vault, make):
    key = make("Open Prod", env="production", days=30)
    orgpolicy.apply(vault.ctx, PROD_RULES)
    key_id = key.key.key_id
    vault.update(key_id, name="Still Open Prod")
    assert "IP restriction" in vault.get(key_id).policy_violation  # a change that fixes nothing keeps the flag
    vault.update(key_id, ip_allowlist=["10.0.0.0/8"])
    entry = vault.audit_entries(key_id=key_id, limit=1)[0]
    assert entry["details"]["policy_violation"][1] is None
    with pytest.raises(RuleError, match="requires an IP restriction"):
        vault.update(key_id, ip_allowlist=[])


def test_a_rotation_with_a_shorter_expiry_policy_brings_a_flagged_key_into_line(vault, make, clock):
    key = make("Long Prod", env="production", days=90, ip_allowlist=["10.0.0.0/8"])
    orgpolicy.apply(vault.ctx, PROD_RULES)
    key_id = key.key.key_id
    assert "90-day expiry" in vault.get(key_id).policy_violation
    with pytest.raises(RuleError, match="90-day expiry"):
        vault.rotate(key_id)  # renewing for 90 days again would still break it
    with pytest.raises(InputError, match="45"):
        vault.rotate(key_id, expires_in_days=45)
    rotated = vault.rotate(key_id, 1, expires_in_days=60)
    assert (rotated.key.expiry_days, rotated.key.expires_at) == (60, clock.now() + timedelta(days=60))
    assert vault.get(key_id).policy_violation is None


def test_a_new_policy_replaces_the_old_one_and_its_flags(vault, make):
    key = make("Open Prod", env="production", days=30)
    orgpolicy.apply(vault.ctx, PROD_RULES)
    assert vault.get(key.key.key_id).policy_violation
    report = orgpolicy.apply(vault.ctx, 'name = "relaxed"\n')
    assert (report.violations, report.cleared) == ([], 1)
    assert vault.get(key.key.key_id).policy_violation is None
    assert orgpolicy.active_record(vault.ctx)["name"] == "relaxed"
    assert OrgPolicy.select().where(OrgPolicy.active == True).count() == 1  # noqa: E712


def test_default_expiry_for_the_create_form(vault):
    orgpolicy.apply(vault.ctx, EXAMPLE.read_text())
    assert orgpolicy.default_expiry_days(vault.ctx, Environment.PRODUCTION) == 30
    assert orgpolicy.default_expiry_days(vault.ctx, Environment.SANDBOX) == 60
