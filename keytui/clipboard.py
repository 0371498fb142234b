"""Copying a secret so it works over SSH as well as at the desk, and saying only what is true.

OSC 52 asks the operator's own terminal to take the text, which is the only clipboard an SSH
session can reach; pyperclip reaches a local desktop clipboard when there is one and raises
when there is none (no display), which is fine. The operator is told which one was used.

Clearing: a terminal's clipboard cannot be read back (so nobody can tell whether it still
holds the token or something the operator copied since), and tmux ignores the empty OSC 52
that would clear it, so keytui never sends one and never claims to clear it: it says so. A
local clipboard can be read: CLEAR_AFTER_S seconds later, or when the console quits first,
it is cleared if, and only if, it still holds the token, and a clear is reported only once
reading the clipboard back shows the token gone.
"""

from __future__ import annotations

import hmac

CLEAR_AFTER_S = 30.0


def _system_copy(text: str) -> bool:
    try:
        import pyperclip

        pyperclip.copy(text)
    except Exception:  # no display, no xclip/wl-copy: OSC 52 still went out
        return False
    return True


def _system_holds(secret: str) -> bool | None:
    """Does the local clipboard hold `secret`? None when it cannot be read."""
    try:
        import pyperclip

        held = pyperclip.paste()
    except Exception:
        return None
    return isinstance(held, str) and hmac.compare_digest(held.encode(), secret.encode())


def clear_if_still(secret: str) -> str | None:
    """Clear the local clipboard if it still holds `secret`; what happened, in words (None: nothing to say)."""
    holds = _system_holds(secret)
    if not holds:
        return None if holds is False else "the system clipboard could not be read; it may still hold the token"
    _system_copy("")
    if _system_holds(secret) is False:
        return "cleared the token from the system clipboard"
    return "could not clear the system clipboard: it may still hold the token"


class ClipboardGuard:
    """The tokens copied to the local clipboard and not yet cleared (one app holds one guard)."""

    def __init__(self, app):
        self.app = app
        self.pending: list[str] = []

    def copied(self, secret: str) -> None:
        self.pending.append(secret)
        self.app.set_timer(CLEAR_AFTER_S, lambda: self._due(secret))

    def _due(self, secret: str) -> None:
        if secret in self.pending:
            self.pending.remove(secret)
            said = clear_if_still(secret)
            if said:
                self.app.notify(said[0].upper() + said[1:] + ".", title="Clipboard")

    def clear_all(self) -> list[str]:
        """At exit: clear every token still on the local clipboard; what happened, in words."""
        said = [clear_if_still(secret) for secret in self.pending]
        self.pending.clear()
        return [s for s in dict.fromkeys(said) if s]


def copy_secret(app, secret: str, what: str) -> None:
    app.copy_to_clipboard(secret)  # OSC 52, to the operator's terminal
    local = _system_copy(secret)
    if local:
        app.clipboard_guard.copied(secret)
        app.notify(f"Copied the {what} to the system clipboard and to your terminal (OSC 52). The system clipboard "
                   f"is cleared in {CLEAR_AFTER_S:g} s, or when you quit, if it still holds the token. keytui cannot "
                   "clear your terminal's clipboard: once pasted, copy something else over it.",
                   title="Copied", timeout=10)
    else:
        app.notify(f"Sent the {what} to your terminal (OSC 52); it must allow it (in tmux: set -g set-clipboard on). "
                   "keytui cannot see or clear a terminal's clipboard: once pasted, copy something else over it.",
                   title="Copied", timeout=10)
