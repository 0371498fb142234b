"""`?`: every key binding of the console, with where it works and what it does."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import ModalScreen
from textual.widgets import DataTable, Footer, Header

from keytui.keymap import APP_BINDINGS, KEY_BINDINGS, REGISTRY_BINDINGS, TABLE_BINDINGS

GROUPS = [
    ("Anywhere", APP_BINDINGS + [Binding("ctrl+p", "command_palette", "Commands",
                                         tooltip="Command palette: every action, and jump to a key by name or id"),
                                 Binding("escape", "back", "Back", tooltip="Close a dialog or the screen on top")]),
    ("Registry, key detail", KEY_BINDINGS),
    ("Registry", REGISTRY_BINDINGS),
    ("Tables", TABLE_BINDINGS),
]


def _keys(binding: Binding) -> str:
    return binding.key_display or {"question_mark": "?", "slash": "/"}.get(binding.key, binding.key)


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "close", "Close", id="help.close", tooltip="Close the help")]

    def compose(self) -> ComposeResult:
        yield Header(icon="⚿")
        yield DataTable(id="help-table", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        self.title = "keytui — key bindings"
        table = self.query_one(DataTable)
        table.add_column("Where", width=20)
        table.add_column("Key", width=8)
        table.add_column("Does", width=14)
        table.add_column("In detail", width=70)
        for where, bindings in GROUPS:
            for b in bindings:
                table.add_row(where, _keys(b), b.description, b.tooltip)
                where = ""
        table.focus()

    def action_close(self) -> None:
        self.dismiss(None)
