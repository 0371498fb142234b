"""Registry: every key, filtered, sorted and paged in SQL, one window at a time.

With 100,000 keys the table holds WINDOW rows; moving past either end fetches the next
window from the service (LIMIT/OFFSET over an indexed order), so opening, filtering and
scrolling cost the same on any registry size.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.content import Content
from textual.widgets import DataTable, Input, Static, Tab, Tabs

from keytui.domain import Environment, Status, parse_environment, parse_scope
from keytui.keymap import KEY_BINDINGS, REGISTRY_BINDINGS
from keytui.service import KeyFilter
from keytui.screens.key_actions import KeyActions
from keytui.screens.page import PageScreen
from keytui.widgets.key_table import COLUMNS, KeyTable
from keytui.text import visible
from keytui.widgets import tones

WINDOW = 100
STEP = WINDOW // 2
FILTER_DEBOUNCE_S = 0.12
COUNT_AFTER_TYPING_S = 0.4
ENV_TABS = [("all", "All")] + [(env.value, env.label) for env in Environment]
EXPIRING = "expiring"
STATUSES = (None, Status.ACTIVE.value, EXPIRING, Status.EXPIRED.value, Status.REVOKED.value)  # the f key's cycle
STATUS_WORDS = {EXPIRING: "expiring soon"}


@dataclass(frozen=True)
class Listing:
    """Which keys, in which order: what a window is a window of."""

    key_filter: KeyFilter
    sort: str
    descending: bool


@dataclass(frozen=True)
class Window:
    listing: Listing
    start: int
    views: list
    now: datetime
    soon_days: int  # "expiring soon": the expiry-alert window, read with the window
    total: int | None = None  # known when the window was asked for from the end


def fetch_window(vault, listing: Listing, start: int, from_end: bool = False, with_total: bool = False) -> Window:
    """One window of keys (worker side); a window past the end (the registry shrank) starts again at the top.
    The expiry-alert window is read first (the Policies page may have changed it): it decides
    which keys are "expiring soon", in the marks and in the expiring filter."""
    soon_days = vault.policy_settings()["expiry_alert_days"]
    if listing.key_filter.expiring_days not in (None, soon_days):
        listing = replace(listing, key_filter=replace(listing.key_filter, expiring_days=soon_days))
    total = vault.count_keys(listing.key_filter) if from_end or with_total else None
    first = max(0, total - WINDOW) if from_end else start
    views = vault.list_keys(listing.key_filter, sort=listing.sort, descending=listing.descending, limit=WINDOW,
                            offset=first)
    if not views and first:
        first = 0
        views = vault.list_keys(listing.key_filter, sort=listing.sort, descending=listing.descending, limit=WINDOW)
    return Window(listing, first, views, vault.now(), soon_days, total)


COUNT_RETRY_S = 5.0


class RegistryScreen(KeyActions, PageScreen):
    PAGE = "registry"
    LOAD_WHAT = "the registry"
    BINDINGS = [*REGISTRY_BINDINGS, *KEY_BINDINGS]

    def __init__(self):
        super().__init__()
        self.environment: Environment | None = None
        self.scope = None
        self.search = ""
        self.status: str | None = None  # active, expiring, expired or revoked
        self.soon_days = 7  # "expiring soon": the expiry-alert window, read with the policies
        self.sort = "created_at"
        self.descending = True
        self.window_start = 0
        self.shown = 0
        self.shown_listing: Listing | None = None  # what the rows on screen are a window of
        self.canaries_shown = False
        self.total: int | None = None  # None while the worker counts
        self._debounce = None
        self._count_timer = None

    def compose_page(self) -> ComposeResult:
        with Horizontal(id="registry-bar"):
            yield Tabs(*[Tab(label, id=f"env-{value}") for value, label in ENV_TABS], id="env-tabs")
            yield Input(placeholder="/ name, id, owner, scope", id="registry-filter", compact=True)
        yield KeyTable(id="keys")
        yield Static("", id="registry-status")

    @property
    def table(self) -> KeyTable:
        return self.query_one("#keys", KeyTable)

    def on_mount(self) -> None:
        self.table.focus()

    # ------------------------------------------------------------------ state
    def key_filter(self) -> KeyFilter:
        return KeyFilter.parse(self.status, self.environment, self.scope, self.search, expiring_days=self.soon_days)

    @property
    def filtered(self) -> bool:
        return bool(self.environment or self.scope or self.search or self.status)

    def filter_words(self) -> str:
        """The filters in force, as the status line says them ("production, status expired")."""
        parts = [self.environment.value] if self.environment else []
        if self.status:
            parts.append(f"status {STATUS_WORDS.get(self.status, self.status)}")
        if self.scope:
            parts.append(f"scope {self.scope.label}")
        if self.search:
            parts.append(f"text '{visible(self.search)}'")
        return ", ".join(parts)

    def listing(self) -> Listing:
        return Listing(self.key_filter(), self.sort, self.descending)

    def set_filter(self, scope=None, environment=None, search=None, status=None) -> None:
        """Show the registry narrowed to a scope, environment, status and/or search text (None clears each)."""
        self.scope = parse_scope(scope) if scope else None
        self.environment = parse_environment(environment) if environment else None
        self.search = (search or "").strip()
        self.status = status
        self.window_start = 0
        if self.is_mounted:
            self.query_one("#registry-filter", Input).value = self.search
            self.query_one("#env-tabs", Tabs).active = f"env-{self.environment.value if self.environment else 'all'}"
            self.refresh_data(start=0)

    def read_ahead_key(self) -> tuple:
        return self.listing(), self.window_start

    def refresh_data(self, cursor: int | None = None, count_after: float = 0.0, *, start: int | None = None,
                     from_end: bool = False) -> None:
        """Show the window at `start` (default: the current one; `from_end`: the last) from a worker; the
        total (a full count on 100,000 keys) follows from another, started `count_after` seconds after
        the rows are shown, so counts for half-typed filters are skipped."""
        vault, listing = self.app.vault, self.listing()
        start = self.window_start if start is None else start
        # read ahead, while the page is being built: the total comes with the rows (a few ms even
        # on 100,000 keys) rather than from a second worker's round of messages after them
        with_total = not self.is_mounted
        self.load(lambda: fetch_window(vault, listing, start, from_end, with_total),
                  lambda window: self._show_window(window, cursor, count_after))

    def _show_window(self, window: Window, cursor: int | None, count_after: float) -> None:
        self.window_start = window.start
        self.shown_listing = window.listing
        self.soon_days = window.soon_days
        table = self.table
        table.show(window.views, now=window.now, soon_days=self.soon_days,
                   cursor=table.cursor_row if cursor is None else cursor, sort=window.listing.sort,
                   descending=window.listing.descending)
        self.shown = len(window.views)
        self.canaries_shown = any(v.canary for v in window.views)
        self.total = window.total
        self._show_status()
        if self._count_timer is not None:
            self._count_timer.stop()
            self._count_timer = None
        if window.total is None:
            key_filter = window.listing.key_filter
            if count_after:
                self._count_timer = self.set_timer(count_after, lambda: self._count(key_filter))
            else:
                self._count(key_filter)

    def _count(self, key_filter: KeyFilter) -> None:
        """Count off the UI thread; if no total has arrived COUNT_RETRY_S later (a count seen lost
        on a loaded CI machine, with no error), ask again rather than show "…" for good."""
        vault = self.app.vault
        self.load(lambda: vault.count_keys(key_filter), lambda total: self._counted(key_filter, total), group="count")
        self._count_timer = self.set_timer(COUNT_RETRY_S, lambda: self._recount(key_filter))

    def _recount(self, key_filter: KeyFilter) -> None:
        self._count_timer = None
        if self.total is None and self.shown_listing and key_filter == self.shown_listing.key_filter:
            self._count(key_filter)

    def _counted(self, key_filter: KeyFilter, total: int) -> None:
        if self.shown_listing and key_filter == self.shown_listing.key_filter:
            self.total = total
            self._show_status()

    def _show_status(self) -> None:
        of = "…" if self.total is None else f"{self.total:,}"
        first = self.window_start + 1 if self.shown else 0
        parts = [Content(f"{first:,}-{self.window_start + self.shown:,} of {of} keys")]
        if self.status:
            parts.append(tones.toned(f"status: {STATUS_WORDS.get(self.status, self.status)}", tones.INFO))
        if self.scope:
            parts.append(tones.toned(f"scope: {self.scope.label}", tones.INFO))
        if self.search:
            parts.append(Content.assemble(("filter: ", tones.INFO), tones.plain(self.search)))
        if self.filtered:
            parts.append(Content("esc clears"))
        label = next(c.label for c in COLUMNS if c.key == self.sort)
        parts.append(Content(f"sorted by {label} {'▼' if self.descending else '▲'}"))
        parts.append(Content("⚑ violates the org policy"))
        if self.canaries_shown:
            parts.append(Content("◆ canary (bait: never authorises)"))
        self.query_one("#registry-status", Static).update(Content("  ·  ").join(parts))

    def selected_key_id(self) -> str | None:
        return self.table.selected_key()

    @on(DataTable.RowHighlighted, "#keys")
    def key_highlighted(self, event: DataTable.RowHighlighted) -> None:
        """Other pages (Permissions) start from the key highlighted here."""
        self.app.selected_key_id = event.row_key.value

    # ------------------------------------------------------------------ paging
    @on(KeyTable.EdgeReached)
    def page(self, event: KeyTable.EdgeReached) -> None:
        """Ask for the neighbouring window; pressing on while it loads asks for the same one again."""
        row = self.table.cursor_row
        if event.direction == "down" and self.shown == WINDOW:
            self.refresh_data(cursor=row - STEP + 1, start=self.window_start + STEP)
        elif event.direction == "up" and self.window_start > 0:
            step = min(STEP, self.window_start)
            self.refresh_data(cursor=row + step - 1, start=self.window_start - step)
        elif event.direction == "top":
            self.refresh_data(cursor=0, start=0)
        elif event.direction == "bottom":
            self.refresh_data(cursor=WINDOW, from_end=True)

    # ------------------------------------------------------------------ filter, environment, sort
    def action_filter(self) -> None:
        self.query_one("#registry-filter", Input).focus()

    def action_leave_filter(self) -> None:
        """Esc: out of the filter box; then clears every filter (scope, status, environment, text);
        only an unfiltered registry goes back to the page shown before."""
        if self.query_one("#registry-filter", Input).has_focus:
            self.table.focus()
        elif self.filtered:
            self.set_filter()
        else:
            self.app.action_back()

    def action_next_status(self) -> None:
        self.status = STATUSES[(STATUSES.index(self.status) + 1) % len(STATUSES)]
        self.refresh_data(cursor=0, start=0)

    @on(Input.Changed, "#registry-filter")
    def filter_typed(self, event: Input.Changed) -> None:
        if self._debounce is not None:
            self._debounce.stop()
        self._debounce = self.set_timer(FILTER_DEBOUNCE_S, lambda: self._apply_search(event.value))

    @on(Input.Submitted, "#registry-filter")
    def filter_done(self, event: Input.Submitted) -> None:
        self._apply_search(event.value)
        self.table.focus()

    def _apply_search(self, text: str) -> None:
        if text.strip() != self.search:
            self.search = text.strip()
            self.refresh_data(cursor=0, count_after=COUNT_AFTER_TYPING_S, start=0)

    @on(Tabs.TabActivated, "#env-tabs")
    def environment_chosen(self, event: Tabs.TabActivated) -> None:
        value = event.tab.id.removeprefix("env-")
        env = None if value == "all" else Environment(value)
        if env != self.environment:
            self.environment = env
            self.refresh_data(cursor=0, start=0)

    def action_next_environment(self) -> None:
        self.query_one("#env-tabs", Tabs).action_next_tab()

    def action_next_sort(self) -> None:
        """The next column in sight (a sort by a column off the screen could not be seen)."""
        keys = self.table.column_keys
        at = keys.index(self.sort) if self.sort in keys else -1
        self._sort_by(keys[(at + 1) % len(keys)])

    def action_reverse_sort(self) -> None:
        self.descending = not self.descending
        self.refresh_data(cursor=0, start=0)

    @on(DataTable.HeaderSelected, "#keys")
    def header_clicked(self, event: DataTable.HeaderSelected) -> None:
        if event.column_key.value == self.sort:
            self.action_reverse_sort()
        else:
            self._sort_by(event.column_key.value)

    def _sort_by(self, key: str) -> None:
        self.sort = key
        self.descending = key in ("created_at", "expires_at", "last_used_at")
        self.refresh_data(cursor=0, start=0)

    @on(DataTable.RowSelected, "#keys")
    def row_chosen(self, event: DataTable.RowSelected) -> None:
        self.action_view_details()
