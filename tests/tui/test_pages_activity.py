"""Activity log page: live follow across processes, pause, filters, keyset scroll-back."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys


EVENT = re.compile(r"^ (key_[a-z2-7]{16}|-)\s+(\S+)\s+(access|execution)\s+(success|failed)\s+"
                   r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)\s+(\S+)\s+(\S+)")


def events(c) -> list[tuple[str, ...]]:
    """The log's rows on screen as (key id, module, action, status, time, ip, code), newest first."""
    return [m.groups() for line in c.lines() if (m := EVENT.match(line))]


def counts(c) -> tuple[int, int]:
    """(shown, total) from the status line: 'N shown of M'."""
    shown, total = re.search(r"([\d,]+) shown of ([\d,]+)", c.text()).groups()
    return int(shown.replace(",", "")), int(total.replace(",", ""))


async def open_log(c) -> None:
    await c.press("7")
    await c.wait_for_text("FOLLOWING", "shown of")
    await c.wait_for(lambda: events(c), "the log's rows")


async def filter_log(c, *, key_id: str = "", module: str = "", status: str = "", ip: str = "") -> None:
    """Fill the filter boxes (key id, module, success/failed, IP address) and press enter."""
    await c.press("slash")
    for n, value in enumerate((key_id, module, status, ip)):
        await c.clear_field()
        if value:
            await c.paste(value)
        await c.press("enter" if n == 3 else "tab")


async def test_log_shows_newest_events_first_with_every_column(demo_vault, console):
    async with console(demo_vault) as c:
        await open_log(c)
        newest = demo_vault.events(limit=3)
        shown = events(c)[:3]
        assert [row[0] for row in shown] == [e.key_id for e in newest]
        first, e = shown[0], newest[0]
        assert first == (e.key_id, e.module, e.action, e.status, f"{e.ts:%Y-%m-%d %H:%M:%S}", e.ip, e.code)
        assert counts(c) == (100, demo_vault.count_events())


async def test_an_event_written_by_another_process_appears_without_a_key_press(demo_vault, console, tui_clock):
    issued = demo_vault.create("Live Tail Key", "agents", "read", "sandbox", expires_in_days=30)
    home = demo_vault.settings.home
    env = dict(os.environ, KEYTUI_HOME=str(home), KEYTUI_NOW=tui_clock.now().isoformat())
    async with console(demo_vault) as c:
        await open_log(c)
        assert issued.key.key_id not in c.text()
        proc = await asyncio.to_thread(
            subprocess.run, [sys.executable, "-m", "keytui", "verify", "-", "--environment", "sandbox",
                             "--module", "agents", "--ip", "198.51.100.9"],
            input=issued.token + "\n", capture_output=True, text=True, env=env, timeout=60)
        assert proc.returncode == 0, proc.stderr[-300:]
        # the README: within two seconds; the deadline allows for a busy machine
        await c.wait_for(lambda: events(c)[0][0] == issued.key.key_id, "the other process's event on top")
        assert events(c)[0][5] == "198.51.100.9"


async def test_pause_holds_the_view_and_resume_shows_what_arrived(demo_vault, console):
    issued = demo_vault.create("Paused Key", "agents", "read", "sandbox", expires_in_days=30)
    async with console(demo_vault) as c:
        await open_log(c)
        await c.press("p")
        await c.wait_for_text("PAUSED")
        demo_vault.verify(issued.token, "sandbox", module="agents")
        await c.wait_for_text("1 new")
        assert events(c)[0][0] != issued.key.key_id
        await c.press("space")
        await c.wait_for(lambda: events(c)[0][0] == issued.key.key_id, "the held event on top")
        assert "FOLLOWING" in c.text()


async def test_filters_by_status_and_ip_and_refuses_bad_values(demo_vault, console):
    async with console(demo_vault) as c:
        await open_log(c)
        await filter_log(c, status="failed")
        await c.wait_for_text("filter: status=failed")
        await c.wait_for(lambda: events(c) and {row[3] for row in events(c)} == {"failed"}, "only failures")
        await filter_log(c, status="failed", ip="10.0.0.999")
        await c.wait_for_text("ip: '10.0.0.999' is not an IPv4 or IPv6 address")
        assert {row[3] for row in events(c)} == {"failed"}


async def test_a_key_detail_opens_the_log_filtered_to_that_key(demo_vault, console):
    most_used = demo_vault.usage("30d").most_used[0]
    async with console(demo_vault) as c:
        await c.press("2", "slash")
        await c.paste(most_used.name)
        await c.press("enter", "enter")
        await c.wait_for(lambda: f"Key: {most_used.name}" in c.title, "the key's detail")
        await c.press("a")
        await c.wait_for_text(f"filter: key_id={most_used.key_id}")
        await c.wait_for(lambda: events(c) and {row[0] for row in events(c)} == {most_used.key_id},
                         "only that key's events")
        assert most_used.key_id in c.line_with("Filter")  # the filter box shows it too


async def test_scroll_back_pages_by_id_and_keeps_a_bounded_window(demo_vault, console):
    total = demo_vault.count_events()
    async with console(demo_vault) as c:
        await open_log(c)
        newest = events(c)[0]
        for _ in range(40):  # page back until the window holds its most, 300 events
            if counts(c)[0] >= 300:
                break
            await c.press("pagedown")
        await c.press(*["pagedown"] * 5)  # and further back: older events come in, the newest go
        await c.wait_for_text("PAUSED")
        assert counts(c) == (300, total)
        shown = events(c)
        assert newest not in shown, "the window should have moved back past the newest events"
        times = [row[4] for row in shown]
        assert times == sorted(times, reverse=True)
        await c.press("G")
        oldest = demo_vault.events(after_id=0, limit=1)[0]
        await c.wait_for(lambda: f"{oldest.ts:%Y-%m-%d %H:%M:%S}" in c.text(), "the oldest event")
        await c.press("g")
        await c.wait_for(lambda: events(c) and events(c)[0] == newest, "the newest events again")
