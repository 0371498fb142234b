"""Policies page: toggles and thresholds saved through the service (audited), bad input named
next to its field and never saved, read-only refusal."""

from __future__ import annotations

from textual.widgets import Input

from keytui.service import orgpolicy
from keytui.screens.dialogs import ConfirmDialog
from keytui.service import Vault


async def _open(pilot):
    await pilot.press("5")
    await pilot.pause()


def _policy_audits(vault) -> list[dict]:
    return [e for e in vault.audit_entries() if e["action"] == "policy.set"]


async def test_toggles_show_the_stored_settings(demo_vault, make_app):
    demo_vault.set_policy("ip_locking.production", "required")
    demo_vault.set_policy("usage_monitoring", "off")
    app = make_app(demo_vault)
    async with app.run_test(size=(120, 40)) as pilot:
        await _open(pilot)
        screen = app.screen
        assert screen.query_one("#policy-ip_locking-production").value is True
        assert screen.query_one("#policy-ip_locking-sandbox").value is False
        assert screen.query_one("#policy-usage_monitoring").value is False
        assert screen.query_one("#policy-auto_rotation").value is True
        assert screen.query_one("#set-auto_rotation_days", Input).value == "7"


async def test_toggling_auto_rotation_off_is_saved_and_audited(demo_vault, make_app):
    app = make_app(demo_vault)
    async with app.run_test(size=(120, 40)) as pilot:
        await _open(pilot)
        app.screen.query_one("#policy-auto_rotation").focus()
        await pilot.press("space")
        await pilot.pause()
        assert demo_vault.policy_settings()["auto_rotation"] is False
        assert app.screen.query_one("#policy-auto_rotation").value is False
        audit = _policy_audits(demo_vault)[0]
        assert audit["details"]["policy"] == "auto_rotation" and audit["operator"] == "alice"


async def test_ip_locking_switches_between_optional_and_required(demo_vault, make_app):
    app = make_app(demo_vault)
    async with app.run_test(size=(120, 40)) as pilot:
        await _open(pilot)
        app.screen.query_one("#policy-ip_locking-staging").focus()
        await pilot.press("enter")
        await pilot.pause()
        assert demo_vault.policy_settings()["ip_locking.staging"] == "required"
        await pilot.press("enter")
        await pilot.pause()
        assert demo_vault.policy_settings()["ip_locking.staging"] == "optional"


async def test_bad_threshold_is_named_next_to_the_field_and_not_saved(demo_vault, make_app):
    app = make_app(demo_vault)
    async with app.run_test(size=(120, 40)) as pilot:
        await _open(pilot)
        field = app.screen.query_one("#set-suspicious_failures", Input)
        field.focus()
        field.value = ""
        await pilot.press("1", "enter")
        await pilot.pause()
        error = app.screen.query_one("#err-suspicious_failures")
        assert error.display and "suspicious_failures: '1' is not allowed; give a whole number from 2 to 1000" in str(
            error.render())
        assert demo_vault.policy_settings()["suspicious_failures"] == 5
        assert _policy_audits(demo_vault) == []
        await pilot.press("backspace", "1", "2")
        await pilot.pause()
        assert not error.display, "the error clears as soon as the value is allowed"
        await pilot.press("enter")
        await pilot.pause()
        assert demo_vault.policy_settings()["suspicious_failures"] == 12
        assert "Saved suspicious_failures = 12" in str(app.screen.query_one("#policy-message").render())


async def test_read_only_refuses_policy_changes(demo_vault, make_app, tui_clock):
    reader = Vault.open(demo_vault.settings.home, operator="alice", clock=tui_clock, read_only=True)
    app = make_app(reader)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await _open(pilot)
            app.screen.query_one("#policy-expiry_alerts").focus()
            await pilot.press("space")
            await pilot.pause()
            assert app.screen.query_one("#policy-expiry_alerts").value is True
            await pilot.press("o")
            await pilot.pause()
            assert sum("read-only" in note for note in app.notes) == 2
    finally:
        reader.close()
    assert demo_vault.policy_settings()["expiry_alerts"] is True


POLICY = """name = "Production hardening"

[environments.production]
require_ip_restriction = true
max_expiry_days = 60
"""


async def _submit_path(pilot, path) -> None:
    await _open(pilot)
    await pilot.press("o")
    await pilot.pause()
    await _type_path(pilot, path)


async def _type_path(pilot, path) -> None:
    pilot.app.screen.query_one("#prompt-input", Input).value = str(path)  # a paste: long tmp paths type slowly
    await pilot.press("enter")
    await pilot.pause()


async def test_apply_org_policy_shows_the_violation_report_then_applies(demo_vault, make_app, tmp_path):
    file = tmp_path / "policy.toml"
    file.write_text(POLICY)
    app = make_app(demo_vault)
    async with app.run_test(size=(120, 40)) as pilot:
        await _submit_path(pilot, file)
        assert isinstance(app.screen, ConfirmDialog)
        report = orgpolicy.preview(demo_vault.ctx, POLICY)
        assert report.violations, "the demo data should hold production keys without an IP restriction"
        dialog_text = " ".join(str(s.render()) for s in app.screen.query("Static"))
        assert f"{len(report.violations)} violate this policy" in dialog_text
        assert report.violations[0].key_id in dialog_text
        assert orgpolicy.active(demo_vault.ctx) is None, "nothing is applied before confirmation"
        await pilot.click("#confirm")
        await pilot.pause()
        assert orgpolicy.active(demo_vault.ctx).name == "Production hardening"
        assert demo_vault.get(report.violations[0].key_id).policy_violation
        assert "Applied 'Production hardening'" in str(app.screen.query_one("#policy-message").render())
        assert "Production hardening" in str(app.screen.query_one("#org-policy").render())
        assert demo_vault.audit_entries(limit=1)[0]["action"] == "orgpolicy.apply"


async def test_cancelling_the_report_applies_nothing(demo_vault, make_app, tmp_path):
    file = tmp_path / "policy.toml"
    file.write_text(POLICY)
    app = make_app(demo_vault)
    async with app.run_test(size=(120, 40)) as pilot:
        await _submit_path(pilot, file)
        await pilot.press("escape")
        await pilot.pause()
        assert orgpolicy.active(demo_vault.ctx) is None
        assert "not applied" in str(app.screen.query_one("#policy-message").render())


async def test_bad_policy_file_is_reported_and_nothing_applied(demo_vault, make_app, tmp_path):
    file = tmp_path / "bad.toml"
    file.write_text('name = "x"\n[environments.production]\nmax_expiry_days = "soon"\n')
    app = make_app(demo_vault)
    async with app.run_test(size=(120, 40)) as pilot:
        await _submit_path(pilot, file)
        assert not isinstance(app.screen, ConfirmDialog)
        assert "max_expiry_days" in str(app.screen.query_one("#policy-message").render())
        await pilot.press("o")
        await pilot.pause()
        await _type_path(pilot, tmp_path / "missing.toml")
        assert "file: cannot read" in str(app.screen.query_one("#prompt-error").render())
    assert orgpolicy.active(demo_vault.ctx) is None
