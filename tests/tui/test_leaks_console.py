"""The console's part of "when a key leaks": a rotation's callers on the key's page and ending
the grace period there, canaries marked in the registry, each alert's delivery state.

Driven by keys, read from the screen (tests/tui/console.py)."""

from __future__ import annotations

from keytui.domain import VerifyCode
from keytui.service import alerts
from tests.tui.test_daily_alerts import select_alert, selected
from tests.tui.test_pages_policies import open_policies, row

ROTATION = "Rotation in progress"
END_GRACE = "End the grace period?"


async def filter_registry(c, vault, text: str) -> None:
    """The registry (once it shows every key) filtered by `text` typed in its filter box."""
    await c.press("2")
    await c.wait_for_text(f"of {len(vault.list_keys())} keys")
    await c.press("slash")
    await c.paste(text)
    await c.press("enter")
    await c.wait_for_text(f"filter: {text}")


async def open_key(c, vault, name: str) -> None:
    """The key's page, reached as an operator does: filter the registry to it, enter."""
    await filter_registry(c, vault, name)
    await c.wait_for_text("1-1 of 1 keys")
    await c.press("enter")
    await c.wait_for(lambda: f"Key: {name}" in c.title, f"the page of {name}")
    await c.wait_for_text("Rotation and audit history")


async def test_key_page_shows_old_and_new_token_callers_and_ends_the_grace(demo_vault, console, tui_clock):
    made = demo_vault.create("Grace Watch Key", "workflows", ["read"], "staging", expires_in_days=30)
    tui_clock.advance(minutes=1)
    new = demo_vault.rotate(made.key.key_id, grace_hours=6)
    tui_clock.advance(minutes=1)
    demo_vault.verify(made.token, "staging", ip="10.1.0.7", module="workflows")
    demo_vault.verify(new.token, "staging", ip="10.2.0.9", module="agents")
    async with console(demo_vault) as c:
        await open_key(c, demo_vault, made.key.name)
        await c.wait_for_text(ROTATION, "old token last presented")
        table = c.text().split(ROTATION, 1)[1].split("─ Tokens ─", 1)[0]  # the rotation's table, its box
        callers = [line.strip("│ ").split()[:3] for line in table.splitlines()[2:] if line.startswith("│")]
        assert callers == [["old", "10.1.0.7", "workflows"], ["new", "10.2.0.9", "agents"]]  # old token's first
        await c.press("e")
        await c.wait_for_text(END_GRACE, "10.1.0.7 (workflows)")  # who still presents the old token
        await c.press("escape")
        await c.wait_for_no_text(END_GRACE)
        assert demo_vault.verify(made.token, "staging").valid  # cancelled: nothing changed
        await c.press("e")
        await c.wait_for_text(END_GRACE)
        await c.click("End grace")
        await c.wait_for_notification(f"Only the new token of {made.key.name} works now")
        await c.wait_for_no_text(ROTATION)
        assert demo_vault.verify(made.token, "staging").code is VerifyCode.EXPIRED
        said = len(c.notifications())
        await c.press("e")  # no grace period left to end: e does nothing
        assert await c.stays(lambda: END_GRACE not in c.text() and len(c.notifications()) == said, 0.3)


async def test_a_key_without_a_rotation_has_no_rotation_table(demo_vault, console, demo_keys):
    async with console(demo_vault) as c:
        await open_key(c, demo_vault, demo_keys["Log Shipper Key"].name)
        assert ROTATION not in c.text()
        await c.press("e")
        assert await c.stays(lambda: END_GRACE not in c.text() and "Key: Log Shipper Key" in c.title, 0.3)
        assert not c.notifications()


async def test_canaries_are_marked_for_operators(demo_vault, console):
    demo_vault.create("Bait [bold]Key", "agents", ["read"], "sandbox", expires_in_days=30, canary=True)
    async with console(demo_vault) as c:
        await filter_registry(c, demo_vault, "Bait")
        await c.wait_for_text("1-1 of 1 keys")
        assert c.line_with("Bait [bold]Key").lstrip().startswith("◆ Bait [bold]Key ")  # marked; the markup shown as text
        assert "◆ canary" in c.line_with("1-1 of 1 keys")  # the status line says what ◆ means
        await c.press("enter")
        await c.wait_for(lambda: "Key: Bait [bold]Key" in c.title, "the canary's page")
        assert "never authorises" in c.line_with("Canary")


async def test_the_alerts_screen_shows_each_channels_delivery(demo_vault, console):
    demo_vault.add_alert_channel("oncall", "webhook", url="http://127.0.0.1:9/", secret="s" * 32)
    with demo_vault.ctx.transaction():
        alerts.raise_alert(demo_vault.ctx, kind="key-leaked", severity="high", message="zz newest",
                           dedupe_key="console-test")
    demo_vault.deliver_alerts()  # port 9 refuses: pending, one attempt
    async with console(demo_vault) as c:
        await c.press("A")
        await c.wait_for_text("open alert(s)")
        await select_alert(c, "zz newest")
        assert "delivery: oncall pending (1 attempts: webhook unreachable" in selected(c), c.text()


async def test_the_policies_page_switches_the_leak_response_and_canary_cooling(demo_vault, console):
    async with console(demo_vault) as c:
        await open_policies(c)
        assert row(c, "Leaked live token").startswith(" [x]") and "revoke" in row(c, "Leaked live token")
        await c.focus_on("Leaked live token")
        await c.press("enter")
        await c.wait_for(lambda: row(c, "Leaked live token").startswith(" [ ]"), "the leak response off")
        assert "alert only" in row(c, "Leaked live token")
        assert demo_vault.policy_settings()["leak_response"] == "alert"
        assert row(c, "Cool off canary callers").startswith(" [x]")
        await c.focus_on("Cool off canary callers")
        await c.press("enter")
        await c.wait_for(lambda: row(c, "Cool off canary callers").startswith(" [ ]"), "canary cooling off")
        assert demo_vault.policy_settings()["canary_cooling"] is False
