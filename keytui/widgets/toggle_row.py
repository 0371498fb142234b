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
        """"[x]" and "[ ]" read apart without colour (NO_COLOR); a row without words is a plain checkbox."""
        word = self.on_word if self.value else self.off_word
        words = [(f"{word:<9}", tones.OK if self.value else tones.WARN)] if self.on_word or self.off_word else []
        return Content.assemble(
            ("[x] ", f"bold {tones.OK}") if self.value else ("[ ] ", tones.MUTED),
            (f"{self.label:<{self.label_width}}", tones.STRONG), *words,
            self.description, *([(f"  {self.note}", tones.NOTE)] if self.note else []))

    def action_toggle(self) -> None:
        self.post_message(self.Toggled(self, not self.value))

    def on_click(self) -> None:
        self.focus()
        self.action_toggle()


def step_focus(screen, step: int) -> None:
    """Move the focus to the next (+1) or previous (-1) toggle row in the screen's focus order.

    Navigation keys (j/k, up/down) move between rows only: they never land in a text field the
    operator did not choose to enter (where the next j or k would be typed into it).
    """
    chain = screen.focus_chain
    rows = [w for w in chain if isinstance(w, ToggleRow)]
    if not rows:
        return
    focused = screen.focused
    at = chain.index(focused) if focused in chain else (-1 if step > 0 else len(chain))
    ahead = chain[at + 1:] if step > 0 else list(reversed(chain[:max(at, 0)]))
    target = next((w for w in ahead if isinstance(w, ToggleRow)), None)
    if target is None:
        target = rows[-1] if step > 0 else rows[0]
    target.focus()


class RowNavigation:
    """Screen mixin for forms of toggle rows: the FORM_BINDINGS actions."""

    def action_next_row(self) -> None:
        step_focus(self, 1)

    def action_previous_row(self) -> None:
        step_focus(self, -1)
