"""The registry table: one window of keys, never all of them.

The screen gives it a window (a few hundred rows out of possibly 100,000) and the table
posts EdgeReached when the cursor is pushed past the window's first or last row, or jumps to
the very top or bottom; the screen then asks the service for the neighbouring window.
"""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.content import Content
from textual.message import Message

from keytui.widgets import tones
from keytui.widgets.nav_table import NavTable

# (label, sort key in registry.SORTABLE, width): the first four fit an 80-column terminal.
COLUMNS = (
    ("Key Name", "name", 26), ("Status", "status", 8), ("Environment", "environment", 11),
    ("Module Scope", "scope", 20), ("Key ID", "key_id", 20), ("Owner", "owner", 15),
    ("Created Date", "created_at", 12), ("Expiry Date", "expires_at", 11), ("Last Used", "last_used_at", 16),
    ("Permissions", "permissions", 24),
)
VIOLATION_MARK = "⚑ "


def _date(value: datetime | None, fmt: str = "%Y-%m-%d") -> str:
    return value.strftime(fmt) if value else "-"


def key_cells(view) -> tuple:
    """One key as table cells: status is a word in a colour; an org-policy violator is flagged."""
    name = tones.plain(view.name)
    if view.policy_violation:
        name = Content.assemble((VIOLATION_MARK, tones.FLAG), view.name)
    return (name, tones.status_word(view.status), view.environment.value, view.scope.label, tones.plain(view.key_id),
            tones.plain(view.owner), _date(view.created_at), _date(view.expires_at) if view.expires_at else "never",
            _date(view.last_used_at, "%Y-%m-%d %H:%M"), view.permissions_text)


class KeyTable(NavTable):
    class EdgeReached(Message):
        """The cursor left the window: direction is "down", "up", "top" or "bottom"."""

        def __init__(self, direction: str) -> None:
            super().__init__()
            self.direction = direction

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        for label, key, width in COLUMNS:
            self.add_column(label, key=key, width=width)

    def show(self, views, *, cursor: int = 0, sort: str = "", descending: bool = True) -> None:
        self.clear()
        for label, key, _ in COLUMNS:
            arrow = (" ▼" if descending else " ▲") if key == sort else ""
            self.columns[key].label = Text(label + arrow)
        for view in views:
            self.add_row(*key_cells(view), key=view.key_id)
        if views:
            self.move_cursor(row=max(0, min(cursor, len(views) - 1)), animate=False, scroll=True)

    def selected_key(self) -> str | None:
        if not self.row_count:
            return None
        return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value

    def action_cursor_down(self) -> None:
        if self.cursor_row >= self.row_count - 1:
            self.post_message(self.EdgeReached("down"))
        else:
            super().action_cursor_down()

    def action_cursor_up(self) -> None:
        if self.cursor_row <= 0:
            self.post_message(self.EdgeReached("up"))
        else:
            super().action_cursor_up()

    def action_page_down(self) -> None:
        at_end = self.cursor_row >= self.row_count - 1
        super().action_page_down()
        if at_end:
            self.post_message(self.EdgeReached("down"))

    def action_page_up(self) -> None:
        at_start = self.cursor_row <= 0
        super().action_page_up()
        if at_start:
            self.post_message(self.EdgeReached("up"))

    def action_scroll_top(self) -> None:
        self.post_message(self.EdgeReached("top"))

    def action_scroll_bottom(self) -> None:
        self.post_message(self.EdgeReached("bottom"))
