"""Overview: the four key counts, keys per environment, open alerts and the latest activity.

It is the first screen, so it asks only for aggregates (one GROUP BY, one count, a short
page of events): opening the console costs the same on 24 keys or 100,000. Every 2 s a worker
asks for the newest event id, and the page re-reads when another process wrote something.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import DataTable, Static

from keytui.domain import Environment, Status
from keytui.keymap import OVERVIEW_BINDINGS
from keytui.screens.page import PageScreen
from keytui.widgets import tones, when
from keytui.widgets.metric_card import MetricCard
from keytui.widgets.nav_table import NavTable

RECENT_EVENTS = 30
EMPTY_HINT = Content.styled("No keys yet: press c to create one, or run keytui --demo to explore demo data "
                            "(in its own home).", "italic")
POLL_S = 2.0
ALERT_LINES = 5


@dataclass(frozen=True)
class OverviewData:
    """What the page shows, read in one worker."""

    latest_event: int
    overview: object  # analytics.Overview
    alerts: list
    events: list


def read_overview(vault) -> OverviewData:
    return OverviewData(vault.latest_event_id(), vault.overview(), vault.alerts(limit=ALERT_LINES),
                        vault.events(limit=RECENT_EVENTS))


class OverviewScreen(PageScreen):
    PAGE = "overview"
    LOAD_WHAT = "the Overview"
    BINDINGS = OVERVIEW_BINDINGS

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.latest_event: int | None = None

    def compose_page(self) -> ComposeResult:
        with Vertical(id="overview"):
            with Horizontal(id="cards"):
                yield MetricCard("Total", id="card-total")
                yield MetricCard("Active", id="card-active", classes="ok")
                yield MetricCard("Expired", id="card-expired", classes="warn")
                yield MetricCard("Revoked", id="card-revoked", classes="bad")
            yield Static(EMPTY_HINT, id="empty-hint")
            with Horizontal(id="overview-middle"):
                yield Static(id="environments", classes="panel")
                yield Static(id="alerts", classes="panel")
            recent = NavTable(id="recent", cursor_type="row", zebra_stripes=True)
            recent.border_title = "Recent activity"
            yield recent

    def on_mount(self) -> None:
        self.set_interval(POLL_S, self._poll)
        recent = self.query_one("#recent", DataTable)
        for label, key, width in (("Time", "ts", 19), ("Key", "key", 24), ("Module", "module", 12),
                                  ("Status", "status", 8), ("IP", "ip", 15), ("Code", "code", 22)):
            recent.add_column(label, key=key, width=width)

    def _poll(self) -> None:
        """Traffic from other processes (the gateway, `keytui verify`) shows up without a key press."""
        if self.is_current and not (self.loading("poll") or self.loading()):
            self.load(self.app.vault.latest_event_id, self._polled, group="poll")

    def _polled(self, latest: int) -> None:
        if latest != self.latest_event or self.load_failed_now:  # a failed read is tried again
            self.refresh_data()

    def refresh_data(self) -> None:
        """The first read was started with the app (`KeytuiApp.on_load`): shown at once if it is
        in, else awaited in the worker; every later read is a worker's."""
        first, self.app.first_read = self.app.first_read, None
        if first is not None and first.done() and first.exception() is None:
            self.show_loaded(first.result(), self._show)
            return
        vault = self.app.vault
        self.load(first.result if first is not None else lambda: read_overview(vault), self._show)

    def _show(self, data: OverviewData) -> None:
        self.latest_event = data.latest_event
        ov = data.overview
        pct = lambda n: f"{n / ov.total:.0%} of all" if ov.total else ""  # noqa: E731
        self.query_one("#card-total", MetricCard).show(ov.total, "keys")
        self.query_one("#card-active", MetricCard).show(ov.active, pct(ov.active))
        self.query_one("#card-expired", MetricCard).show(ov.expired, pct(ov.expired))
        self.query_one("#card-revoked", MetricCard).show(ov.revoked, pct(ov.revoked))
        env_panel = self.query_one("#environments", Static)
        env_panel.border_title = "Keys per environment"
        env_panel.update(environments_text(ov))
        self.query_one("#empty-hint", Static).display = not ov.total
        self._show_alerts(ov.open_alerts, data.alerts)
        self._show_recent(data.events)

    def _show_alerts(self, count: int, newest) -> None:
        panel = self.query_one("#alerts", Static)
        panel.border_title = f"Open alerts ({count:,})"
        if not count:
            panel.update(tones.toned("No open alerts", tones.OK))
            return
        lines = [Content.assemble(tones.severity_word(alert.severity, 6), " ", f"{when.moment(alert.created_at)} ",
                                  tones.plain(f"{alert.key_name}: ") if alert.key_name else "",
                                  tones.plain(alert.message))
                 for alert in newest]
        panel.update(Content("\n").join(lines))

    def _show_recent(self, events) -> None:
        table = self.query_one("#recent", DataTable)
        table.clear()
        for e in events:
            table.add_row(Content(when.moment_s(e.ts)), tones.plain(e.key_name or e.key_id or "-"), tones.plain(e.module),
                          tones.outcome_word(e.status), tones.plain(e.ip or "-"), tones.plain(e.code))


def environments_text(ov) -> Content:
    """Per environment: total, then active / expired / revoked in their colours."""
    lines = []
    for env in Environment:
        split = ov.by_environment_status[env]
        lines.append(Content.assemble(
            (f"{env.label:<12}", tones.STRONG), f"{ov.by_environment[env]:>6,}",
            (f" {split[Status.ACTIVE]:,}", tones.OK), " act", (f" {split[Status.EXPIRED]:,}", tones.WARN), " exp",
            (f" {split[Status.REVOKED]:,}", tones.ERROR), " rev"))
    return Content("\n").join(lines)
