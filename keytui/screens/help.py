"""`?`: every key binding of the console, with where it works and what it does.

Keys are shown as they are in force: a binding the user's keymap.toml rebinds shows its new
keys. Each row's key is the binding's id, the name keymap.toml uses.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import ModalScreen
from textual.widgets import DataTable, Header

from keytui.keymap import (ALL_BINDINGS, APP_BINDINGS, BACK, FORM_BINDINGS, HELP_BINDINGS, KEY_BINDINGS,
                           PAGE_BINDINGS, PAGES, REGISTRY_BINDINGS, TABLE_BINDINGS, TOGGLE)
from keytui.widgets import tones
from keytui.widgets.footer import KeyFooter
from keytui.widgets.nav_table import NavTable

PAGES_ROW = Binding("1-7", "switch_mode", "Pages", key_display="1-7", tooltip=", ".join(label for _, label in PAGES),
                    id="pages")
GROUPS = [
    ("Anywhere", [b for b in APP_BINDINGS if b not in PAGE_BINDINGS] + [BACK]),
    ("Key actions", KEY_BINDINGS),
    ("Registry", REGISTRY_BINDINGS),
    ("Tables", TABLE_BINDINGS),
    ("Forms", [*FORM_BINDINGS, TOGGLE]),
]
DEFAULTS = {b.id: b for b in ALL_BINDINGS}  # several keys ("space,p") are one binding here, one per key in use


def _row_key(binding: Binding) -> str:
    """A row per binding id (Textual's own bindings have none: their key and description then)."""
    return binding.id or f"{binding.key}:{binding.description}"


class HelpScreen(ModalScreen[None]):
    """The fixed groups, then whatever else the screen underneath binds (a page's own keys)."""

    BINDINGS = HELP_BINDINGS

    def __init__(self, under=None):
        super().__init__()
        self.under = under

    def keys(self, binding: Binding) -> str:
        """The keys in force for a binding, as the footer writes them ("?", "^p", "esc")."""
        keymap = getattr(self.app, "keymap", {})
        keys = keymap.get(binding.id, binding.key) if binding.id else binding.key
        if keys == binding.key and binding.key_display:
            return binding.key_display
        return ",".join(self.app.get_key_display(Binding(key.strip(), binding.action)) for key in keys.split(","))

    def _groups(self) -> list[tuple[str, list[Binding]]]:
        keymap = getattr(self.app, "keymap", {})
        pages = PAGE_BINDINGS if any(b.id in keymap for b in PAGE_BINDINGS) else [PAGES_ROW]
        groups = [(GROUPS[0][0], pages + GROUPS[0][1]), *GROUPS[1:]]
        listed = {_row_key(b) for _, bindings in groups for b in bindings} | {b.id for b in PAGE_BINDINGS}
        extra = []
        for active in (self.under.active_bindings.values() if self.under is not None else ()):
            b = DEFAULTS.get(active.binding.id, active.binding)
            if b.description and _row_key(b) not in listed:
                listed.add(_row_key(b))
                extra.append(b)
        return groups + ([("This screen", extra)] if extra else [])

    def compose(self) -> ComposeResult:
        yield Header(icon="⚿")
        yield NavTable(id="help-table", cursor_type="row", zebra_stripes=True)
        yield KeyFooter(compact=True)

    def on_mount(self) -> None:
        """Columns as wide as their longest entry, so no key name is cut ("pagedown", "ctrl+e")."""
        self.title = "keytui — key bindings"
        table = self.query_one(DataTable)
        rows = []
        for where, bindings in self._groups():
            for b in bindings:
                rows.append((where, self.keys(b), b.description, b.tooltip or "", _row_key(b)))
                where = ""
        for n, label in enumerate(("Where", "Key", "Does", "In detail")):
            table.add_column(label, width=max(len(label), *(len(row[n]) for row in rows)))
        for *cells, key in rows:
            table.add_row(*(tones.plain(cell) for cell in cells), key=key)
        table.focus()

    def action_close(self) -> None:
        self.dismiss(None)
