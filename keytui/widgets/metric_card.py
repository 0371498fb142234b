"""A summary number with its label (the Overview cards)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static


class MetricCard(Vertical):

    def __init__(self, label: str, *, id: str | None = None, classes: str = ""):
        super().__init__(id=id, classes=classes)
        self.label = label

    def compose(self) -> ComposeResult:
        yield Static("-", classes="value")
        yield Static(self.label, classes="label")
        yield Static("", classes="note")

    def show(self, value: int, note: str = "") -> None:
        self.query_one(".value", Static).update(f"{value:,}")
        self.query_one(".note", Static).update(note)
