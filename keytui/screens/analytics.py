"""Key usage analytics (spec section 7): four charts over 24 h / 7 d / 30 d and the most used keys.

The figures come from the service's hourly counters in a thread worker, so the page opens at
once even on a million events and the charts fill in when the numbers arrive. Enter on a key
in the table opens the activity log filtered to it (the spec's link into execution logs).
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Grid, VerticalScroll
from textual.content import Content
from textual.widgets import DataTable, Static, Tab, Tabs

from keytui.keymap import ANALYTICS_BINDINGS
from keytui.screens.page import PageScreen
from keytui.widgets import tones
from keytui.widgets.usage_chart import UsageChart

RANGES = (("24h", "24 h"), ("7d", "7 d"), ("30d", "30 d"))
CHART_BARS = 6  # one bar per text row in a chart of the page's height; the table lists all the top keys


class AnalyticsScreen(PageScreen):
    PAGE = "analytics"
    LOAD_WHAT = "the analytics"
    BINDINGS = ANALYTICS_BINDINGS

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.window = "24h"
        self.usage = None  # analytics.Usage once loaded

    def compose_page(self) -> ComposeResult:
        with VerticalScroll(id="analytics-page", classes="page-body"):
            yield Tabs(*(Tab(label, id=f"range-{key}") for key, label in RANGES), id="analytics-range")
            yield Static("Loading…", id="analytics-summary")
            with Grid(id="analytics-charts"):
                yield UsageChart(id="chart-executions")
                yield UsageChart(id="chart-failed")
                yield UsageChart(id="chart-most-used")
                yield UsageChart(id="chart-agents")
            yield Static("Most used keys (enter: activity log)", classes="section-title")
            yield DataTable(id="most-used", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        table = self.query_one("#most-used", DataTable)
        for label, key, width in (("#", "rank", 3), ("Key ID", "key_id", 20), ("Key Name", "name", 24),
                                  ("Successful", "ok", 10), ("Failed", "failed", 8)):
            table.add_column(label, key=key, width=width)
        self.query_one(Tabs).focus()

    def read_ahead_key(self) -> str:
        return self.window

    def refresh_data(self) -> None:
        self._load(self.window)

    def action_range(self, window: str) -> None:
        self.query_one(Tabs).active = f"range-{window}"

    def on_tabs_tab_activated(self, event: Tabs.TabActivated) -> None:
        window = event.tab.id.removeprefix("range-")
        if window != self.window:
            self.window = window
            self._load(window)

    def _load(self, window: str) -> None:
        vault = self.app.vault
        self.load(lambda: vault.usage(window), self._show)

    def _show(self, usage) -> None:
        if usage.window != self.window:
            return
        self.usage = usage
        label = dict(RANGES)[usage.window]
        attempts = usage.total_ok + usage.total_failed
        rate = f" ({usage.total_failed / attempts:.1%})" if attempts else ""
        self.query_one("#analytics-summary", Static).update(Content.assemble(
            (f"Last {label}: ", tones.STRONG), f"{attempts:,} verifications · ",
            (f"{usage.total_failed:,} failed", tones.ERROR), rate,
            f" · {sum(usage.agent_calls):,} agent-triggered calls"))
        executions = usage.executions_per_key[:CHART_BARS]
        self.query_one("#chart-executions", UsageChart).show_bars(
            "Executions per key", [k.name for k in executions], [k.total for k in executions])
        self.query_one("#chart-failed", UsageChart).show_timeline(
            "Failed authentications", usage.buckets, {"failed": usage.failed})
        most = usage.most_used
        self.query_one("#chart-most-used", UsageChart).show_bars(
            "Most used keys (successful)", [k.name for k in most[:CHART_BARS]], [k.ok for k in most[:CHART_BARS]],
            color="success")
        self.query_one("#chart-agents", UsageChart).show_timeline(
            "Agent-triggered API calls", usage.buckets, {"agents": usage.agent_calls}, colors={"agents": "primary"})
        table = self.query_one("#most-used", DataTable)
        table.clear()
        for rank, k in enumerate(most, start=1):
            table.add_row(str(rank), tones.plain(k.key_id), tones.plain(k.name), f"{k.ok:,}",
                          tones.toned(f"{k.failed:,}", tones.ERROR if k.failed else ""), key=k.key_id)

    def action_cursor(self, direction: str) -> None:
        table = self.query_one("#most-used", DataTable)
        table.action_cursor_down() if direction == "down" else table.action_cursor_up()

    def action_open_activity(self) -> None:
        table = self.query_one("#most-used", DataTable)
        if table.row_count:
            key_id = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
            self.app.show_activity(key_id=key_id)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.app.show_activity(key_id=event.row_key.value)
