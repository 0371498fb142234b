"""SVG snapshots of the Scopes, Permissions, Policies, Analytics and Activity pages on the demo
data with the fixed clock, at 80x24 and 120x40, so any visual change shows in review."""

from __future__ import annotations

import pytest

PAGES = {"scopes": "3", "permissions": "4", "policies": "5", "analytics": "6", "activity": "7"}
SIZES = [(80, 24), (120, 40)]


def _opener(key: str, demo_keys, page: str):
    async def run_before(pilot) -> None:
        pilot.app.animation_level = "none"
        await pilot.press(key)
        await pilot.pause()
        if page == "permissions":
            await pilot.press("slash", *demo_keys["Workflow Trigger Key"].key_id, "enter")
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.wait_for_scheduled_animations()
        for screen_input in pilot.app.screen.query("Input"):
            screen_input.cursor_blink = False
    return run_before


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("page", PAGES)
def test_page_snapshot(page, size, snap_compare, demo_vault, demo_keys, make_app):
    app = make_app(demo_vault)
    assert snap_compare(app, terminal_size=size, run_before=_opener(PAGES[page], demo_keys, page))
