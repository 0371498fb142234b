"""Copying secrets: OSC 52 always, the local clipboard where there is one, cleared after a while."""

from __future__ import annotations

from keytui import clipboard


async def test_copy_uses_the_local_clipboard_too_when_there_is_one_and_says_so(demo_vault, make_app, monkeypatch):
    local = []
    monkeypatch.setattr(clipboard, "_system_copy", lambda text: local.append(text) or True)
    app = make_app(demo_vault)
    async with app.run_test(size=(80, 24)) as pilot:
        clipboard.copy_secret(app, "secret-value", "token of X")
        await pilot.pause()
        assert app.clipboard == "secret-value" and local == ["secret-value"]
        assert any("the system clipboard and your terminal (OSC 52)" in n for n in app.notes)


async def test_without_a_local_clipboard_only_osc52_is_used_and_said(demo_vault, make_app):
    app = make_app(demo_vault)
    async with app.run_test(size=(80, 24)) as pilot:
        clipboard.copy_secret(app, "secret-value", "token of X")
        await pilot.pause()
        assert any(n.startswith("Copied the token of X to your terminal (OSC 52).") for n in app.notes)


async def test_the_clipboard_is_cleared_after_the_delay_unless_something_else_was_copied(demo_vault, make_app,
                                                                                        monkeypatch):
    monkeypatch.setattr(clipboard, "CLEAR_AFTER_S", 0.1)
    app = make_app(demo_vault)
    async with app.run_test(size=(80, 24)) as pilot:
        clipboard.copy_secret(app, "secret-value", "token of X")
        await pilot.pause(0.3)
        assert app.clipboard == ""
        clipboard.copy_secret(app, "first", "token of X")
        app.copy_to_clipboard("something the user copied since")
        await pilot.pause(0.3)
        assert app.clipboard == "something the user copied since"
