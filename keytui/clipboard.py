"""Copying a secret so it works over SSH as well as at the desk.

OSC 52 asks the operator's own terminal to take the text, which is the only clipboard an SSH
session can reach; pyperclip reaches a local desktop clipboard when there is one and raises
when there is none (no display), which is fine. The operator is told which one worked and
that the terminal must allow OSC 52. The clipboard is cleared after CLEAR_AFTER_S unless
something else was copied meanwhile.
"""

from __future__ import annotations

CLEAR_AFTER_S = 30.0


def _system_copy(text: str) -> bool:
    try:
        import pyperclip

        pyperclip.copy(text)
    except Exception:  # no display, no xclip/wl-copy: OSC 52 still went out
        return False
    return True


def copy_secret(app, secret: str, what: str) -> None:
    app.copy_to_clipboard(secret)
    local = _system_copy(secret)
    via = "the system clipboard and your terminal (OSC 52)" if local else "your terminal (OSC 52)"
    app.notify(f"Copied the {what} to {via}. The terminal must allow OSC 52 (in tmux: set -g set-clipboard on). "
               f"The clipboard is cleared in {CLEAR_AFTER_S:g} s.", title="Copied", timeout=8)

    def clear() -> None:
        if app.clipboard == secret:
            app.copy_to_clipboard("")
            if local:
                _system_copy("")

    app.set_timer(CLEAR_AFTER_S, clear)
