"""The one moment a new token is shown: after create, rotate or regenerate.

The token is on screen only here, so the screen says so, offers a copy, and is gone once
closed (a later copy decrypts it again with the master key, and is audited).
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

from keytui import clipboard
from keytui.keymap import REVEAL_BINDINGS
from keytui.widgets import tones

# What is true: the token is on screen only now; a later copy (y on the key) decrypts it again,
# audited, with MFA for production keys that can execute.
REVEAL_NOTICE = ("This is the only time keytui shows this token. Store it in your secret manager now; y on the key "
                 "copies it again later (audited; MFA for production execute/admin keys).")


class TokenRevealScreen(ModalScreen[None]):
    BINDINGS = REVEAL_BINDINGS

    def __init__(self, key, token: str, what: str):
        super().__init__()
        self.key = key
        self._token = token
        self.what = what

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="reveal"):
            yield Label(tones.plain(f"Token {self.what}: {self.key.name}"), classes="dialog-title")
            yield Static(tones.plain(f"{self.key.key_id} · {self.key.environment.value} · {self.key.permissions_text}"))
            yield Static(Content(self._token), id="reveal-token")
            yield Static(REVEAL_NOTICE, id="reveal-notice")
            with Horizontal(classes="buttons"):
                yield Button("Copy (y)", id="copy", variant="primary")
                yield Button("Done", id="done")

    @on(Button.Pressed, "#copy")
    def action_copy(self) -> None:
        clipboard.copy_secret(self.app, self._token, f"new token of {self.key.name}")

    @on(Button.Pressed, "#done")
    def action_close(self) -> None:
        self.dismiss(None)
