"""A focusable on/off row: "[x] Label   description   note".

It only *asks* to change: pressing space/enter or clicking posts ``ToggleRow.Toggled`` with
the value the user wants, and the screen sets ``value`` once the service has accepted the
change. A refused change (MFA, read-only, revoked key) therefore never shows as done.
"""

from __future__ import annotations

from textual.content import Content
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget

from keytui.keymap import TOGGLE
from keytui.widgets import tones


class ToggleRow(Widget, can_focus=True):
    BINDINGS = [TOGGLE]

    value: reactive[bool] = reactive(False)
    on_word: reactive[str] = reactive("on")
    off_word: reactive[str] = reactive("off")

    class Toggled(Message):
        """The user asks for ``wanted``; the row is unchanged until the screen sets ``value``."""

        def __init__(self, row: "ToggleRow", wanted: bool) -> None:
            super().__init__()
            self.row = row
            self.wanted = wanted

        @property
        def control(self) -> "ToggleRow":
            return self.row

    def __init__(self, label: str, description: str = "", *, note: str = "", value: bool = False,
                 on_word: str = "on", off_word: str = "off", label_width: int = 26, name: str | None = None,
                 id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.label = label
        self.description = description
        self.note = note
        self.label_width = label_width
        self.set_reactive(ToggleRow.value, value)
        self.set_reactive(ToggleRow.on_word, on_word)
        self.set_reactive(ToggleRow.off_word, off_word)

    def render(self) -> Content:
        word = self.on_word if self.value else self.off_word
        return Content.assemble(
            ("[x] ", f"bold {tones.OK}") if self.value else ("[ ] ", tones.MUTED),
            (f"{self.label:<{self.label_width}}", tones.STRONG), (f"{word:<9}", tones.OK if self.value else tones.WARN),
            self.description, *([(f"  {self.note}", tones.NOTE)] if self.note else []))

    def action_toggle(self) -> None:
        self.post_message(self.Toggled(self, not self.value))

    def on_click(self) -> None:
        self.focus()
        self.action_toggle()
