"""What every page of the console shares: the tab bar, the error line, the footer, staying current.

A page shows data other processes change too (the CLI, the gateway, the watch worker), so it
re-reads the service each time it is shown and whenever the app announces a change (see
`keytui.screens.loading`), always in a worker.
"""

from __future__ import annotations

from textual import events
from textual.app import ComposeResult
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Header

from keytui.keymap import BACK
from keytui.screens.loading import Refreshing
from keytui.widgets.footer import KeyFooter
from keytui.widgets.load_error import LoadError
from keytui.widgets.page_bar import PageBar

MODE_FIRST_RESUMES = 2  # a new mode's screen is resumed by App._init_mode, then by App.switch_mode


class PageScreen(Refreshing, Screen):
    """Base of the seven pages: subclasses set PAGE (the mode name), compose_page() and refresh_data()."""

    PAGE = ""
    BINDINGS = [BACK]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._first_resumes = 0  # resumes of a new mode's screen that need not restyle it

    def styled_as_it_mounts(self, first_resumes: int = MODE_FIRST_RESUMES) -> None:
        """Spare a page's first visit Textual's second, third and fourth styling passes.

        Textual reparses every sheet and restyles every widget when a mode's screen has not seen the
        app's latest style refresh (a new Screen never has), then restyles the screen again for each
        of the two ScreenResume events a new mode sends it (the app's default screen gets one, as
        the app starts: `first_resumes`). The app reads every sheet at start and refreshes itself on
        a theme change, so a page is styled by the current sheet as it mounts: the first pass cost
        each first visit 60-70 ms, the other two ~5-10 ms. A later resume restyles as Textual does
        (the theme may have changed while the page was away), and so do these two if the app's
        styles changed in between. `_css_update_count` is the one private attribute of Textual the
        console touches (allowed by name in the structure tests); should Textual rename it, pages
        only open slower."""
        self._css_update_count = self.app._css_update_count
        self._first_resumes = first_resumes

    def post_message(self, message: Message) -> bool:
        if isinstance(message, events.ScreenResume) and self._first_resumes > 0:
            self._first_resumes -= 1
            if self._css_update_count == self.app._css_update_count:
                message.refresh_styles = False
        return super().post_message(message)

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
