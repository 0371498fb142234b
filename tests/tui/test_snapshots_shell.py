"""SVG snapshots of the shell's screens on the demo data at a fixed clock, at 80x24 and 120x40.

Review a changed snapshot by opening the SVG (pytest --snapshot-update rewrites them).
"""

from __future__ import annotations

import pytest

SIZES = [(80, 24), (120, 40)]


async def _registry(pilot):
    await pilot.press("2")
    await pilot.app.workers.wait_for_complete()  # the total comes from a worker
    await pilot.pause()


async def _key_detail(pilot):
    await pilot.press("2")
    await pilot.pause()
    pilot.app.screen.set_filter(search="Workflow Trigger Key")
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.press("enter")
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()  # the screens load in workers
    await pilot.pause()


async def _create_key(pilot):
    await pilot.press("c")
    await pilot.pause()
    screen = pilot.app.screen
    screen.query_one("#name").value = "Agents Nightly Runner"
    screen.query_one("#scope").value = "agents"
    screen.query_one("#perm-execute").value = True
    screen.query_one("#environment").value = "production"
    screen.query_one("#expiry").value = "never"
    screen.query_one("#ip").value = "10.0.0.0/33"
    await pilot.pause()


async def _help(pilot):
    await pilot.press("question_mark")
    await pilot.pause()


async def _overview(pilot):
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def _alerts(pilot):
    await pilot.press("A")
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.press("j")
    await pilot.pause()


SCREENS = {"overview": _overview, "registry": _registry, "key_detail": _key_detail, "create_key": _create_key,
           "help": _help, "alerts": _alerts}


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
@pytest.mark.parametrize("screen", list(SCREENS))
def test_shell_screen_snapshot(screen, size, snap_compare, demo_vault, make_app):
    assert snap_compare(make_app(demo_vault), terminal_size=size, run_before=SCREENS[screen])
