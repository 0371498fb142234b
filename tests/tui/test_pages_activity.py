"""Activity log page: live follow across processes, pause, filters, keyset scroll-back."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time

from keytui.service import analytics
from keytui.screens.activity import WINDOW
from keytui.widgets.log_view import LogView


def _rows(app) -> list[list]:
    view = app.screen.query_one(LogView)
    return [view.get_row_at(i) for i in range(view.row_count)]


def _status(app) -> str:
    return str(app.screen.query_one("#activity-status").render())


async def _open(pilot):
    await pilot.press("7")
    await pilot.pause(0.3)
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def _wait_for(pilot, condition, seconds: float) -> float | None:
    """Seconds until condition() held, or None if it did not within `seconds` (no key is pressed)."""
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        if condition():
            return time.monotonic() - start
        await pilot.pause(0.05)
    return None


async def test_log_shows_newest_events_first_with_every_column(demo_vault, make_app):
    app = make_app(demo_vault)
    async with app.run_test(size=(120, 40)) as pilot:
        await _open(pilot)
        newest = analytics.events(demo_vault.ctx, limit=3)
        rows = _rows(app)
        assert [r[0] for r in rows[:3]] == [e.key_id for e in newest]
        first = rows[0]
        assert [str(c) for c in first[1:4]] == [newest[0].module, newest[0].action, newest[0].status]
        assert first[4] == f"{newest[0].ts:%Y-%m-%d %H:%M:%S}" and str(first[6]) == newest[0].code
        assert "FOLLOWING" in _status(app)


async def test_event_written_by_another_process_appears_within_two_seconds(demo_vault, make_app, tui_clock):
    issued = demo_vault.create("Live Tail Key", "agents", "read", "sandbox", expires_in_days=30)
    home = demo_vault.settings.home
    env = dict(os.environ, KEYTUI_HOME=str(home), KEYTUI_NOW=tui_clock.now().isoformat())
    env.pop("KEYTUI_MASTER_KEY", None)
    app = make_app(demo_vault)
    async with app.run_test(size=(120, 40)) as pilot:
        await _open(pilot)
        assert issued.key.key_id not in [r[0] for r in _rows(app)]
        proc = await asyncio.to_thread(
            subprocess.run, [sys.executable, "-m", "keytui", "verify", "-", "--environment", "sandbox",
                             "--module", "agents", "--ip", "198.51.100.9"],
            input=issued.token + "\n", capture_output=True, text=True, env=env, timeout=60)
        assert proc.returncode == 0, proc.stderr[-300:]
        waited = await _wait_for(pilot, lambda: _rows(app) and _rows(app)[0][0] == issued.key.key_id, 2.0)
        assert waited is not None, "the other process's event did not appear within 2 s"
        assert str(_rows(app)[0][5]) == "198.51.100.9"


async def test_pause_holds_the_view_and_resume_shows_what_arrived(demo_vault, make_app):
    issued = demo_vault.create("Paused Key", "agents", "read", "sandbox", expires_in_days=30)
    app = make_app(demo_vault)
    async with app.run_test(size=(120, 40)) as pilot:
        await _open(pilot)
        await pilot.press("p")
        assert "PAUSED" in _status(app)
        demo_vault.verify(issued.token, "sandbox", module="agents")
        assert await _wait_for(pilot, lambda: "1 new" in _status(app), 2.5) is not None
        assert _rows(app)[0][0] != issued.key.key_id
        await pilot.press("space")
        assert await _wait_for(pilot, lambda: _rows(app)[0][0] == issued.key.key_id, 2.0) is not None
        assert "FOLLOWING" in _status(app)


async def test_filters_by_status_and_ip_and_refuses_bad_values(demo_vault, make_app):
    app = make_app(demo_vault)
    async with app.run_test(size=(120, 40)) as pilot:
        await _open(pilot)
        await pilot.press("slash")
        await pilot.press("tab", "tab", *"failed", "enter")
        await pilot.pause(0.3)
        await app.workers.wait_for_complete()
        await pilot.pause()
        rows = _rows(app)
        assert rows and {str(r[3]) for r in rows} == {"failed"}
        assert "status=failed" in _status(app)
        await pilot.press("slash", "tab", "tab", "tab", *"10.0.0.999", "enter")
        await pilot.pause()
        assert "ip: '10.0.0.999' is not an IPv4 or IPv6 address" in _status(app)
        assert {str(r[3]) for r in _rows(app)} == {"failed"}


async def test_show_activity_prefilters_on_one_key(demo_vault, make_app):
    key_id = analytics.usage(demo_vault.ctx, "30d").most_used[0].key_id
    app = make_app(demo_vault)
    async with app.run_test(size=(120, 40)) as pilot:
        app.show_activity(key_id=key_id)
        await pilot.pause(0.3)
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.current_mode == "activity"
        assert {r[0] for r in _rows(app)} == {key_id}
        assert app.screen.query_one("#filter-key_id").value == key_id


async def test_scroll_back_pages_by_id_and_keeps_a_bounded_window(demo_vault, make_app):
    app = make_app(demo_vault)
    async with app.run_test(size=(120, 40)) as pilot:
        await _open(pilot)
        newest_id = app.screen.window[0].id
        for _ in range(WINDOW // 10 + 5):
            await pilot.press("pagedown")
        await pilot.pause()
        screen = app.screen
        assert len(screen.window) <= WINDOW and _rows(app) and len(_rows(app)) <= WINDOW
        assert screen.window[0].id < newest_id, "the window should have moved back past the newest events"
        assert "PAUSED" in _status(app)
        ids = [e.id for e in screen.window]
        assert ids == sorted(ids, reverse=True) and len(set(ids)) == len(ids)
        await pilot.press("G")
        await pilot.pause()
        oldest = analytics.events(demo_vault.ctx, after_id=0, limit=1)[0]
        assert screen.window[-1].id == oldest.id
        await pilot.press("g")
        await pilot.pause(0.3)
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert screen.window[0].id == newest_id
