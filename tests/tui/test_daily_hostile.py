"""Hostile stored text in the console: shown literally, never run as markup, never sent to the
terminal as control (hardening issue, items 4-6 and 11 for the console).

Input validation keeps such text out today; these values are planted with plain SQL, as an
older version, a raw edit or a caller's field (module, forwarded IP, alert text) could leave
them. Every page is then rendered at 80×24 and 120×40, and in a real terminal (tmux) for
OSC 52: no crash, no control character on screen, no clipboard write, the text visible.
"""

from __future__ import annotations

import json
import os
import sys
import time

import pytest

from keytui.text import visible
from tests.support import wait_until
from tests.tui.conftest import TMUX
from tests.tui.console import running
from tests.pg import copy_home, raw_connection

OSC52 = "\x1b]52;c;ZWNobyBwd25lZA==\x07"  # "echo pwned" to the clipboard
HOSTILE = {
    "close": "Ops [/] key",
    "click": "[@click=app.quit]Open me[/]",
    "screenshot": "[@click=app.screenshot('x.svg','.')]Shot[/]",
    "link": "[link=https://evil.example]x[/link]",
    "csi": "\x1b[2J\x1b[Hcleared",
    "osc52": f"copy{OSC52}me",
    "c1": "c1\x9b31mred",
    "bel": "bell\x07\x7f",
    "rtl": "abc\u202edcba",
    "long": "L" * 5000,
}
LITERAL = ("Ops [/] key", "[@click=app.quit]Open me[/]", "[link=https://evil.example]x[/link]")


def is_control(char: str) -> bool:
    return ord(char) < 0x20 or 0x7F <= ord(char) < 0xA0 or char in "\u202e\u202d\u2066\u2067\u2068"


def plant(home) -> dict:
    """Hostile text in every free-text field the console shows; returns the key ids used.
    PostgreSQL enforces the columns' lengths (SQLite does not), so there the long name is as long
    as the column takes."""
    name_max = 64 if os.environ.get("KEYTUI_DATABASE_URL") else None
    with raw_connection(home) as db:
        keys = [row[0] for row in db.execute("SELECT key_id FROM api_key WHERE status = 'active' ORDER BY id")]
        revoked = db.execute("SELECT key_id FROM api_key WHERE status = 'revoked' ORDER BY id").fetchone()[0]
        for key_id, value in zip(keys, HOSTILE.values()):
            value = value[:name_max]
            db.execute("UPDATE api_key SET name = ?, owner = ? WHERE key_id = ?", (value, value, key_id))
        db.execute("UPDATE api_key SET revoke_reason = ?, policy_violation = ? WHERE key_id = ?",
                   ("[/] " + HOSTILE["osc52"], "[/]" + HOSTILE["csi"], revoked))
        now = db.execute("SELECT MAX(ts) FROM activity_event").fetchone()[0]
        for n, value in enumerate(HOSTILE.values()):
            db.execute("INSERT INTO activity_event (ts, key_id, module, action, status, code, ip, environment) "
                       "VALUES (?, ?, ?, 'access', 'failed', ?, ?, 'production')",
                       (now + n + 1, keys[0], value[:32], value[:32], value[:64]))
            db.execute("INSERT INTO alert (created_at, kind, severity, key_id, ip, message, evidence, dedupe_key) "
                       "VALUES (?, 'failure-burst-ip', 'high', ?, ?, ?, '[]', ?)",
                       (now, keys[n] if n % 2 else None, value[:64], value, f"hostile-{n}"))
        db.execute("INSERT INTO audit_entry (seq, ts, operator, action, key_id, details, prev_mac, mac) "
                   "SELECT MAX(seq) + 1, ?, ?, 'key.update', ?, ?, 'x', 'x' FROM audit_entry",
                   (now, HOSTILE["click"], keys[0], json.dumps({"changes": {"name": [HOSTILE["csi"], "[/]"]}})))
        db.execute("UPDATE org_policy SET active = FALSE")
        db.execute("INSERT INTO org_policy (applied_at, applied_by, source, active) VALUES (?, 'alice', ?, TRUE)",
                   (now, 'name = "[/] [@click=app.quit]policy"\n'))
    return {"first": keys[0], "revoked": revoked}


@pytest.fixture
def hostile(demo_vault):
    return plant(demo_vault.settings.home)


def assert_safe(console) -> None:
    """Still running, nothing a terminal would act on in what is drawn."""
    assert console.app.is_running and console.app.return_code is None
    drawn = console.text()
    bad = sorted({repr(c) for c in drawn if is_control(c) and c != "\n"})
    assert not bad, f"control characters drawn: {bad}"


