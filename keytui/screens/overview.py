"""Overview: the four key counts, keys per environment, open alerts and the latest activity.

It is the first screen, so it asks only for aggregates (one GROUP BY, one count, a short
page of events): opening the console costs the same on 24 keys or 100,000.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Static

from keytui.domain import Environment, Status
from keytui.screens.page import PageScreen
from keytui.widgets.metric_card import MetricCard
from keytui.widgets.nav_table import NavTable

RECENT_EVENTS = 30
POLL_S = 2.0
ALERT_LINES = 5
SEVERITY_STYLE = {"high": "bold red", "medium": "yellow", "low": "dim"}
STATUS_STYLE = {"success": "green", "failed": "bold red"}


class OverviewScreen(PageScreen):
    PAGE = "overview"
    BINDINGS = [Binding("A", "alerts", "Alerts", id="overview.alerts",
                tooltip="Review and acknowledge the open alerts")]

    def compose_page(self) -> ComposeResult:
        with Vertical(id="overview"):
            with Horizontal(id="cards"):
                yield MetricCard("Total", id="card-total")
                yield MetricCard("Active", id="card-active", classes="ok")
                yield MetricCard("Expired", id="card-expired", classes="warn")
                yield MetricCard("Revoked", id="card-revoked", classes="bad")
            with Horizontal(id="overview-middle"):
                yield Static(id="environments", classes="panel")
                yield Static(id="alerts", classes="panel")
            recent = NavTable(id="recent", cursor_type="row", zebra_stripes=True)
            recent.border_title = "Recent activity"
            yield recent

    def on_mount(self) -> None:
        self.latest_event = 0
        self.set_interval(POLL_S, self._poll)
        recent = self.query_one("#recent", DataTable)
        for label, key, width in (("Time", "ts", 16), ("Key", "key", 24), ("Module", "module", 12),
                                  ("Status", "status", 8), ("IP", "ip", 15), ("Code", "code", 22)):
            recent.add_column(label, key=key, width=width)

    def action_alerts(self) -> None:
        from keytui.screens.alerts import AlertsScreen

        self.app.push_screen(AlertsScreen(), lambda _: self.refresh_data())

    def _poll(self) -> None:
        """Traffic from other processes (the gateway, `keytui verify`) shows up without a key press."""
        if self.is_current and self.app.vault.latest_event_id() != self.latest_event:
            self.refresh_data()

    def refresh_data(self) -> None:
        vault = self.app.vault
        self.latest_event = vault.latest_event_id()
        ov = vault.overview()
        pct = lambda n: f"{n / ov.total:.0%} of all" if ov.total else ""  # noqa: E731
        self.query_one("#card-total", MetricCard).show(ov.total, "keys")
        self.query_one("#card-active", MetricCard).show(ov.active, pct(ov.active))
        self.query_one("#card-expired", MetricCard).show(ov.expired, pct(ov.expired))
        self.query_one("#card-revoked", MetricCard).show(ov.revoked, pct(ov.revoked))
        env_text = Text()
        for env in Environment:
            split = ov.by_environment_status[env]
            env_text.append(f"{env.label:<12}", style="bold").append(f"{ov.by_environment[env]:>6,}")
            env_text.append(f" {split[Status.ACTIVE]:,}", style="green").append(" act")
            env_text.append(f" {split[Status.EXPIRED]:,}", style="yellow").append(" exp")
            env_text.append(f" {split[Status.REVOKED]:,}", style="red").append(" rev\n")
        if not ov.total:
            env_text.append("No keys yet: press c to create one, or run keytui --demo to explore demo data.\n",
                            style="italic")
        env_text.rstrip()
        env_panel = self.query_one("#environments", Static)
        env_panel.border_title = "Keys per environment"
        env_panel.update(env_text)
        self._show_alerts(ov.open_alerts, vault.alerts(limit=ALERT_LINES))
        self._show_recent(vault.events(limit=RECENT_EVENTS))

    def _show_alerts(self, count: int, newest) -> None:
        panel = self.query_one("#alerts", Static)
        panel.border_title = f"Open alerts ({count:,})"
        if not count:
            panel.update(Text("No open alerts", style="green"))
            return
        text = Text()
        for alert in newest:
            text.append(f"{alert.severity:<6} ", style=SEVERITY_STYLE.get(alert.severity, ""))
            subject = f"{alert.key_name}: " if alert.key_name else ""
            text.append(f"{alert.created_at:%m-%d %H:%M} {subject}{alert.message}\n")
        text.rstrip()
        panel.update(text)

    def _show_recent(self, events) -> None:
        table = self.query_one("#recent", DataTable)
        table.clear()
        for e in events:
            table.add_row(f"{e.ts:%m-%d %H:%M:%S}", e.key_name or e.key_id or "-", e.module,
                          Text(e.status, style=STATUS_STYLE.get(e.status, "")), e.ip or "-", e.code)
