"""Writes that need a second look: production permissions, blinding policies, regenerating a
production key, the rotate dialog's live end time, expired keys, the MFA window in the header."""

from __future__ import annotations

import pytest

from keytui import totp
from tests.tui.console import running


async def find_key(console, name: str) -> None:
    """The registry filtered to one key, its row highlighted (the key other pages start from)."""
    await console.press("2")
    await console.wait_for_text(" keys  ·  sorted by")
    await console.press("slash")
    await console.paste(name)
    await console.press("enter")
    await console.wait_for_text("1-1 of 1 keys")


async def permissions_of(console, name: str) -> None:
    await find_key(console, name)
    await console.press("4")
    await console.wait_for_text("Key permissions", name)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
async def test_a_production_keys_permissions_change_only_after_confirmation(demo_vault, make_app, demo_keys, size):
    key = demo_keys["OpenAI Gateway Key"]  # production, read
    async with running(make_app(demo_vault), size) as console:
        await permissions_of(console, key.name)
        await console.focus_on("Write", key="j")
        await console.press("space")
        await console.wait_for_text("Change the permissions of production key OpenAI Gateway Key?", "read → read,write")
        await console.click("Cancel")
        await console.wait_for_text("Nothing changed.")
        assert demo_vault.get(key.key_id).permissions_text == "read"
        await console.press("space")
        await console.wait_for_text("read → read,write", "Services using this key get more access at once.")
        await console.click("Change")
        await console.wait_for_text("Saved: OpenAI Gateway Key now has read,write (audited).")
        assert demo_vault.get(key.key_id).permissions_text == "read,write"


async def test_a_staging_keys_permission_changes_at_once(demo_vault, make_app, demo_keys):
    key = demo_keys["Log Shipper Key"]  # staging, write
    async with running(make_app(demo_vault), (120, 40)) as console:
        await permissions_of(console, key.name)
        await console.focus_on("Read", key="j")
        await console.press("space")
        await console.wait_for_text("now has read,write")
        assert demo_vault.get(key.key_id).permissions_text == "read,write"


@pytest.mark.parametrize("label, setting", [("Usage Monitoring", "usage_monitoring"),
                                            ("Suspicious Activity Detection", "suspicious_detection")])
async def test_turning_off_what_feeds_the_activity_log_and_alerts_asks_first(demo_vault, make_app, label, setting):
    async with running(make_app(demo_vault), (80, 24)) as console:
        await console.press("5")
        await console.wait_for_text(label)
        await console.focus_on(label, key="j")
        await console.press("space")
        await console.wait_for_text(f"Turn {label} off?")
        await console.click("Cancel")
        await console.wait_for_text("Nothing changed.")
        assert demo_vault.policy_settings()[setting] is True
        await console.press("space")
        await console.wait_for_text(f"Turn {label} off?")
        await console.click("Turn off")
        await console.wait_for_text(f"Saved: {label} disabled (audited).")
        assert demo_vault.policy_settings()[setting] is False
        await console.press("space")  # turning it back on asks nothing
        await console.wait_for_text(f"Saved: {label} enabled (audited).")


async def test_regenerating_a_production_key_needs_its_name_typed(demo_vault, make_app, demo_keys):
    key = demo_keys["OpenAI Gateway Key"]
    before = demo_vault.secrets(key.key_id)
    async with running(make_app(demo_vault), (120, 40)) as console:
        await find_key(console, key.name)
        await console.press("R")
        await console.wait_for_text("Type the key name OpenAI Gateway Key to confirm")
        await console.type("OpenAI")
        await console.press("enter")
        await console.wait_for_text("type OpenAI Gateway Key exactly")
        assert demo_vault.secrets(key.key_id) == before
        await console.paste(" Gateway Key")
        await console.press("enter")
        await console.wait_for_text("Token regenerated: OpenAI Gateway Key")
    assert len(demo_vault.secrets(key.key_id)) == len(before) + 1


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
async def test_the_rotate_dialog_says_when_the_old_token_stops_as_the_hours_are_typed(demo_vault, make_app, demo_keys,
                                                                                    size):
    key = demo_keys["Log Shipper Key"]
    async with running(make_app(demo_vault), size) as console:
        await find_key(console, key.name)
        await console.press("r")
        await console.wait_for_text("The old token works until 2026-11-28 09:00 (in 24 h).")
        await console.clear_field()
        await console.type("9999")
        await console.wait_for_text("'9999' is not a grace period")
        await console.press("backspace", "backspace", "backspace")  # a burst ate one backspace: "9" is left
        await console.wait_for_text("The old token works until 2026-11-27 18:00 (in 9 h).")
        await console.press("backspace")
        await console.type("2")
        await console.wait_for_text("The old token works until 2026-11-27 11:00 (in 2 h).")
        await console.press("enter")
        await console.wait_for_text("Token rotated: Log Shipper Key")
    secrets = demo_vault.secrets(key.key_id)
    assert secrets[1].valid_until.strftime("%H:%M") == "11:00"


async def test_the_rotate_dialog_caps_the_end_at_the_keys_expiry(demo_vault, make_app, demo_keys, tui_clock):
    from datetime import timedelta

    key = demo_keys["CI Pipeline Key"]
    tui_clock.set(key.expires_at - timedelta(hours=3))
    async with running(make_app(demo_vault), (120, 40)) as console:
        await find_key(console, key.name)
        await console.press("r")
        await console.wait_for_text(f"works until {key.expires_at:%Y-%m-%d %H:%M} (in 3 h) (the key's expiry)")


@pytest.mark.parametrize("action", ["r", "R"])
async def test_rotating_or_regenerating_an_expired_key_is_refused_before_asking(demo_vault, make_app, demo_keys,
                                                                                action):
    key = demo_keys["GitHub Sync Key"]
    async with running(make_app(demo_vault), (120, 40)) as console:
        await find_key(console, key.name)
        await console.press(action)
        await console.wait_for_notification("has expired; expired keys cannot be")
        assert "Grace" not in console.text() and "Type the key name" not in console.text()


async def test_the_header_shows_the_mfa_window_and_its_time_left(demo_vault, make_app, demo_keys, tui_clock):
    secret, _ = demo_vault.enroll_mfa()
    key = demo_keys["Log Shipper Key"]  # write only: adding execute needs MFA
    async with running(make_app(demo_vault), (80, 24)) as console:
        assert "MFA" not in console.title
        await permissions_of(console, key.name)
        await console.focus_on("Execute", key="j")
        await console.press("space")
        await console.wait_for_text("MFA required")
        await console.type(totp.code_for(secret, tui_clock.now()))
        await console.press("enter")
        await console.wait_for_text("now has write,execute")
        title = await console.wait_for(lambda: "MFA" in console.title and console.title, "the MFA window in the header")
        assert "MFA 5:00 left" in title or "MFA 4:5" in title, title
