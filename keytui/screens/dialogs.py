"""Small modal questions: a line of text (validated as typed) and a confirmation.

A dangerous confirmation can require typing a word (a production key's name), so muscle
memory cannot revoke production by pressing enter twice.
"""

from __future__ import annotations

from typing import Callable

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from keytui.domain import InputError

CANCEL = Binding("escape", "cancel", "Cancel", id="dialog.cancel", tooltip="Close without changing anything")


class TextPrompt(ModalScreen[str | None]):
    """Dismisses with the text when `validate` accepts it (InputError shown under the field), None on cancel."""

    BINDINGS = [CANCEL]

    def __init__(self, title: str, question: str, *, default: str = "",
                 validate: Callable[[str], object] | None = None):
        super().__init__()
        self.title_text = title
        self.question = question
        self.default = default
        self.validate = validate

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_text, classes="dialog-title")
            yield Static(self.question)
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
        self.query_one("#prompt-error", Static).update(self._error(event.value) or "")

    @on(Input.Submitted, "#prompt-input")
    @on(Button.Pressed, "#ok")
    def submit(self) -> None:
        text = self.query_one("#prompt-input", Input).value
        error = self._error(text)
        if error:
            self.query_one("#prompt-error", Static).update(error)
            return
        self.dismiss(text)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class ConfirmDialog(ModalScreen[bool]):
    """Dismisses True on confirm; with `type_to_confirm`, only after that exact text is typed."""

    BINDINGS = [CANCEL]

    def __init__(self, title: str, message: str, *, confirm_label: str = "Confirm",
                 type_to_confirm: str | None = None):
        super().__init__()
        self.title_text = title
        self.message = message
        self.confirm_label = confirm_label
        self.type_to_confirm = type_to_confirm

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_text, classes="dialog-title")
            yield Static(self.message)
            if self.type_to_confirm:
                yield Static(f"Type the key name [b]{self.type_to_confirm}[/b] to confirm:")
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
                f"confirmation: type {self.type_to_confirm!r} exactly to confirm")
            return
        self.dismiss(True)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(False)
