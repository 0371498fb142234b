"""The line a screen shows while what it displays could not be read: hidden until a load fails."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static

from keytui.text import visible


class LoadError(Static):
    """Shows "Could not load: <reason>" (styled by the `-failed` class) until the next good load."""

    def fail(self, reason: str) -> None:
        self.update(Content(visible(f"Could not load: {reason}")))  # an error may quote stored text
        self.add_class("-failed")

    def clear(self) -> None:
        self.update("")
        self.remove_class("-failed")

    @property
    def failed(self) -> bool:
        return self.has_class("-failed")
