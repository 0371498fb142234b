"""The console shell: pages, navigation, Overview, --demo, the watch worker, the user keymap."""

from __future__ import annotations

import re
from datetime import timedelta

from keytui import tokens
from keytui.domain import Environment

PAGES = [  # key, page, something only that page shows
    ("1", "overview", "Keys per environment"), ("2", "registry", "of 24 keys"), ("3", "scopes", "Used for"),
    ("4", "permissions", "Permission matrix"), ("5", "policies", "Security & rotation policies"),
    ("6", "analytics", "Most used keys"), ("7", "activity", "FOLLOWING"),
]


def card_values(c) -> list[int]:
    """The four Overview cards' numbers (Total, Active, Expired, Revoked), from the line above their labels."""
    lines = c.lines()
    labels = next(i for i, line in enumerate(lines) if "Total" in line and "Revoked" in line)
    return [int(n) for n in re.findall(r"\d+", lines[labels - 1])]


async def open_key_in_registry(c, name: str) -> None:
    await c.press("2", "slash")
    await c.paste(name)
    await c.press("enter")
    await c.wait_for_text(f"filter: {name}", name)


async def test_console_opens_on_the_overview_and_number_keys_switch_pages(demo_vault, console):
    async with console(demo_vault) as c:
        await c.wait_for(lambda: card_values(c) == [24, 18, 4, 2], "the Overview's cards")
        for key, page, shown in PAGES[1:] + PAGES[:1]:
            await c.press(key)
            await c.wait_for_text(shown)
            assert c.page == page


async def test_clicking_a_tab_in_the_page_bar_switches_page(demo_vault, console):
    async with console(demo_vault, size=(80, 24)) as c:
        await c.click("3 Scopes")
        await c.wait_for_text("Used for")
        assert c.page == "scopes"


async def test_overview_cards_environment_counts_and_recent_activity(demo_vault, console):
    async with console(demo_vault) as c:
        await c.wait_for_text("Production       8 6 act 1 exp 1 rev", "Recent activity")
        assert card_values(c) == [24, 18, 4, 2]
        newest = demo_vault.list_keys()  # the demo's traffic is shown with key names
        assert any(k.name in c.text().split("Recent activity")[1] for k in newest)


async def test_the_watch_rotates_on_its_timer_and_the_registry_shows_it_without_a_restart(
        demo_vault, console, tui_clock):
    from keytui.service import KeyFilter

    soon = [k for k in demo_vault.list_keys(KeyFilter.parse(status="active")) if k.expires_at and k.expiry_days]
    key = min(soon, key=lambda k: k.expires_at)
    async with console(demo_vault, size=(200, 40), watch_interval=0.2) as c:  # wide: the Expiry Date column
        await open_key_in_registry(c, key.name)
        old_expiry = f"in {(key.expires_at - tui_clock.now()).days} d"
        assert old_expiry in c.line_with(key.key_id)
        tui_clock.set(key.expires_at - timedelta(days=2))  # inside the Auto Rotation window
        await c.wait_for_notification("Auto Rotation rotated")
        renewed = f"in {key.expiry_days} d"
        await c.wait_for(lambda: renewed in c.line_with(key.key_id), "the renewed expiry in the registry")
    assert [s.origin for s in demo_vault.secrets(key.key_id)][0] == "auto-rotate"


async def test_new_alerts_from_the_watch_are_notified_and_shown_on_the_overview(demo_vault, console, tui_clock):
    ip = "198.51.100.9"
    async with console(demo_vault, watch_interval=0.2) as c:
        before = re.search(r"Open alerts \((\d+)\)", await c.wait_for_text("Open alerts")).group(1)
        for _ in range(6):  # a burst of unknown tokens from one address
            tui_clock.advance(seconds=5)
            demo_vault.verify(tokens.generate(Environment.PRODUCTION), "production", ip=ip)
        await c.wait_for_notification(ip)
        await c.wait_for_text(f"Open alerts ({int(before) + 1})", ip)


