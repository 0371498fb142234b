"""Key activity logs (spec section 8): authentication history, live, filterable, a million rows deep.

The screen holds a window of at most WINDOW events (newest first) and moves it by id
(keyset pages), so the millionth event is as cheap to reach as the first. Following is
on by default: a worker asks the service every second for what other processes wrote
since the newest id seen, so an event written by `keytui verify` in another terminal
appears within two seconds without a key press. Scrolling past the window pauses
following, because a log that moves under the reader cannot be read. Every read runs in a
worker (see screens/loading.py); a refused filter is named on the status line.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.content import Content
from textual.widgets import Input, Static

from keytui.domain import InputError
from keytui.keymap import ACTIVITY_BINDINGS
from keytui.screens.page import PageScreen
from keytui.service.analytics import COUNT_CAP
from keytui.text import visible
from keytui.widgets import tones
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
    filters: dict = field(default_factory=dict)


def fetch_newest(vault, filters: dict, upto: int | None = None) -> Fetched:
    """The newest page under `filters`, or the page ending at event `upto` (an alert's evidence)."""
    latest = vault.latest_event_id()
    end = latest if upto is None else min(upto, latest)
    return Fetched(vault.events(before_id=end + 1, limit=PAGE, **filters), latest, vault.count_events(**filters),
                   filters)


def fetch_since(vault, tail_id: int, filters: dict) -> Fetched:
    latest = vault.latest_event_id()
    new = vault.events(after_id=tail_id, before_id=latest + 1, limit=WINDOW, **filters) if latest > tail_id else []
    return Fetched(new, latest, None, filters)


def fetch_older(vault, before_id: int, filters: dict) -> tuple[list, int | None]:
    """The page before `before_id`, and the id of the newest event of all (is the window still at it?)."""
    newest = vault.events(limit=1, **filters)
    return vault.events(before_id=before_id, limit=PAGE, **filters), newest[0].id if newest else None


class ActivityScreen(PageScreen):
    PAGE = "activity"
    LOAD_WHAT = "the activity log"
    BINDINGS = ACTIVITY_BINDINGS

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.filters: dict[str, str] = {}
        self.evidence: frozenset[int] = frozenset()  # an alert's events, marked
        self.window: list = []
        self.following = True
        self.at_newest = True
        self.tail_id = 0  # the newest event id (of all events) already looked at
        self.pending = 0  # new events not shown while paused
        self.total: int | None = None

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
    def read_ahead_key(self) -> tuple:
        return tuple(sorted(self.filters.items())), self.evidence, self.following

    def refresh_data(self) -> None:
        """The newest events; held at an alert's evidence until following is turned back on."""
        self.load_newest(upto=max(self.evidence) if self.evidence and not self.following else None)

    def filter_by(self, *, key_id: str | None = None, ip: str | None = None, evidence=()) -> None:
        """Pre-filter on a key and/or an IP address (the app's show_activity), following its newest
        events; with an alert's `evidence`, held at the evidence, which is marked."""
        self.filters = {k: v for k, v in (("key_id", key_id), ("ip", ip)) if v}
        self.evidence = frozenset(evidence)
        self.following = not self.evidence
        if self.is_mounted:
            self._fill_inputs()
            self.refresh_data()

    def _fill_inputs(self) -> None:
        for name, _ in FILTERS:
            self.query_one(f"#filter-{name}", Input).value = visible(self.filters.get(name, ""))

    def load_newest(self, filters: dict | None = None, *, focus_log: bool = False, upto: int | None = None) -> None:
        """The newest page under `filters` (default: the ones in force), or the page ending at event
        `upto`; a refused filter is named and the filters in force stay."""
        vault, filters = self.app.vault, dict(self.filters if filters is None else filters)
        self.load(lambda: fetch_newest(vault, filters, upto), lambda got: self._show_newest(got, focus_log, upto),
                  on_error=self._refused_filter)

    def _refused_filter(self, exc: Exception) -> bool:
        if isinstance(exc, InputError):
            self._status(error=str(exc))
            return True
        return False

    def _show_newest(self, got: Fetched, focus_log: bool = False, upto: int | None = None) -> None:
        self.filters = got.filters
        self.window = got.events
        self.tail_id = got.latest
        self.total = got.total
        self.at_newest = upto is None or upto >= got.latest
        self.pending = 0
        self.log_view.marked = self.evidence
        self.log_view.show_events(self.window, cursor=0)
        if focus_log:
            self.log_view.focus()
        self._status()

    def _tick(self) -> None:
        if not self.is_current or self.loading("poll") or self.loading():
            return
        if self.load_failed_now:  # try the page again; the notification is not repeated
            self.load_newest()
            return
        if not self.window and self.tail_id == 0 and self.total is None:
            return
        vault, tail_id, filters = self.app.vault, self.tail_id, dict(self.filters)
        self.load(lambda: fetch_since(vault, tail_id, filters), self._merge, group="poll")

    def _merge(self, got: Fetched) -> None:
        if got.filters != self.filters or got.latest <= self.tail_id:
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
        """Past the window's end: the page before it; past its start (scrolled back): the page after."""
        if not self.window or self.loading("scroll"):
            return
        vault, filters = self.app.vault, dict(self.filters)
        if message.direction == "older":
            before = self.window[-1].id
            self.load(lambda: fetch_older(vault, before, filters), lambda got: self._show_older(before, *got),
                      group="scroll")
        elif not self.at_newest:
            after = self.window[0].id
            self.load(lambda: vault.events(after_id=after, limit=PAGE, **filters),
                      lambda newer: self._show_newer(after, newer), group="scroll")

    def _show_older(self, before: int, older: list, newest_id: int | None) -> None:
        if not self.window or self.window[-1].id != before:  # the window moved meanwhile
            return
        if not older:
            self.notify("This is the oldest event.", timeout=2)
            return
        self.window = (self.window + older)[-WINDOW:]
        if self.window[0].id != newest_id:
            self.at_newest = False
            self.following = False
        self.log_view.show_events(self.window, keep_id=before)
        self.log_view.action_cursor_down()
        self._status()

    def _show_newer(self, after: int, newer: list) -> None:
        if not self.window or self.window[0].id != after:
            return
        self.window = (list(reversed(newer)) + self.window)[:WINDOW]
        self.at_newest = len(newer) < PAGE
        self.log_view.show_events(self.window, keep_id=after)
        self.log_view.action_cursor_up()
        self._status()

    def action_newest(self) -> None:
        self.load_newest()

    def action_oldest(self) -> None:
        vault, filters = self.app.vault, dict(self.filters)
        self.load(lambda: vault.events(after_id=0, limit=PAGE, **filters), self._show_oldest, group="scroll")

    def _show_oldest(self, oldest: list) -> None:
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
        self.evidence = frozenset()
        self.load_newest({k: v for k, v in filters.items() if v}, focus_log=True)

    def _status(self, error: str | None = None) -> None:
        status = self.query_one("#activity-status", Static)
        if error:
            status.update(tones.toned(error, tones.BAD))
            return
        parts = [(" ● FOLLOWING ", tones.BADGE_OK) if self.following and self.at_newest
                 else (" ❚❚ PAUSED ", tones.BADGE_WARN)]
        if self.pending and not (self.following and self.at_newest):
            parts.append((f" {self.pending:,} new", tones.STRONG))
        if self.total is not None:
            parts.append(f"  {len(self.window):,} shown of {self.total:,}{'+' if self.total >= COUNT_CAP else ''}")
        if self.filters:
            parts.append(tones.toned("  filter: " + ", ".join(f"{k}={v}" for k, v in self.filters.items()), tones.INFO))
        if self.evidence:
            parts.append(tones.toned(f"  {len(self.evidence)} evidence events marked", tones.EVIDENCE))
        parts.append(("  space/p follow·pause  / filter  g/G newest/oldest", tones.MUTED))
        status.update(Content.assemble(*parts))
