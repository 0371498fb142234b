"""The registry in daily use: what is expiring, what is dead, who used it — at 80×24 and 120×40.

Driven by keys, read from the screen (tests/tui/console.py)."""

from __future__ import annotations

import pytest

from keytui.domain import Status
from tests.tui.console import running

SIZES = [(80, 24), (120, 40)]
ESSENTIAL = ("Key Name", "Status", "Environment", "Expiry", "Last Used")


async def registry(console) -> None:
    await console.press("2")
    await console.wait_for_text("of 24 keys")


def header(console) -> str:
    return console.line_with("Key Name")


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
async def test_every_row_shows_name_status_environment_expiry_and_last_used(demo_vault, make_app, demo_keys, size):
    async with running(make_app(demo_vault), size) as console:
        await registry(console)
        head = header(console)
        assert [head.index(label) for label in ESSENTIAL] == sorted(head.index(label) for label in ESSENTIAL)
        # no column is cut off at the right edge: a label shown is shown whole
        assert head.rstrip().endswith(("Last Used", "Permissions", "Key ID", "Owner", "Created"))
        rows = [line for line in console.lines() if any(name in line for name in demo_keys)]
        assert len(rows) >= min(len(demo_keys), size[1] - 8)  # every row in sight
        github = console.line_with("GitHub Sync Key")
        assert "expired" in github and "production" in github and " ago" in github
        assert console.line_with("Workflow Scheduler Key").split()[-1] == "never" or size[0] > 80
        footer = console.lines()[-1]
        assert "? Help" in footer and "q Quit" in footer and "c Create" in footer
        if size[0] >= 120:
            assert "Module Scope" in head and "Permissions" in head


async def test_expiry_and_last_use_are_ages_and_the_dates_are_in_the_detail(demo_vault, make_app, demo_keys):
    key = demo_keys["CI Pipeline Key"]
    async with running(make_app(demo_vault), (120, 40)) as console:
        await registry(console)
        assert "in 12 d" in console.line_with("CI Pipeline Key")
        await console.press("slash")
        await console.paste("CI Pipeline")
        await console.press("enter")
        await console.wait_for_text("1-1 of 1 keys")
        await console.press("enter")
        await console.wait_for_text("Expiry Date")
        assert f"{key.expires_at:%Y-%m-%d %H:%M} (in 12 d)" in console.line_with("Expiry Date")
        assert "(last successful verification)" in console.line_with("Last Used")


async def test_sort_goes_through_the_columns_in_sight_only(demo_vault, make_app):
    async with running(make_app(demo_vault), (80, 24)) as console:
        await registry(console)
        sorted_by = []
        for _ in range(6):
            await console.press("s")
            await console.wait_for_text("sorted by")
            sorted_by.append(console.line_with("sorted by").split("sorted by ")[1].split(" ")[0])
        assert sorted_by == ["Key", "Status", "Environment", "Expiry", "Last", "Key"]


async def test_status_filter_active_expiring_expired_revoked(demo_vault, make_app, demo_keys, tui_clock):
    from datetime import timedelta

    demo_vault.set_policy("expiry_alert_days", 14)  # "expiring soon" is the expiry-alert window
    soon = {name for name, k in demo_keys.items() if k.status is Status.ACTIVE and k.expires_at
            and k.expires_at - tui_clock.now() <= timedelta(days=14)}
    async with running(make_app(demo_vault), (120, 40)) as console:
        await registry(console)
        await console.press("f")
        await console.wait_for_text("status: active", "of 18 keys")
        await console.press("f")
        await console.wait_for_text("status: expiring soon", f"of {len(soon)} keys")
        assert soon and all(name in console.text() for name in soon)
        await console.press("f")
        await console.wait_for_text("status: expired", "of 4 keys")
        await console.press("f")
        await console.wait_for_text("status: revoked", "of 2 keys")
        await console.press("f")
        await console.wait_for_text("1-24 of 24 keys")
        assert "status:" not in console.text()


