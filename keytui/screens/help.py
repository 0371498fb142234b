"""`?`: every key binding of the console, with where it works and what it does."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import ModalScreen
from textual.widgets import DataTable, Footer, Header

from keytui.keymap import APP_BINDINGS, KEY_BINDINGS, PAGES, REGISTRY_BINDINGS, TABLE_BINDINGS
from keytui.widgets.nav_table import NavTable

PAGES_ROW = Binding("1-7", "switch_mode", "Pages", tooltip=", ".join(label for _, label in PAGES))
GROUPS = [
    ("Anywhere", [PAGES_ROW] + [b for b in APP_BINDINGS if not b.id.startswith("page.")] + [
        Binding("ctrl+p", "command_palette", "Commands",
                tooltip="Command palette: every action, and jump to a key by name or id"),
        Binding("escape", "back", "Back", tooltip="Close a dialog or the screen on top, else back to the page before")]),
    ("Key actions", KEY_BINDINGS),
    ("Registry", REGISTRY_BINDINGS),
    ("Tables", TABLE_BINDINGS),
]


def _keys(binding: Binding) -> str:
    return binding.key_display or {"question_mark": "?", "slash": "/"}.get(binding.key, binding.key)


class HelpScreen(ModalScreen[None]):
    """The fixed groups, then whatever else the screen underneath binds (a page's own keys)."""

    BINDINGS = [Binding("escape,q,question_mark", "close", "Close", id="help.close", tooltip="Close the help")]

    def __init__(self, under=None):
        super().__init__()
        self.under = under

    def _groups(self):
        listed = {(_keys(b), b.description) for _, bindings in GROUPS for b in bindings}
        extra = []
        if self.under is not None:
            for active in self.under.active_bindings.values():
                b = active.binding
                if b.description and (_keys(b), b.description) not in listed and not (b.id or "").startswith("page."):
                    listed.add((_keys(b), b.description))
                    extra.append(b)
        return GROUPS + ([("This screen", extra)] if extra else [])

    def compose(self) -> ComposeResult:
        yield Header(icon="⚿")
        yield NavTable(id="help-table", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        self.title = "keytui — key bindings"
        table = self.query_one(DataTable)
        table.add_column("Where", width=11)
        table.add_column("Key", width=7)
        table.add_column("Does", width=12)
        table.add_column("In detail", width=74)
        for where, bindings in self._groups():
            for b in bindings:
                table.add_row(where, _keys(b), b.description, b.tooltip or "")
                where = ""
        table.focus()

    def action_close(self) -> None:
        self.dismiss(None)
