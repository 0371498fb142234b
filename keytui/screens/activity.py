"""Key activity logs (spec section 8): authentication history, live, filterable, a million rows deep.

The screen holds a window of at most WINDOW events (newest first) and moves it by id
(keyset pages), so the millionth event is as cheap to reach as the first. Following is
on by default: a thread worker asks the service every second for what other processes
wrote since the newest id seen, so an event written by `keytui verify` in another
terminal appears within two seconds without a key press. Scrolling past the window
pauses following, because a log that moves under the reader cannot be read.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Input, Static

from keytui.service.analytics import COUNT_CAP
from keytui.domain import InputError
from keytui.screens.page import PageScreen
from keytui.widgets.log_view import LogView

PAGE = 100
WINDOW = 300
POLL_SECONDS = 1.0
FILTERS = (("key_id", "key id"), ("module", "module"), ("status", "success/failed"), ("ip", "IP address"))


@dataclass(frozen=True)
class Fetched:
    """What a worker brings back to the UI thread."""

    events: list
    latest: int
    total: int | None = None


class ActivityScreen(PageScreen):
    PAGE = "activity"
    BINDINGS = [
        Binding("space,p", "toggle_follow", "Follow/Pause"),
        Binding("slash", "edit_filters", "Filter", key_display="/"),
        Binding("g", "newest", "Newest", show=False),
        Binding("G", "oldest", "Oldest", show=False),
        Binding("escape", "leave_filters", "Back to log", show=False),
    ]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.filters: dict[str, str] = {}
        self.window: list = []
        self.following = True
        self.at_newest = True
        self.tail_id = 0  # the newest event id (of all events) already looked at
        self.pending = 0  # new events not shown while paused
        self.total: int | None = None
        self._polling = False

    def compose_page(self) -> ComposeResult:
        with Horizontal(id="activity-filters"):
            yield Static("Filter", classes="field-label")
            for name, hint in FILTERS:
                yield Input(placeholder=hint, id=f"filter-{name}", compact=True, classes="log-filter")
        yield Static("", id="activity-status")
        yield LogView(id="activity-log")

    def on_mount(self) -> None:
        self._fill_inputs()
        self.log_view.focus()
        self.set_interval(POLL_SECONDS, self._tick)

    @property
    def log_view(self) -> LogView:
        return self.query_one(LogView)

    # ------------------------------------------------------------------ loading
    def refresh_data(self) -> None:
        self.load_newest()

    def filter_by_key(self, key_id: str | None) -> None:
        """Pre-filter on one key (the app's show_activity), following its newest events."""
        self.filters = {"key_id": key_id} if key_id else {}
        self.following = True
        if self.is_mounted:
            self._fill_inputs()
            self.load_newest()

    def _fill_inputs(self) -> None:
        for name, _ in FILTERS:
            self.query_one(f"#filter-{name}", Input).value = self.filters.get(name, "")

    def load_newest(self) -> None:
        self._fetch_newest()

    @work(thread=True, exclusive=True, group="activity-load", exit_on_error=False)
    def _fetch_newest(self) -> None:
        vault = self.app.vault
        latest = vault.latest_event_id()
        events = vault.events(before_id=latest + 1, limit=PAGE, **self.filters)
        total = vault.count_events(**self.filters)
        self.app.call_from_thread(self._show_newest, Fetched(events, latest, total))

    def _show_newest(self, got: Fetched) -> None:
        self.window = got.events
        self.tail_id = got.latest
        self.total = got.total
        self.at_newest = True
        self.pending = 0
        self.log_view.show_events(self.window, cursor=0)
        self._status()

    def _tick(self) -> None:
        if self._polling or not self.is_current or not self.window and self.tail_id == 0 and self.total is None:
            return
        self._polling = True
        self._poll(self.tail_id, dict(self.filters))

    @work(thread=True, exclusive=True, group="activity-poll", exit_on_error=False)
    def _poll(self, tail_id: int, filters: dict) -> None:
        vault = self.app.vault
        try:
            latest = vault.latest_event_id()
            new = (vault.events(after_id=tail_id, before_id=latest + 1, limit=WINDOW, **filters)
                   if latest > tail_id else [])
            self.app.call_from_thread(self._merge, Fetched(new, latest), filters)
        finally:
            self._polling = False

    def _merge(self, got: Fetched, filters: dict) -> None:
        if filters != self.filters or got.latest <= self.tail_id:
            return
        self.tail_id = got.latest
        if not got.events:
            return
        if not (self.following and self.at_newest):
            self.pending += len(got.events)
            self._status()
            return
        if len(got.events) >= WINDOW:
            self.load_newest()
            return
        view = self.log_view
        keep = view.current_id if view.cursor_row > 0 else None
        self.window = (list(reversed(got.events)) + self.window)[:WINDOW]
        if self.total is not None:
            self.total += len(got.events)
        view.show_events(self.window, keep_id=keep, cursor=0)
        self._status()

    # ------------------------------------------------------------------ paging
    def on_log_view_edge_reached(self, message: LogView.EdgeReached) -> None:
        if not self.window:
            return
        if message.direction == "older":
            older = self.app.vault.events(before_id=self.window[-1].id, limit=PAGE, **self.filters)
            if not older:
                self.notify("This is the oldest event.", timeout=2)
                return
            keep = self.window[-1].id
            self.window = (self.window + older)[-WINDOW:]
            if self.window[0].id != self._newest_id():
                self.at_newest = False
                self.following = False
            self.log_view.show_events(self.window, keep_id=keep)
            self.log_view.action_cursor_down()
        elif not self.at_newest:
            newer = self.app.vault.events(after_id=self.window[0].id, limit=PAGE, **self.filters)
            keep = self.window[0].id
            self.window = (list(reversed(newer)) + self.window)[:WINDOW]
            self.at_newest = len(newer) < PAGE
            self.log_view.show_events(self.window, keep_id=keep)
            self.log_view.action_cursor_up()
        self._status()

    def _newest_id(self) -> int | None:
        newest = self.app.vault.events(limit=1, **self.filters)
        return newest[0].id if newest else None

    def action_newest(self) -> None:
        self.load_newest()

    def action_oldest(self) -> None:
        oldest = self.app.vault.events(after_id=0, limit=PAGE, **self.filters)
        if not oldest:
            return
        self.window = list(reversed(oldest))
        self.at_newest = len(oldest) < PAGE
        self.following = self.following and self.at_newest
        self.log_view.show_events(self.window, cursor=len(self.window) - 1)
        self._status()

    def action_toggle_follow(self) -> None:
        self.following = not self.following
        if self.following and (not self.at_newest or self.pending):
            self.load_newest()
        self._status()

    # ------------------------------------------------------------------ filters
    def action_edit_filters(self) -> None:
        self.query_one("#filter-key_id", Input).focus()

    def action_leave_filters(self) -> None:
        self.log_view.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        filters = {name: self.query_one(f"#filter-{name}", Input).value.strip() for name, _ in FILTERS}
        filters = {k: v for k, v in filters.items() if v}
        try:
            self.app.vault.events(limit=1, **filters)
        except InputError as exc:
            self._status(error=str(exc))
            return
        self.filters = filters
        self.log_view.focus()
        self.load_newest()

    def _status(self, error: str | None = None) -> None:
        text = Text()
        if self.following and self.at_newest:
            text.append(" ● FOLLOWING ", style="bold black on green")
        else:
            text.append(" ❚❚ PAUSED ", style="bold black on yellow")
            if self.pending:
                text.append(f" {self.pending:,} new", style="bold")
        if self.total is not None:
            shown = f"{len(self.window):,} shown of {self.total:,}"
            text.append(f"  {shown}{'+' if self.total >= COUNT_CAP else ''}")
        if self.filters:
            text.append("  filter: " + ", ".join(f"{k}={v}" for k, v in self.filters.items()), style="cyan")
        text.append("  space/p follow·pause  / filter  g/G newest/oldest", style="dim")
        if error:
            text = Text(error, style="bold red")
        self.query_one("#activity-status", Static).update(text)