PLACES = [("1", None), ("2", None), ("3", None), ("4", None), ("5", None), ("6", None), ("7", None),
          ("2", "enter"), ("2", "ctrl+e"), ("1", "A"), ("1", "question_mark")]


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
async def test_every_screen_shows_hostile_text_literally_and_keeps_running(demo_vault, make_app, hostile, size):
    async with running(make_app(demo_vault), size) as console:
        seen = ""
        for page, then in PLACES:
            await console.press("escape", "escape", page)
            await console.wait_for(lambda: console.page, "the page")
            await console.pilot.pause(0.2)
            if then:
                await console.press(then)
                await console.pilot.pause(0.3)
            assert_safe(console)
            seen += console.text()
        for literal in LITERAL:
            assert literal[:12] in seen, literal
        assert "␛[2J" in seen and "␛]52;c;" in seen  # escape sequences shown, as pictures
        assert not [n for n in console.notifications() if "Could not load" in n], console.notifications()


async def test_the_registry_filter_and_the_palette_take_markup_as_text(demo_vault, make_app, hostile):
    async with running(make_app(demo_vault), (120, 40)) as console:
        await console.press("2")
        await console.wait_for_text("of 24 keys")
        await console.press("slash")
        await console.type("Ops [/]")
        await console.wait_for_text("filter: Ops [/]", "1-1 of 1 keys")
        assert "Ops [/] key" in console.text()
        await console.press("enter", "enter")
        await console.wait_for_text("Key: Ops [/] key")
        assert_safe(console)
        await console.press("ctrl+p")
        await console.paste("Open me")
        await console.wait_for_text("Open key [@click=app.quit]Open me[/]")
        await console.press("enter")
        await console.wait_for_text("Key Name        [@click=app.quit]Open me[/]")
        assert_safe(console)


async def test_clicking_a_name_that_holds_a_click_action_runs_nothing(demo_vault, make_app, hostile, tmp_path,
                                                                     monkeypatch):
    monkeypatch.chdir(tmp_path)
    async with running(make_app(demo_vault), (120, 40)) as console:
        await console.press("2")
        await console.wait_for_text("[@click=app.screenshot(")
        for label in ("[@click=app.screenshot(", "[@click=app.quit]Open me"):
            await console.click(label)
            await console.pilot.pause(0.2)
        assert_safe(console)
    assert not list(tmp_path.glob("*.svg"))


async def test_notifications_carry_hostile_text_as_text(demo_vault, make_app, hostile):
    app = make_app(demo_vault)
    async with running(app, (120, 40)) as console:
        await console.press("2")
        await console.wait_for_text("of 24 keys")
        await console.press("slash")
        await console.paste("Ops [/]")
        await console.press("enter", "x")  # revoke: staging? its dialog names the key
        await console.wait_for_text("Revoke Ops [/] key?")
        assert_safe(console)
        app.notify("Alert: " + HOSTILE["osc52"] + HOSTILE["close"], title=HOSTILE["click"])
        await console.pilot.pause()
        assert_safe(console)


def test_a_crash_of_the_console_exits_non_zero(demo_vault):
    from keytui.app import KeytuiApp, run_app

    class Broken(KeytuiApp):
        def on_mount(self) -> None:
            raise RuntimeError("boom")

    assert run_app(Broken(demo_vault, watch_interval=0), headless=True, size=(80, 24)) != 0


# ---------------------------------------------------------------------------------- a real terminal


@pytest.mark.skipif(TMUX is None, reason="tmux is not installed")
def test_in_a_real_terminal_stored_escape_sequences_neither_clear_the_screen_nor_write_the_clipboard(
        demo_template, tmp_path, tmux):
    home = tmp_path / "home"
    copy_home(demo_template, home)
    plant(home)
    started = tmux("new-session", "-d", "-s", "kt", "-x", "120", "-y", "40", "-e", f"KEYTUI_HOME={home}",
                   f"env -u COLUMNS -u LINES {sys.executable} -m keytui --operator alice; echo EXIT=$? ; sleep 30")
    assert started.returncode == 0, started.stderr
    tmux("set-option", "-g", "set-clipboard", "on")

    def screen() -> str:
        return tmux("capture-pane", "-p", "-t", "kt").stdout

    wait_until(lambda: "Keys per environment" in screen(), 60, "the console in the terminal")
    for keys, shows in (("2", "of 24 keys"), ("enter", "Rotation and audit history"), ("escape", "of 24 keys"),
                        ("7", "Key ID"), ("1", "Keys per environment"), ("A", "open alert(s)"),
                        ("escape", "Keys per environment"), ("3", "Agents Execution"), ("5", "Auto Rotation")):
        tmux("send-keys", "-t", "kt", keys)
        wait_until(lambda: shows in screen(), 30, f"{shows!r} after {keys!r}")
        time.sleep(0.3)  # what a planted sequence would do shows at the next paint: the screen stays
        assert screen().startswith(" ⚿"), f"the screen was cleared after {keys!r}:\n{screen()}"
    tmux("send-keys", "-t", "kt", "2")
    wait_until(lambda: "␛]52;c;" in screen(), 30, "the planted sequence shown as text")
    assert tmux("show-buffer").returncode != 0, "something reached tmux's clipboard"
    tmux("send-keys", "-t", "kt", "q")
    wait_until(lambda: "EXIT=0" in screen(), 30, "the console to quit with 0")


def test_visible_keeps_the_planted_values_readable():
    assert visible(HOSTILE["osc52"]) == "copy␛]52;c;ZWNobyBwd25lZA==␇me"
