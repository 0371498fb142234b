"""SVG snapshots of the Scopes, Permissions, Policies, Analytics and Activity pages on the demo
data with the fixed clock, at 80x24 and 120x40, so any visual change shows in review."""

from __future__ import annotations

import pytest

from tests.tui.snapshots import steady

PAGES = {"scopes": "3", "permissions": "4", "policies": "5", "analytics": "6", "activity": "7"}
SIZES = [(80, 24), (120, 40)]
SHOWN = {"scopes": "Used for", "permissions": "Permission matrix", "policies": "Security & rotation policies",
         "analytics": "Last 24 h:", "activity": "shown of"}


def _opener(page: str, demo_keys):
    async def drive(c) -> None:
        await c.press(PAGES[page])
        await c.wait_for_text(SHOWN[page])
        if page == "permissions":
            key = demo_keys["Workflow Trigger Key"]
            await c.press("slash")
            await c.paste(key.key_id)
            await c.press("enter")
            await c.wait_for(lambda: "No key selected" not in c.text(), "the key picked")
    return steady(drive)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("page", PAGES)
def test_page_snapshot(page, size, snap_compare, demo_vault, demo_keys, make_app):
    app = make_app(demo_vault)
    assert snap_compare(app, terminal_size=size, run_before=_opener(page, demo_keys))
