"""Alerts: review what the watch raised (suspicious activity, expiries, automatic rotations)
and acknowledge it, so the Overview's count means "still needs a look"."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import DataTable, Footer, Label, Static

from keytui.keymap import ALERTS_BINDINGS
from keytui.screens.dialogs import DIALOG_CSS
from keytui.screens.loading import Refreshing
from keytui.screens.page import tcss
from keytui.widgets import tones
from keytui.widgets.load_error import LoadError
from keytui.widgets.nav_table import NavTable

EVIDENCE_SHOWN = 12


class AlertsScreen(Refreshing, ModalScreen[None]):
    LOAD_WHAT = "the alerts"
    CSS_PATH = [DIALOG_CSS, tcss(__file__)]
    BINDINGS = ALERTS_BINDINGS

    def __init__(self) -> None:
        super().__init__()
        self.include_acknowledged = False
        self._views: dict = {}  # row key -> AlertView

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide-dialog"):
            yield Label("Alerts", classes="dialog-title")
            yield LoadError()
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
        self.query_one(DataTable).focus()

    def refresh_data(self) -> None:
        vault, include = self.app.vault, self.include_acknowledged
        self.load(lambda: vault.alerts(include_acknowledged=include), self._show)

    def _show(self, views: list) -> None:
        table = self.query_one(DataTable)
        table.clear()
        for a in views:
            state = f"ack by {a.acknowledged_by}" if a.acknowledged_at else "open"
            table.add_row(tones.severity_word(a.severity), f"{a.created_at:%m-%d %H:%M}",
                          tones.plain(a.key_name or a.key_id or a.ip or "-"), tones.plain(a.message),
                          tones.plain(a.kind), tones.plain(state), key=str(a.id))
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
        text = Content("")
        if alert:
            text = Content.assemble((f"{alert.kind} ", tones.STRONG), alert.message)
            if alert.evidence:
                shown = ", ".join(map(str, alert.evidence[:EVIDENCE_SHOWN]))
                more = " …" if len(alert.evidence) > EVIDENCE_SHOWN else ""
                text = Content.assemble(text, (f"\nevidence: activity events {shown}{more}", tones.MUTED))
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

        self.app.perform("Acknowledge alert", lambda totp: self.app.vault.acknowledge_alert(alert_id), done)

    def action_toggle_all(self) -> None:
        self.include_acknowledged = not self.include_acknowledged
        self.refresh_data()
