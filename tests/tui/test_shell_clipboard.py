"""Copying secrets: OSC 52 always, the local clipboard where there is one, cleared after a while."""

from __future__ import annotations

import pyperclip

from keytui import clipboard


async def copy_token_of(c, name: str) -> str:
    """Copy a key's token from the registry (y); returns the console's notice."""
    await c.press("2", "slash")
    await c.paste(name)
    await c.press("enter")
    await c.wait_for_text("1-1 of 1 keys")
    await c.press("y")
    return await c.wait_for_notification(f"Copied the token of {name}")


async def test_copy_uses_the_local_clipboard_too_when_there_is_one_and_says_so(demo_vault, console, demo_keys,
                                                                               monkeypatch):
    local = []
    monkeypatch.setattr(pyperclip, "copy", local.append)
    async with console(demo_vault, size=(80, 24)) as c:
        said = await copy_token_of(c, "Log Shipper Key")
        token = demo_vault.copy_token(demo_keys["Log Shipper Key"].key_id)
        same = c.clipboard == token and local == [token]
        assert same, "the token did not reach both clipboards"
        assert "the system clipboard and your terminal (OSC 52)" in said


async def test_without_a_local_clipboard_only_osc52_is_used_and_said(demo_vault, console):
    async with console(demo_vault, size=(80, 24)) as c:
        said = await copy_token_of(c, "Log Shipper Key")
        assert said.startswith("Copied the token of Log Shipper Key to your terminal (OSC 52).")


async def test_the_clipboard_is_cleared_after_the_delay(demo_vault, console, demo_keys, monkeypatch):
    monkeypatch.setattr(clipboard, "CLEAR_AFTER_S", 0.2)
    async with console(demo_vault, size=(80, 24)) as c:
        await copy_token_of(c, "Log Shipper Key")
        await c.wait_for(lambda: c.clipboard == "", "the clipboard to be cleared")
        token = demo_vault.copy_token(demo_keys["Log Shipper Key"].key_id)
        same = c.clipboard_history() == [token, ""]
        assert same, "the token was not copied, then cleared"


async def test_the_clipboard_is_not_cleared_when_something_else_was_copied_since(demo_vault, console, monkeypatch):
    monkeypatch.setattr(clipboard, "CLEAR_AFTER_S", 0.2)
    async with console(demo_vault, size=(80, 24)) as c:
        send = c.app.copy_to_clipboard

        def and_then_the_user_copies_something(text: str) -> None:
            send(text)
            if text.startswith("kt_"):  # the operator copies something else right after the token
                send("something the user copied since")

        monkeypatch.setattr(c.app, "copy_to_clipboard", and_then_the_user_copies_something)
        await copy_token_of(c, "Log Shipper Key")
        cleared_by_now = []
        c.app.set_timer(0.4, lambda: cleared_by_now.append(True))  # due after the console's clearing timer
        await c.wait_for(lambda: cleared_by_now, "the clearing time to pass")
        assert c.clipboard == "something the user copied since"
        assert c.clipboard_history()[-1] == "something the user copied since"
