"""What every page of the console shares: the tab bar, the error line, the footer, staying current.

A page shows data other processes change too (the CLI, the gateway, the watch worker), so it
re-reads the service each time it is shown and whenever the app announces a change (see
`keytui.screens.loading`), always in a worker.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Header

from keytui.keymap import BACK
from keytui.screens.loading import Refreshing
from keytui.widgets.footer import KeyFooter
from keytui.widgets.load_error import LoadError
from keytui.widgets.page_bar import PageBar


class PageScreen(Refreshing, Screen):
    """Base of the seven pages: subclasses set PAGE (the mode name), compose_page() and refresh_data()."""

    PAGE = ""
    BINDINGS = [BACK]

    def compose(self) -> ComposeResult:
        yield Header(icon="⚿")
        yield PageBar(self.PAGE)
        yield LoadError(id="load-error")
        yield from self.compose_page()
        yield KeyFooter(compact=True)

    def compose_page(self) -> ComposeResult:
        yield from ()

    def check_action(self, action: str, parameters) -> bool | None:
        return self.app.may(action)  # the footer hides what the role cannot do
