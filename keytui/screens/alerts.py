"""Alerts: review what the watch raised (suspicious activity, expiries, automatic rotations),
open what an alert is about, and acknowledge it, so the Overview's count means "still needs a look".

Enter opens the alert's key with its evidence events marked (rotate and revoke are one key
away there) or, for an alert about an IP address, the activity log of that address with the
evidence marked. Open alerts are marked "● open"; acknowledged ones "✓" and greyed. The
message column takes the width the terminal leaves, and the selected alert is shown in full
(wrapped) under the table.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import DataTable, Label, Static

from keytui.keymap import ALERTS_BINDINGS
from keytui.screens.loading import Refreshing
from keytui.screens.wording import alert_content
from keytui.widgets import tones, when
from keytui.widgets.footer import KeyFooter
from keytui.widgets.load_error import LoadError
from keytui.widgets.nav_table import NavTable

FIXED = (("Severity", "severity", 8), ("Raised", "raised", 16), ("State", "state", 7), ("Key / IP", "subject", 22))
MESSAGE_MIN = 30
CHROME = 8  # the dialog's border and padding (4), the table's scrollbar (2), the message's cell padding (2)


def message_width(width: int) -> int:
    return max(MESSAGE_MIN, width - CHROME - sum(w + 2 for *_, w in FIXED))


def alert_cells(alert) -> tuple:
    """One alert as cells; an acknowledged one is greyed and says so."""
    acked = alert.acknowledged_at is not None
    state = tones.toned("✓ acked", tones.MUTED) if acked else tones.toned("● open", tones.WARN)
    cells = (tones.severity_word(alert.severity), Content(when.moment(alert.created_at)), state,
             tones.plain(alert.key_name or alert.key_id or alert.ip or "-"), tones.plain(alert.message))
    return tuple(cell.stylize(tones.MUTED) for cell in cells) if acked else cells


class AlertsScreen(Refreshing, ModalScreen[None]):
    LOAD_WHAT = "the alerts"
    BINDINGS = ALERTS_BINDINGS

    def __init__(self) -> None:
        super().__init__()
        self.include_acknowledged = False
        self._views: dict = {}  # row key -> AlertView
        self._shown: list = []
        self._message_width = 0

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide-dialog"):
            yield Label("Alerts", classes="dialog-title")
            yield LoadError()
            yield Static(id="alerts-summary")
            yield NavTable(id="alerts-table", cursor_type="row", zebra_stripes=True)
            yield Static(id="alert-detail")
        yield KeyFooter(compact=True)

    def check_action(self, action: str, parameters) -> bool | None:
        return self.app.may(action)  # a viewer's footer has no Acknowledge

    def on_mount(self) -> None:
        self.query_one(DataTable).focus()

    def on_resize(self) -> None:
        if message_width(self.size.width) != self._message_width:
            self._fill(self._shown)

    def refresh_data(self) -> None:
        vault, include = self.app.vault, self.include_acknowledged
        self.load(lambda: vault.alerts(include_acknowledged=include), self._show)

    def _show(self, views: list) -> None:
        self._views = {str(a.id): a for a in views}
        self._fill(views)
        shown = "open and acknowledged" if self.include_acknowledged else "open"
        self.query_one("#alerts-summary", Static).update(
            f"{len(views)} {shown} alert(s). enter opens the selected one; a acknowledges it; A shows handled ones "
            "too." if views else f"No {shown} alerts.")

    def _fill(self, views: list) -> None:
        """The rows again, in columns as wide as the terminal allows (the message takes the rest)."""
        self._shown = views
        self._message_width = message_width(self.size.width)
        table = self.query_one(DataTable)
        row = table.cursor_row
        table.clear(columns=True)
        for label, key, width in (*FIXED, ("Message", "message", self._message_width)):
            table.add_column(label, key=key, width=width)
        for alert in views:
            table.add_row(*alert_cells(alert), key=str(alert.id))
        if views:
            table.move_cursor(row=min(row, len(views) - 1), animate=False)
        self._show_detail()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_detail()

    def _show_detail(self) -> None:
        alert = self._views.get(self._selected_id() or "")
        self.query_one("#alert-detail", Static).update(alert_content(alert) if alert else "")

    def _selected_id(self) -> str | None:
        table = self.query_one(DataTable)
        if not table.row_count:
            return None
        return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open_alert()

    def action_open_alert(self) -> None:
        """The key, with the evidence marked; an IP's alert: that IP's activity log."""
        alert = self._views.get(self._selected_id() or "")
        if alert is None:
            self.notify("No alert selected", severity="warning")
        elif alert.key_id:
            from keytui.screens.key_detail import KeyDetailScreen

            self.app.push_screen(KeyDetailScreen(alert.key_id, alert=alert))
        elif alert.ip:
            self.app.show_activity(ip=alert.ip, evidence=alert.evidence)
        else:
            self.notify("This alert is about no key or address: its message says it all.", title="Alerts")

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
