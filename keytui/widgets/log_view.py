"""The activity log table: a bounded window of events that asks for more at its edges.

A million events never enter the widget. The screen gives it a window (newest first) and
the table posts ``EdgeReached`` when the cursor is pushed past its first or last row; the
screen then fetches the neighbouring page by id (keyset paging) and gives a new window.
"""

from __future__ import annotations

from typing import Iterable

from textual.content import Content
from textual.message import Message
from textual.widgets import DataTable

from keytui.keymap import TABLE_BINDINGS
from keytui.widgets import tones, when

COLUMNS = (("Key ID", "key_id", 20), ("Module", "module", 10), ("Action", "action", 9),
           ("Status", "status", 7), ("Timestamp", "ts", 19), ("IP Address", "ip", 15), ("Code", "code", 23))


def event_cells(event, marked: frozenset = frozenset()) -> tuple:
    """One event as table cells; status is a word in a colour, never colour alone; an alert's
    evidence is marked in every cell (bold, underlined: visible without colour too)."""
    cells = (tones.plain(event.key_id) if event.key_id else tones.toned("-", tones.MUTED), tones.plain(event.module),
             tones.plain(event.action), tones.outcome_word(event.status), Content(when.moment_s(event.ts)),
             tones.plain(event.ip) if event.ip else tones.toned("-", tones.MUTED),
             tones.toned(event.code, "" if event.code == "VALID" else tones.ERROR))
    return tuple(cell.stylize(tones.EVIDENCE) for cell in cells) if event.id in marked else cells


class LogView(DataTable):
    BINDINGS = TABLE_BINDINGS[:2]  # j/k; g/G belong to the Activity page (newest/oldest)

    class EdgeReached(Message):
        """The cursor was pushed past the window: ``direction`` is "older" or "newer"."""

        def __init__(self, view: "LogView", direction: str) -> None:
            super().__init__()
            self.view = view
            self.direction = direction

        @property
        def control(self) -> "LogView":
            return self.view

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.event_ids: list[int] = []
        self.marked: frozenset[int] = frozenset()  # event ids to mark (an alert's evidence)

    def on_mount(self) -> None:
        for label, key, width in COLUMNS:
            self.add_column(label, key=key, width=width)

    def show_events(self, events: Iterable, *, keep_id: int | None = None, cursor: int | None = None) -> None:
        """Replace the window; the cursor stays on ``keep_id`` if it is still there, else at ``cursor``."""
        events = list(events)
        self.clear()
        self.add_rows((event_cells(e, self.marked) for e in events))
        self.event_ids = [e.id for e in events]
        if keep_id is not None and keep_id in self.event_ids:
            self.move_cursor(row=self.event_ids.index(keep_id), animate=False)
        elif cursor is not None and events:
            self.move_cursor(row=max(0, min(cursor, len(events) - 1)), animate=False)

    @property
    def current_id(self) -> int | None:
        if not self.event_ids or not (0 <= self.cursor_row < len(self.event_ids)):
            return None
        return self.event_ids[self.cursor_row]

    def _at_edge(self, direction: str) -> bool:
        """At the first (newer) or last (older) loaded row: ask the screen for the next page instead."""
        at_edge = (self.cursor_row <= 0 if direction == "newer"
                   else bool(self.event_ids) and self.cursor_row >= len(self.event_ids) - 1)
        if at_edge:
            self.post_message(self.EdgeReached(self, direction))
        return at_edge

    def action_cursor_down(self) -> None:
        if not self._at_edge("older"):
            super().action_cursor_down()

    def action_cursor_up(self) -> None:
        if not self._at_edge("newer"):
            super().action_cursor_up()

    def action_page_down(self) -> None:
        if not self._at_edge("older"):
            super().action_page_down()

    def action_page_up(self) -> None:
        if not self._at_edge("newer"):
            super().action_page_up()
