"""SVG snapshots of the shell's screens on the demo data at a fixed clock, at 80x24 and 120x40.

Review a changed snapshot by opening the SVG (pytest --snapshot-update rewrites them).
"""

from __future__ import annotations

import pytest

from tests.tui.snapshots import steady

SIZES = [(80, 24), (120, 40)]


async def _overview(c):
    await c.wait_for_text("Keys per environment", "Recent activity")


async def _registry(c):
    await c.press("2")
    await c.wait_for_text("of 24 keys")  # the total, which a worker counts


async def _key_detail(c):
    await c.press("2", "slash")
    await c.paste("Workflow Trigger Key")
    await c.press("enter")
    await c.wait_for_text("1-1 of 1 keys")
    await c.press("enter")
    await c.wait_for(lambda: "Key: Workflow Trigger Key" in c.title, "the key's detail")


async def _create_key(c):
    await c.press("c")
    await c.wait_for_text("Create New API Key")
    await c.paste("Agents Nightly Runner")
    await c.press("tab")
    await c.choose("Agents Execution")
    await c.press("tab", "tab", "tab", "space", "tab", "tab")  # Execute
    await c.choose("Production")
    await c.press("tab")
    await c.choose("Never")
    await c.press("tab")
    await c.paste("10.0.0.0/33")
    await c.wait_for_text("production keys must expire", "is not an IPv4/IPv6 address or CIDR")


async def _help(c):
    await c.press("question_mark")
    await c.wait_for_text("Key actions")


async def _alerts(c):
    await c.wait_for(lambda: "Recent activity" in c.text() and " success " in c.text().split("Recent activity")[1],
                     "the page behind, loaded first")
    await c.press("A")
    await c.wait_for_text("open alert(s)")
    second = c.app.vault.alerts()[1]
    await c.press("j")
    await c.wait_for_text(f"{second.kind} · raised")  # the detail follows the cursor


SCREENS = {"overview": _overview, "registry": _registry, "key_detail": _key_detail, "create_key": _create_key,
           "help": _help, "alerts": _alerts}


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
@pytest.mark.parametrize("screen", list(SCREENS))
def test_shell_screen_snapshot(screen, size, snap_compare, demo_vault, make_app):
    assert snap_compare(make_app(demo_vault), terminal_size=size, run_before=steady(SCREENS[screen]))
