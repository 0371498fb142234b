"""Policies page: toggles and thresholds saved through the service (audited), bad input named
next to its field and never saved, read-only refusal, and applying an org policy."""

from __future__ import annotations

import re



async def open_policies(c) -> None:
    await c.press("5")
    await c.wait_for_text("Security & rotation policies")


def row(c, label: str) -> str:
    """A policy's line: its box ([x] on, [ ] off), label, state word and meaning."""
    return c.line_with(f"] {label} ")


def threshold(c, before: str) -> str:
    """The value shown in a threshold field, found by the words before it ('rotate', 'a burst is', ...)."""
    return re.search(rf"{re.escape(before)}\s+(\S*)", c.line_with(before)).group(1)


def _policy_audits(vault) -> list[dict]:
    return [e for e in vault.audit_entries() if e["action"] == "policy.set"]


async def test_toggles_and_thresholds_show_the_stored_settings(demo_vault, console):
    demo_vault.set_policy("ip_locking.production", "required")
    demo_vault.set_policy("usage_monitoring", "off")
    async with console(demo_vault) as c:
        await open_policies(c)
        assert row(c, "Production").startswith(" [x]") and "required" in row(c, "Production")
        assert row(c, "Sandbox").startswith(" [ ]") and "optional" in row(c, "Sandbox")
        assert row(c, "Usage Monitoring").startswith(" [ ]") and "disabled" in row(c, "Usage Monitoring")
        assert row(c, "Auto Rotation").startswith(" [x]") and "enabled" in row(c, "Auto Rotation")
        assert threshold(c, "rotate") == "7"


async def test_toggling_auto_rotation_off_is_saved_and_audited(demo_vault, console):
    async with console(demo_vault) as c:
        await open_policies(c)
        await c.focus_on("Auto Rotation")
        await c.press("space")
        await c.wait_for_text("Saved: Auto Rotation disabled (audited).")
        assert row(c, "Auto Rotation").startswith(" [ ]")
    assert demo_vault.policy_settings()["auto_rotation"] is False
    audit = _policy_audits(demo_vault)[0]
    assert audit["details"]["policy"] == "auto_rotation" and audit["operator"] == "alice"


async def test_ip_locking_switches_between_optional_and_required(demo_vault, console):
    async with console(demo_vault) as c:
        await open_policies(c)
        await c.focus_on("] Staging")
        await c.press("enter")
        await c.wait_for(lambda: "required" in row(c, "Staging"), "staging required")
        assert demo_vault.policy_settings()["ip_locking.staging"] == "required"
        await c.press("enter")
        await c.wait_for(lambda: "optional" in row(c, "Staging"), "staging optional")
        assert demo_vault.policy_settings()["ip_locking.staging"] == "optional"


async def test_bad_threshold_is_named_next_to_the_field_and_not_saved(demo_vault, console):
    async with console(demo_vault) as c:
        await open_policies(c)
        await c.focus_on("Suspicious Activity Detection")
        await c.press("tab")  # its first threshold: failed verifications in a burst
        await c.clear_field()
        await c.type("1")
        await c.press("enter")
        await c.wait_for_text("suspicious_failures: '1' is not allowed; give a whole number from 2 to 1000")
        assert demo_vault.policy_settings()["suspicious_failures"] == 5
        assert _policy_audits(demo_vault) == []
        await c.press("backspace", "1", "2")
        await c.wait_for_no_text("suspicious_failures: '1")  # the error clears as soon as the value is allowed
        await c.press("enter")
        await c.wait_for_text("Saved: Suspicious Activity Detection: a burst is 12 failed verifications")
    assert demo_vault.policy_settings()["suspicious_failures"] == 12


async def test_read_only_refuses_policy_changes(demo_vault, reviewer, console):
    async with console(reviewer()) as c:
        await open_policies(c)
        await c.focus_on("Expiry Alerts")
        await c.press("space")
        await c.wait_for_notification("read-only")
        assert row(c, "Expiry Alerts").startswith(" [x]")
        await c.press("o")
        await c.wait_for(lambda: sum("read-only" in n for n in c.notifications()) == 2, "the second refusal")
        assert "Path of the org policy TOML file" not in c.text()
    assert demo_vault.policy_settings()["expiry_alerts"] is True


POLICY = """name = "Production hardening"

[environments.production]
require_ip_restriction = true
max_expiry_days = 60
"""


async def submit_path(c, path) -> None:
    await open_policies(c)
    await c.press("o")
    await c.wait_for_text("Path of the org policy TOML file")
    await c.paste(str(path))
    await c.press("enter")


async def test_apply_org_policy_shows_the_violation_report_then_applies(demo_vault, console, tmp_path):
    file = tmp_path / "policy.toml"
    file.write_text(POLICY)
    report = demo_vault.preview_org_policy(POLICY)
    assert report.violations, "the demo data should hold production keys without an IP restriction"
    async with console(demo_vault) as c:
        await submit_path(c, file)
        await c.wait_for_text("Apply org policy 'Production hardening'?",
                              f"{len(report.violations)} violate this policy", report.violations[0].key_id)
        assert demo_vault.org_policy() is None, "nothing is applied before confirmation"
        await c.click("Apply")
        await c.wait_for_text("Applied 'Production hardening'")
        assert "Production hardening" in c.text().split("Active org policy")[1]
    assert demo_vault.org_policy().name == "Production hardening"
    assert demo_vault.get(report.violations[0].key_id).policy_violation
    assert demo_vault.audit_entries(limit=1)[0]["action"] == "orgpolicy.apply"


async def test_cancelling_the_report_applies_nothing(demo_vault, console, tmp_path):
    file = tmp_path / "policy.toml"
    file.write_text(POLICY)
    async with console(demo_vault) as c:
        await submit_path(c, file)
        await c.wait_for_text("Apply org policy 'Production hardening'?")
        await c.press("escape")
        await c.wait_for_text("Org policy not applied")
    assert demo_vault.org_policy() is None


async def test_bad_policy_file_is_reported_and_nothing_applied(demo_vault, console, tmp_path):
    file = tmp_path / "bad.toml"
    file.write_text('name = "x"\n[environments.production]\nmax_expiry_days = "soon"\n')
    async with console(demo_vault) as c:
        await submit_path(c, file)
        await c.wait_for_text("max_expiry_days")
        assert "Apply org policy" not in c.text()
        await c.press("o")
        await c.wait_for_text("Path of the org policy TOML file")
        await c.paste(str(tmp_path / "missing.toml"))
        await c.press("enter")
        await c.wait_for_text("file: cannot read")
    assert demo_vault.org_policy() is None
