"""What every snapshot test shares: the console driven by keys before the picture is taken, and a
still picture (no blinking cursor, no animation, workers and timers settled)."""

from __future__ import annotations

from textual.widgets import Input

from tests.tui.console import Console


def steady(drive):
    """A snapshot's run_before: drive the console (an async function given a Console), then stop
    every text cursor blinking, so the picture does not depend on the moment it is taken."""

    async def run_before(pilot) -> None:
        pilot.app.animation_level = "none"
        console = Console(pilot.app, pilot)
        await console.wait_for(lambda: "1 Overview" in console.text(), "the console's first page")
        await drive(console)
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        for screen in pilot.app.screen_stack:
            for field in screen.query(Input):
                field.cursor_blink = False
        await pilot.wait_for_scheduled_animations()
        await pilot.pause()

    return run_before
