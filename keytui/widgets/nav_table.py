"""A DataTable that moves like k9s and lazygit: j/k, g/G."""

from __future__ import annotations

from textual.widgets import DataTable

from keytui.keymap import TABLE_BINDINGS


class NavTable(DataTable):
    BINDINGS = TABLE_BINDINGS
