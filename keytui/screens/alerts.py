"""Alerts: review what the watch raised (suspicious activity, expiries, automatic rotations)
and acknowledge it, so the Overview's count means "still needs a look"."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Footer, Label, Static

from keytui.service.alerts import AlertView
from keytui.widgets.nav_table import NavTable

SEVERITY_STYLE = {"high": "bold red", "medium": "yellow", "low": "dim"}


class AlertsScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("a", "acknowledge", "Acknowledge", id="alerts.ack", tooltip="Mark the selected alert as handled"),
        Binding("A", "toggle_all", "Show handled", id="alerts.all", tooltip="Also list acknowledged alerts"),
        Binding("escape", "dismiss", "Close", id="alerts.close", tooltip="Back to the page"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.include_acknowledged = False
        self._views: dict[str, AlertView] = {}

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide-dialog"):
            yield Label("Alerts", classes="dialog-title")
            yield Static(id="alerts-summary")
            table = NavTable(id="alerts-table", cursor_type="row", zebra_stripes=True)
            for label, key, width in (("Severity", "severity", 8), ("Raised", "raised", 11),
                                      ("Key / IP", "subject", 22), ("Message", "message", 60), ("Kind", "kind", 18),
                                      ("State", "state", 14)):
                table.add_column(label, key=key, width=width)
            yield table
            yield Static(id="alert-detail")
        yield Footer()

    def on_mount(self) -> None:
        self.refresh_rows()
        self.query_one(DataTable).focus()

    def refresh_rows(self) -> None:
        views = self.app.vault.alerts(include_acknowledged=self.include_acknowledged)
        table = self.query_one(DataTable)
        table.clear()
        for a in views:
            state = f"ack by {a.acknowledged_by}" if a.acknowledged_at else "open"
            table.add_row(Text(a.severity, style=SEVERITY_STYLE.get(a.severity, "")), f"{a.created_at:%m-%d %H:%M}",
                          a.key_name or a.key_id or a.ip or "-", a.message, a.kind, state, key=str(a.id))
        self._views = {str(a.id): a for a in views}
        self._show_detail()
        shown = "open and acknowledged" if self.include_acknowledged else "open"
        self.query_one("#alerts-summary", Static).update(
            f"{len(views)} {shown} alert(s). a acknowledges the selected one; A shows handled ones too."
            if views else f"No {shown} alerts.")

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_detail()

    def _show_detail(self) -> None:
        """The whole message and its evidence: the table cuts long messages at 80 columns."""
        alert = self._views.get(self._selected_id() or "")
        text = Text()
        if alert:
            text.append(f"{alert.kind} ", style="bold").append(alert.message)
            if alert.evidence:
                shown = ", ".join(map(str, alert.evidence[:12])) + (" …" if len(alert.evidence) > 12 else "")
                text.append(f"\nevidence: activity events {shown}", style="dim")
        self.query_one("#alert-detail", Static).update(text)

    def _selected_id(self) -> str | None:
        table = self.query_one(DataTable)
        if not table.row_count:
            return None
        return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value

    def action_acknowledge(self) -> None:
        alert_id = self._selected_id()
        if alert_id is None:
            self.notify("No alert selected", severity="warning")
            return

        def done(view) -> None:
            self.notify(f"Alert {view.id} acknowledged", title="Alerts")
            self.refresh_rows()

        self.app.perform("Acknowledge alert", lambda totp: self.app.vault.acknowledge_alert(alert_id), done)

    def action_toggle_all(self) -> None:
        self.include_acknowledged = not self.include_acknowledged
        self.refresh_rows()
