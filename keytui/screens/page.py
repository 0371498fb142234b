"""What every page of the console shares: the tab bar, the footer, and staying current.

A page shows data other processes change too (the CLI, the gateway, the watch worker), so it
re-reads the service each time it is shown and whenever the app announces a change.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Header

from keytui.widgets.page_bar import PageBar


class DataChanged(Message):
    """Something was written (by this app or its watch worker): pages re-read what they show."""


class PageScreen(Screen):
    """Base of the seven pages: subclasses set PAGE (the mode name), compose_page() and refresh_data()."""

    PAGE = ""
    BINDINGS = [Binding("escape", "app.back", "Back", show=False, id="app.back",
                        tooltip="Back to the page shown before")]

    def compose(self) -> ComposeResult:
        yield Header(icon="⚿")
        yield PageBar(self.PAGE)
        yield from self.compose_page()
        yield Footer()

    def compose_page(self) -> ComposeResult:
        yield from ()

    def refresh_data(self) -> None:
        """Re-read from the service what this page shows."""

    def on_screen_resume(self) -> None:
        self.refresh_data()

    def on_data_changed(self, message: DataChanged) -> None:
        self.refresh_data()
