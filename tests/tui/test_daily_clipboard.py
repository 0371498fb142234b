"""The clipboard promise: never claim a clear that did not verifiably happen; clear only what is
still the token; quitting first clears too (hardening issue, item 11)."""

from __future__ import annotations

import pyperclip
import pytest

from keytui import clipboard
from tests.tui.console import running
from tests.tui.test_daily_writes import find_key

REAL_SYSTEM_COPY = clipboard._system_copy  # read at import, before any fixture replaces it


class Desk:
    """A local clipboard that can be read back, as at a desk; `stuck` ignores writes of ""."""

    def __init__(self, stuck: bool = False):
        self.held = ""
        self.stuck = stuck

    def copy(self, text: str) -> None:
        if not (self.stuck and text == ""):
            self.held = text

    def paste(self) -> str:
        return self.held


@pytest.fixture
def desk(monkeypatch):
    def make(stuck: bool = False) -> Desk:
        found = Desk(stuck)
        monkeypatch.setattr(clipboard, "_system_copy", REAL_SYSTEM_COPY)  # the suite's default: no local one
        monkeypatch.setattr(pyperclip, "copy", found.copy)
        monkeypatch.setattr(pyperclip, "paste", found.paste)
        monkeypatch.setattr(clipboard, "CLEAR_AFTER_S", 0.3)
        return found

    return make


@pytest.fixture
def osc52_log(monkeypatch):
    """Every text the console sent to the terminal's clipboard (OSC 52)."""
    from keytui.app import KeytuiApp

    sent: list[str] = []
    original = KeytuiApp.copy_to_clipboard

    def record(self, text: str) -> None:
        sent.append(text)
        original(self, text)

    monkeypatch.setattr(KeytuiApp, "copy_to_clipboard", record)
    return sent


async def copy_log_shipper(console) -> None:
    await find_key(console, "Log Shipper Key")
    await console.press("y")
    await console.wait_for_notification("the token of Log Shipper Key")


async def test_the_local_clipboard_is_cleared_when_it_still_holds_the_token_and_that_is_said(
        demo_vault, make_app, desk, osc52_log):
    local = desk()
    async with running(make_app(demo_vault), (120, 40)) as console:
        await copy_log_shipper(console)
        token = demo_vault.copy_token(demo_vault.find("Log Shipper Key")[0].key_id)
        assert local.held == token
        await console.wait_for_notification("Cleared the token from the system clipboard.", timeout=10)
    assert local.held == ""
    assert "" not in osc52_log  # tmux ignores an empty OSC 52: none is sent, and no clear of it is claimed


async def test_something_copied_since_is_left_alone_and_no_clear_is_claimed(demo_vault, make_app, desk):
    local = desk()
    async with running(make_app(demo_vault), (120, 40)) as console:
        await copy_log_shipper(console)
        local.copy("the operator's own text")
        assert await console.stays(lambda: not any("Cleared" in n for n in console.notifications()), 1.0)
    assert local.held == "the operator's own text"


async def test_a_clear_that_does_not_take_is_said_not_claimed(demo_vault, make_app, desk):
    desk(stuck=True)
    async with running(make_app(demo_vault), (120, 40)) as console:
        await copy_log_shipper(console)
        await console.wait_for_notification("Could not clear the system clipboard: it may still hold", timeout=10)
        assert not any("Cleared the token" in n for n in console.notifications())


async def test_quitting_before_the_delay_clears_the_local_clipboard(demo_vault, make_app, desk, monkeypatch):
    local = desk()
    monkeypatch.setattr(clipboard, "CLEAR_AFTER_S", 3600)
    app = make_app(demo_vault)
    async with running(app, (120, 40)) as console:
        await copy_log_shipper(console)
        assert local.held
    said = app.clipboard_guard.clear_all()  # what run_console does once the app has returned
    assert said == ["cleared the token from the system clipboard"] and local.held == ""


async def test_over_ssh_only_osc52_is_used_and_no_clear_is_promised(demo_vault, make_app, osc52_log):
    async with running(make_app(demo_vault), (120, 40)) as console:
        await copy_log_shipper(console)
        note = console.notifications()[-1]
        assert "your terminal (OSC 52)" in note and "cannot see or clear a terminal's clipboard" in note
        assert "cleared in" not in note
        assert await console.stays(lambda: osc52_log and "" not in osc52_log, 0.5)
    assert len(osc52_log) == 1


def test_run_console_says_what_the_clear_at_exit_did(tmp_path, monkeypatch, capsys, desk):
    from argparse import Namespace

    from keytui import app as app_module

    local = desk()

    def run(self, **kw):
        key = self.vault.create("Exit Key", "sandbox", ["read"], "sandbox", expires_in_days=30)
        clipboard._system_copy(key.token)
        self.clipboard_guard.pending.append(key.token)

    monkeypatch.setattr(app_module.KeytuiApp, "run", run)
    assert app_module.run_console(Namespace(home=str(tmp_path / "h"), operator="alice", read_only=False,
                                            demo=False)) == 0
    assert "keytui: cleared the token from the system clipboard" in capsys.readouterr().err
    assert local.held == ""