async def test_expiring_soon_follows_an_alert_window_changed_while_the_registry_was_out_of_sight(
        demo_vault, make_app, demo_keys, tui_clock):
    from datetime import timedelta

    def expiring(days: int) -> int:
        return sum(1 for k in demo_keys.values() if k.status is Status.ACTIVE and k.expires_at
                   and k.expires_at - tui_clock.now() <= timedelta(days=days))

    assert expiring(7) != expiring(30)
    demo_vault.set_policy("expiry_alert_days", 7)
    async with running(make_app(demo_vault), (120, 40)) as console:
        await registry(console)
        await console.press("f", "f")
        await console.wait_for_text("status: expiring soon", f"of {expiring(7)} keys")
        await console.press("1")
        demo_vault.set_policy("expiry_alert_days", 30)  # as the Policies page or another operator would
        await console.press("2")
        await console.wait_for_text("status: expiring soon", f"of {expiring(30)} keys")


async def test_escape_clears_the_scope_filter_set_from_the_scopes_page_then_goes_back(demo_vault, make_app):
    async with running(make_app(demo_vault), (120, 40)) as console:
        await console.press("3")
        await console.wait_for_text("Agents Execution")
        await console.press("enter")  # the first card: Agents Execution
        await console.wait_for_text("scope: Agents Execution")
        await console.press("f", "e")  # and a status, and an environment
        await console.wait_for_text("status: active")
        await console.press("escape")
        await console.wait_for_text("1-24 of 24 keys")
        assert "scope:" not in console.text() and "status:" not in console.text()
        assert console.page == "registry"
        await console.press("escape")
        await console.wait_for(lambda: console.page == "scopes", "back to the Scopes page")


async def test_a_refused_presentation_does_not_change_last_used(demo_vault, make_app, demo_keys):
    key = demo_keys["GitHub Sync Key"]  # expired
    before = demo_vault.get(key.key_id).last_used_at
    token = demo_vault.copy_token(key.key_id)
    assert demo_vault.verify(token, "production").code.value == "EXPIRED"
    assert demo_vault.get(key.key_id).last_used_at == before
    async with running(make_app(demo_vault), (120, 40)) as console:
        await registry(console)
        assert "41 h ago" in console.line_with("GitHub Sync Key")  # its last successful use, not now


@pytest.mark.parametrize("page", ["1", "2", "3", "4", "5", "6", "7"])
async def test_the_footer_keeps_help_quit_and_create_at_80_columns(demo_vault, make_app, page):
    async with running(make_app(demo_vault), (80, 24)) as console:
        await console.press(page)
        await console.wait_for(lambda: "? Help" in console.lines()[-1], "the footer")
        footer = console.lines()[-1]
        assert "q Quit" in footer and "? Help" in footer and "c Create" in footer, footer


async def test_the_footer_follows_the_focus_and_the_page(demo_vault, make_app):
    """The footer is rebuilt only when the keys it shows change (keytui.widgets.footer): it must
    still change with the focus (the filter box has no row actions) and with the page."""
    table_keys = ("f Status", "r Rotate", "x Revoke")
    async with running(make_app(demo_vault), (160, 30)) as console:
        await registry(console)
        await console.wait_for(lambda: all(k in console.lines()[-1] for k in table_keys), "the table's keys")
        await console.press("slash")
        await console.wait_for(lambda: not any(k in console.lines()[-1] for k in table_keys), "the filter's keys")
        assert "/ Filter" in console.lines()[-1]
        await console.press("escape")
        await console.wait_for(lambda: all(k in console.lines()[-1] for k in table_keys), "the table's keys again")
        await console.press("7")
        await console.wait_for(lambda: "Follow/Pause" in console.lines()[-1], "the Activity page's keys")
        assert not any(k in console.lines()[-1] for k in table_keys)


async def test_the_key_detail_footer_keeps_back_help_and_quit_at_80_columns(demo_vault, make_app):
    async with running(make_app(demo_vault), (80, 24)) as console:
        await registry(console)
        await console.press("enter")
        await console.wait_for_text("Rotation and audit history")
        footer = console.lines()[-1]
        assert "esc Back" in footer and "? Help" in footer and "q Quit" in footer, footer
