"""Alerts lead somewhere: enter opens the key (or the IP's activity) with the evidence marked;
open and acknowledged alerts read apart; messages whole; the watch's news grouped; toasts
never over the status line; esc dismisses a toast and nothing else."""

from __future__ import annotations

from contextlib import asynccontextmanager

import pytest

from keytui.domain import Environment
from tests.tui.console import Console, running


async def alerts(console) -> None:
    await console.press("A")
    await console.wait_for_text("open alert(s)")


def selected(console) -> str:
    """The selected alert, shown in full under the table (from its "· raised" line on), as one line."""
    lines = console.lines()
    start = next((n for n, line in enumerate(lines) if "· raised" in line), len(lines))
    return " ".join(line.strip("█│ ").strip() for line in lines[start:start + 4])


async def select_alert(console, text: str) -> None:
    """Move down the table until the alert holding `text` is the one shown in full under it."""
    await console.press("g")
    for _ in range(12):
        if text in selected(console):
            return
        await console.press("j")
    raise AssertionError(f"no alert holding {text!r}; the screen shows:\n{console.text()}")


async def test_enter_opens_the_key_with_its_evidence_marked_and_rotate_one_key_away(demo_vault, make_app):
    async with running(make_app(demo_vault), (120, 40)) as console:
        await alerts(console)
        await select_alert(console, "the expired key was presented")
        await console.press("enter")
        await console.wait_for_text("Key: GitHub Sync Key", "expired-key-used", "Evidence (marked)",
                                    "evidence: 3 activity events")
        evidence = [line for line in console.lines() if "EXPIRED" in line]
        assert len(evidence) >= 3
        await console.press("R")  # expired: refused at once, from right here
        await console.wait_for_notification("has expired")
        await console.press("escape")
        await console.wait_for_text("open alert(s)")  # back to the alerts


async def test_an_alert_with_a_key_opens_the_key_and_rotate_or_revoke_are_one_key_away(demo_vault, make_app):
    async with running(make_app(demo_vault), (120, 40)) as console:
        await alerts(console)
        await select_alert(console, "failed verifications from key")  # Agents Execution Key
        await console.press("enter")
        await console.wait_for_text("Key: Agents Execution Key", "failure-burst-key")
        await console.press("r")
        await console.wait_for_text("Rotate Agents Execution Key", "The old token works until")
        await console.press("escape")
        await console.press("x")
        await console.wait_for_text("Revoke Agents Execution Key?", "Type the key name")


async def test_an_ip_alert_opens_the_activity_log_of_that_ip_with_the_evidence_marked(demo_vault, make_app):
    async with running(make_app(demo_vault), (120, 40)) as console:
        await alerts(console)
        await select_alert(console, "from IP 203.0.113.66")
        await console.press("enter")
        await console.wait_for_text("filter: ip=203.0.113.66", "12 evidence events marked")
        assert console.page == "activity"
        rows = [line for line in console.lines() if "203.0.113.66" in line and "IP_NOT_ALLOWED" in line]
        assert len(rows) >= 12


async def test_open_and_acknowledged_alerts_read_apart_and_messages_are_whole_at_140(demo_vault, make_app):
    async with running(make_app(demo_vault), (140, 40)) as console:
        await alerts(console)
        for alert in demo_vault.alerts():  # each one whole, in its row or, selected, under the table
            await select_alert(console, alert.message[:30])
            assert alert.message in selected(console)
        await select_alert(console, "the expired key was presented")
        await console.press("a")
        await console.wait_for_notification("acknowledged")
        await console.press("A")
        await console.wait_for_text("open and acknowledged alert(s)")
        assert "✓ acked" in console.line_with("the expired key was presented")
        assert "● open" in console.line_with("from IP 203.0.113.66")
        await select_alert(console, "the expired key was presented")
        assert "acknowledged by alice" in selected(console)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
async def test_a_selected_alerts_message_is_shown_whole(demo_vault, make_app, size):
    long_one = max(demo_vault.alerts(), key=lambda a: len(a.message))
    async with running(make_app(demo_vault), size) as console:
        await alerts(console)
        await select_alert(console, long_one.message[:20])
        assert " ".join(long_one.message.split()) in selected(console)


async def watch_pass_with_alerts(demo_vault, tui_clock, failures: int):
    """Several suspicious bursts for the next watch pass: each IP's failures make an alert."""
    from keytui import tokens

    for n in range(failures):
        for ip in ("198.51.100.7", "198.51.100.8", "198.51.100.9"):
            demo_vault.verify(tokens.generate(Environment.PRODUCTION), "production", ip=ip, module="agents")


async def test_the_watch_says_a_passes_alerts_in_one_notification(demo_vault, make_app, tui_clock):
    await watch_pass_with_alerts(demo_vault, tui_clock, 6)
    app = make_app(demo_vault, watch_interval=0.3)
    async with running(app, (120, 40)) as console:
        note = await console.wait_for_notification("new alerts")
        assert note.startswith("3 new alerts (3 high)") and "Press A to review them." in note
        assert not any("198.51.100" in n for n in console.notifications())  # one toast, not one each


@asynccontextmanager
async def with_toasts(app, size):
    """A console that shows notifications as toasts (Textual's test runner hides them by default)."""
    async with app.run_test(size=size, notifications=True) as pilot:
        console = Console(app, pilot)
        await console.wait_for_text("1 Overview")
        yield console


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
async def test_a_notification_never_covers_the_registry_status_line(demo_vault, make_app, size):
    async with with_toasts(make_app(demo_vault), size) as console:
        await console.press("2")
        await console.wait_for_text("of 24 keys")
        console.app.notify("A long notification that would cover the bottom lines of the page if it could, and more")
        await console.wait_for_text("A long notification")
        assert "1-24 of 24 keys" in console.lines()[-2]
        assert "? Help" in console.lines()[-1]


async def test_escape_dismisses_a_shown_notification_and_does_not_also_go_back(demo_vault, make_app):
    async with with_toasts(make_app(demo_vault), (120, 40)) as console:
        await console.press("2")
        await console.wait_for_text("of 24 keys")
        console.app.notify("Something happened")
        await console.wait_for_text("Something happened")
        await console.press("escape")
        await console.wait_for_no_text("Something happened")
        assert console.page == "registry"
        await console.press("escape")  # no notification now: escape goes back
        await console.wait_for(lambda: console.page == "overview", "back to the Overview")


@pytest.mark.parametrize("dialog_key", ["c", "A"])
async def test_escape_with_a_notification_over_a_dialog_leaves_the_dialog_open(demo_vault, make_app, dialog_key):
    async with with_toasts(make_app(demo_vault), (120, 40)) as console:
        await console.press(dialog_key)
        await console.wait_for(lambda: console.app.screen.is_modal, "the dialog")
        console.app.notify("Something happened")
        await console.wait_for_text("Something happened")
        await console.press("escape")
        await console.wait_for_no_text("Something happened")
        assert console.app.screen.is_modal
        await console.press("escape")
        await console.wait_for(lambda: not console.app.screen.is_modal, "the dialog to close")
