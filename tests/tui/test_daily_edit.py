"""Flags can be fixed where they are seen: Edit Key (every editable field, the CLI's validation
and MFA rules), a rotation that brings the key into line, and the flag judged again at once."""

from __future__ import annotations

import pytest

from keytui import totp
from tests.tui.console import running
from tests.tui.test_daily_writes import find_key

POLICY = """
name = "Prod rules"
[environments.production]
max_expiry_days = 60
require_ip_restriction = true
"""


@pytest.fixture
def flagged(demo_vault):
    key = demo_vault.create("Flagged Prod Key", "integrations", ["read"], "production", expires_in_days=90).key
    demo_vault.apply_org_policy(POLICY)
    assert "90-day expiry" in demo_vault.get(key.key_id).policy_violation
    return key


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
async def test_a_flagged_key_is_fixed_in_the_console_and_its_flag_goes_at_once(demo_vault, make_app, flagged, size):
    async with running(make_app(demo_vault), size) as console:
        await find_key(console, flagged.name)
        assert "⚑ Flagged Prod Key" in console.text()
        await console.press("ctrl+e")
        await console.wait_for_text("Edit Flagged Prod Key", "⚑ ")
        await console.focus_on("any address")  # the IP restrictions field, empty
        await console.type("10.0.0.0/33")
        await console.wait_for_text("'10.0.0.0/33'")  # named beside the field as typed
        await console.clear_field()
        await console.paste("10.0.0.0/8")
        await console.press("ctrl+s")
        await console.wait_for_text("Change production key Flagged Prod Key?", "IP allowlist: none → 10.0.0.0/8")
        await console.click("Save")
        note = await console.wait_for_notification("Saved Flagged Prod Key")
        assert "Still flagged: 90-day expiry" in note
        assert demo_vault.get(flagged.key_id).ip_allowlist == ("10.0.0.0/8",)
        await console.press("r")
        await console.wait_for_text("Rotate Flagged Prod Key", "⚑ 90-day expiry")
        await console.focus_on("Keep (90 days)")
        await console.choose("60 days from now")
        await console.wait_for_text("The key then expires 2027-01-26 09:00 (60-day policy).")
        await console.press("shift+tab")
        await console.press("enter")
        await console.wait_for_text("Token rotated: Flagged Prod Key")
        await console.press("escape")
        await console.wait_for(lambda: "Flagged Prod Key" in console.text() and "⚑ Flagged" not in console.text(),
                               "the flag gone from the registry")
    assert demo_vault.get(flagged.key_id).policy_violation is None


async def test_a_rotation_the_policy_refuses_is_said_in_the_dialog_which_stays_open(demo_vault, make_app, flagged):
    demo_vault.update(flagged.key_id, ip_allowlist=["10.0.0.0/8"])
    async with running(make_app(demo_vault), (120, 40)) as console:
        await find_key(console, flagged.name)
        await console.press("r")
        await console.wait_for_text("Rotate Flagged Prod Key")
        await console.press("enter")  # keeping the 90-day policy
        await console.wait_for_text("allows at most 60 days in production")
        assert "Rotate Flagged Prod Key" in console.text()


async def test_adding_execute_in_the_edit_form_asks_for_a_totp_code(demo_vault, make_app, demo_keys, tui_clock):
    secret, _ = demo_vault.enroll_mfa()
    key = demo_keys["Log Shipper Key"]  # staging, write
    async with running(make_app(demo_vault), (120, 40)) as console:
        await find_key(console, key.name)
        await console.press("ctrl+e")
        await console.wait_for_text("Edit Log Shipper Key")
        await console.focus_on("Execute")
        await console.press("space")
        await console.focus_on("observability")  # the owner field
        await console.clear_field()
        await console.paste("ci-bot")
        await console.press("ctrl+s")
        await console.wait_for_text("MFA required")
        await console.type(totp.code_for(secret, tui_clock.now()))
        await console.press("enter")
        note = await console.wait_for_notification("Saved Log Shipper Key")
        assert "owner: observability → ci-bot" in note and "permissions: write → write,execute" in note
    edited = demo_vault.get(key.key_id)
    assert (edited.owner, edited.permissions_text) == ("ci-bot", "write,execute")


async def test_the_edit_form_refuses_a_taken_name_beside_the_field(demo_vault, make_app, demo_keys):
    key = demo_keys["Log Shipper Key"]
    async with running(make_app(demo_vault), (80, 24)) as console:
        await find_key(console, key.name)
        await console.press("ctrl+e")
        await console.wait_for_text("Edit Log Shipper Key")
        await console.clear_field()
        await console.paste("Demo Build Key")  # staging too
        await console.press("ctrl+s")
        await console.wait_for_text("'Demo Build Key' is already used by a key in staging")
    assert demo_vault.get(key.key_id).name == key.name