async def test_the_watch_does_not_run_read_only(reviewer, console, monkeypatch):
    """(test_a_failing_watch_pass_is_reported… shows that a writable console runs the same pass.)"""
    from keytui.service import Vault

    passes = []
    monkeypatch.setattr(Vault, "run_watch_pass", lambda vault: passes.append(vault.operator))
    async with console(reviewer(), watch_interval=0.05) as c:
        assert await c.stays(lambda: not passes, seconds=1.0), "a read-only console ran the watch"


async def test_a_user_keymap_rebinds_by_binding_id(demo_vault, console):
    (demo_vault.settings.home / "keymap.toml").write_text('[keymap]\n"key.revoke" = "delete"\n')
    async with console(demo_vault) as c:
        await open_key_in_registry(c, "Log Shipper Key")
        await c.press("delete")
        await c.wait_for_text("Revoke Log Shipper Key?")


async def test_a_broken_keymap_is_reported_and_ignored(demo_vault, console):
    (demo_vault.settings.home / "keymap.toml").write_text("[keymap\n")
    async with console(demo_vault, size=(80, 24)) as c:
        await c.wait_for_notification("keymap.toml ignored")
        await c.press("2")
        await c.wait_for_text("of 24 keys")


async def test_a_failing_watch_pass_is_reported_and_the_console_keeps_running(demo_vault, console, monkeypatch):
    from keytui.service import Vault

    def broken(vault):
        raise RuntimeError("disk full")

    monkeypatch.setattr(Vault, "run_watch_pass", broken)
    async with console(demo_vault, size=(80, 24), watch_interval=0.1) as c:
        assert await c.wait_for_notification("The watch pass failed") == "The watch pass failed: disk full"
        await c.press("2")
        await c.wait_for_text("of 24 keys")
        assert c.page == "registry"


async def test_key_detail_links_to_its_activity_log(demo_vault, console, demo_keys):
    key = demo_keys["Workflow Trigger Key"]
    async with console(demo_vault) as c:
        await open_key_in_registry(c, key.name)
        await c.press("enter")
        await c.wait_for(lambda: "Key: Workflow Trigger Key" in c.title, "the key's detail")
        await c.press("a")
        await c.wait_for_text(f"filter: key_id={key.key_id}")
        assert c.page == "activity"


async def test_apply_org_policy_opens_the_policies_page_flow(demo_vault, console):
    async with console(demo_vault) as c:
        await c.press("o")
        await c.wait_for_text("Apply Org Policy", "Path of the org policy TOML file:")
        assert c.page == "policies"


async def test_escape_goes_back_to_the_page_shown_before(demo_vault, console):
    async with console(demo_vault) as c:
        await c.press("3")
        await c.wait_for_text("Used for")
        await c.press("enter")  # the focused card, Agents Execution: its keys in the registry
        await c.wait_for_text("scope: Agents Execution")
        await c.press("slash", "x", "escape")  # the first escape only leaves the filter box
        assert c.page == "registry"
        await c.press("escape")  # the next clears the filters
        await c.wait_for_no_text("scope: Agents Execution")
        assert c.page == "registry"
        await c.press("escape")
        await c.wait_for_text("Used for")
        assert c.page == "scopes"
        await c.press("escape")
        await c.wait_for_text("Keys per environment")
        await c.press("3", "2", "escape")
        await c.wait_for_text("Used for")
        assert c.page == "scopes"


async def test_overview_shows_new_traffic_without_a_key_press(demo_vault, console, tui_clock):
    issued = demo_vault.create("Fresh Key", "monitoring", ["read"], "development", expires_in_days=30)
    async with console(demo_vault) as c:
        await c.wait_for_text("Recent activity")
        assert "Fresh Key" not in c.text()
        tui_clock.advance(minutes=1)
        demo_vault.verify(issued.token, "development", module="monitoring")  # as another process would
        await c.wait_for_text("Fresh Key")  # the README: within 2 s; the deadline allows for a busy machine
        assert "monitoring" in c.line_with("Fresh Key") and "VALID" in c.line_with("Fresh Key")
