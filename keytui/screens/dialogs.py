"""Small modal questions: a line of text (validated as typed) and a confirmation.

A dangerous confirmation can require typing a word (a production key's name), so muscle
memory cannot revoke production by pressing enter twice.
"""

from __future__ import annotations

from typing import Callable

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from keytui.domain import InputError
from keytui.text import visible
from keytui.keymap import DIALOG_BINDINGS
from keytui.widgets import tones


def text(value: str | Content) -> Content:
    """A dialog's words as they are: titles and messages hold key names, which are never markup
    (and whose control characters are made visible)."""
    return value if isinstance(value, Content) else tones.plain(value)


class TextPrompt(ModalScreen[str | None]):
    """Dismisses with the text when `validate` accepts it (InputError shown under the field), None on cancel."""

    BINDINGS = DIALOG_BINDINGS

    def __init__(self, title: str | Content, question: str | Content, *, default: str = "",
                 validate: Callable[[str], object] | None = None):
        super().__init__()
        self.title_text = title
        self.question = question
        self.default = default
        self.validate = validate

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(text(self.title_text), classes="dialog-title")
            yield Static(text(self.question))
            yield Input(self.default, id="prompt-input")
            yield Static("", id="prompt-error", classes="field-error")
            with Horizontal(classes="buttons"):
                yield Button("OK", id="ok", variant="primary")
                yield Button("Cancel", id="cancel")

    def _error(self, text: str) -> str | None:
        if self.validate is None:
            return None
        try:
            self.validate(text)
        except InputError as exc:
            return str(exc)
        return None

    @on(Input.Changed, "#prompt-input")
    def check(self, event: Input.Changed) -> None:
        self.query_one("#prompt-error", Static).update(text(self._error(event.value) or ""))

    @on(Input.Submitted, "#prompt-input")
    @on(Button.Pressed, "#ok")
    def submit(self) -> None:
        value = self.query_one("#prompt-input", Input).value
        error = self._error(value)
        if error:
            self.query_one("#prompt-error", Static).update(text(error))
            return
        self.dismiss(value)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class ConfirmDialog(ModalScreen[bool]):
    """Dismisses True on confirm; with `type_to_confirm`, only after that exact text is typed."""

    BINDINGS = DIALOG_BINDINGS

    def __init__(self, title: str | Content, message: str | Content, *, confirm_label: str = "Confirm",
                 type_to_confirm: str | None = None):
        super().__init__()
        self.title_text = title
        self.message = message
        self.confirm_label = confirm_label
        self.type_to_confirm = visible(type_to_confirm) if type_to_confirm else None  # typed as it is shown

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(text(self.title_text), classes="dialog-title")
            yield Static(text(self.message))
            if self.type_to_confirm:
                yield Static(Content.assemble("Type the key name ", (self.type_to_confirm, tones.STRONG),
                                              " to confirm:"))
                yield Input(id="confirm-input")
                yield Static("", id="confirm-error", classes="field-error")
            with Horizontal(classes="buttons"):
                yield Button(self.confirm_label, id="confirm", variant="error")
                yield Button("Cancel", id="cancel", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#confirm-input" if self.type_to_confirm else "#cancel").focus()

    @on(Input.Submitted, "#confirm-input")
    @on(Button.Pressed, "#confirm")
    def confirm(self) -> None:
        if self.type_to_confirm and self.query_one("#confirm-input", Input).value != self.type_to_confirm:
            self.query_one("#confirm-error", Static).update(
                text(f"confirmation: type {self.type_to_confirm} exactly to confirm"))
            return
        self.dismiss(True)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(False)
