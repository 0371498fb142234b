"""The registry table: one window of keys, never all of them, in the columns the terminal has room for.

The screen gives it a window (a few hundred rows out of possibly 100,000) and the table
posts EdgeReached when the cursor is pushed past the window's first or last row, or jumps to
the very top or bottom; the screen then asks the service for the neighbouring window.

Columns come in the order an operator needs them ("what is expiring, what is dead, who used
it"): the key's name (frozen on the left), status, environment, expiry and last use as ages;
then scope and permissions; key id, owner and creation date last. The first five always show
(the name narrows first); the others show while they fit and are dropped, last first, as the
terminal narrows, so no column is ever half off the screen and sorting is by columns in sight.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from rich.text import Text
from textual.content import Content
from textual.message import Message

from keytui.domain import Status
from keytui.widgets import tones, when
from keytui.widgets.nav_table import NavTable


@dataclass(frozen=True)
class Column:
    label: str
    key: str  # the sort key (registry.SORTABLE)
    width: int


COLUMNS = (
    Column("Key Name", "name", 26), Column("Status", "status", 7), Column("Environment", "environment", 11),
    Column("Expiry", "expires_at", when.AGE_WIDTH), Column("Last Used", "last_used_at", when.AGE_WIDTH),
    Column("Module Scope", "scope", 20), Column("Permissions", "permissions", 18), Column("Key ID", "key_id", 20),
    Column("Owner", "owner", 15), Column("Created", "created_at", 16),
)
ESSENTIAL = 5  # name, status, environment, expiry, last used: shown at any width
NAME_MIN = 16
PADDING = 2  # a DataTable cell's padding (one each side)
SCROLLBAR = 2
VIOLATION_MARK = "⚑ "
CANARY_MARK = "◆ "


def layout(width: int) -> list[Column]:
    """The columns that fit `width` cells, the name narrowed before any essential one is dropped."""
    room = width - SCROLLBAR
    shown = list(COLUMNS[:ESSENTIAL])
    used = sum(c.width + PADDING for c in shown)
    if used > room:
        name = COLUMNS[0]
        shown[0] = Column(name.label, name.key, max(NAME_MIN, name.width - (used - room)))
        return shown
    for column in COLUMNS[ESSENTIAL:]:
        if used + column.width + PADDING > room:
            break
        shown.append(column)
        used += column.width + PADDING
    return shown


@dataclass(frozen=True)
class Shown:
    """What the table is showing, kept so a resize can lay the same rows out again."""

    views: list
    now: datetime | None
    soon_days: int
    sort: str
    descending: bool


def key_cells(view, now: datetime | None, soon_days: int = 7) -> dict[str, Content]:
    """One key as cells by column key: status is a word in a colour; an org-policy violator is
    flagged, and so is a canary (operators must know it is bait, not a key to hand out); expiry
    and last use are ages (the dates are in the key's detail)."""
    name = tones.plain(view.name)
    if view.canary:
        name = Content.assemble((CANARY_MARK, tones.INFO), name)
    if view.policy_violation:
        name = Content.assemble((VIOLATION_MARK, tones.FLAG), name)
    live = view.status is Status.ACTIVE
    if now is None:
        expiry = tones.plain(when.moment(view.expires_at, "never"))
        used = tones.plain(when.moment(view.last_used_at, "never"))
    else:
        soon = live and view.expires_at is not None and view.expires_at - now <= timedelta(days=soon_days)
        expiry = tones.toned(when.age(view.expires_at, now), tones.WARN if soon or view.status is Status.EXPIRED
                             else ("" if live else tones.MUTED))
        used = tones.plain(when.age(view.last_used_at, now))
    return {"name": name, "status": tones.status_word(view.status), "environment": tones.plain(view.environment.value),
            "expires_at": expiry, "last_used_at": used, "scope": tones.plain(view.scope.label),
            "permissions": tones.plain(view.permissions_text), "key_id": tones.plain(view.key_id),
            "owner": tones.plain(view.owner), "created_at": tones.plain(when.moment(view.created_at))}


class KeyTable(NavTable):
    class EdgeReached(Message):
        """The cursor left the window: direction is "down", "up", "top" or "bottom"."""

        def __init__(self, direction: str) -> None:
            super().__init__()
            self.direction = direction

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True, fixed_columns=1)
        self.in_sight: list[Column] = []
        self.shown: Shown | None = None

    @property
    def column_keys(self) -> list[str]:
        """The sort keys of the columns in sight, left to right."""
        return [c.key for c in self.in_sight]

    def on_resize(self) -> None:
        if layout(self.size.width) != self.in_sight:
            self._draw(cursor=self.cursor_row)

    def show(self, views, *, now: datetime | None = None, soon_days: int = 7, cursor: int = 0, sort: str = "",
             descending: bool = True) -> None:
        self.shown = Shown(list(views), now, soon_days, sort, descending)
        self._draw(cursor)

    def _draw(self, cursor: int) -> None:
        self.in_sight = layout(self.size.width or 80)
        self.clear(columns=True)
        shown = self.shown
        for column in self.in_sight:
            arrow = (" ▼" if shown.descending else " ▲") if shown and column.key == shown.sort else ""
            self.add_column(Text(column.label + arrow), key=column.key, width=column.width)
        if not shown:
            return
        for view in shown.views:
            cells = key_cells(view, shown.now, shown.soon_days)
            self.add_row(*(cells[c.key] for c in self.in_sight), key=view.key_id)
        if shown.views:
            self.move_cursor(row=max(0, min(cursor, len(shown.views) - 1)), animate=False, scroll=True)

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
