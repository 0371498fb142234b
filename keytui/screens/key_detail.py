"""Key detail: every field of one key, its tokens with their validity windows, its audit
history (rotations included) and its latest authentication attempts, with the per-key actions."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from keytui.domain import NotFoundError
from keytui.keymap import KEY_BINDINGS
from keytui.screens.key_actions import KeyActions
from keytui.screens.page import DataChanged
from keytui.widgets.key_table import STATUS_STYLES
from keytui.widgets.nav_table import NavTable

HISTORY_LIMIT = 50
ACTIVITY_LIMIT = 20
LABEL_WIDTH = 16
FIELD_WIDTH = 22  # two label/value pairs fit an 80-column terminal


def _when(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "-"


def _details(details: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in details.items() if v not in (None, [], "", {}))


class KeyDetailScreen(KeyActions, Screen):
    BINDINGS = [
        Binding("escape", "back", "Back", id="detail.back", tooltip="Back to where you came from"),
        *[b for b in KEY_BINDINGS if b.action != "view_details"],
        Binding("a", "activity", "Activity log", id="detail.activity", tooltip="This key's activity log"),
    ]

    def __init__(self, key_id: str):
        super().__init__()
        self.key_id = key_id

    def compose(self) -> ComposeResult:
        yield Header(icon="⚿")
        with VerticalScroll(id="detail"):
            yield Static(id="detail-fields")
            yield self._table("detail-secrets", "Tokens",
                              [("Hint", 14), ("Origin", 12), ("Issued", 16), ("Valid until", 16),
                               ("Ended by", 13), ("Works now", 9)])
            yield self._table("detail-history", "Rotation and audit history",
                              [("When", 16), ("Operator", 10), ("Action", 16), ("Details", 70)])
            yield self._table("detail-activity", "Recent activity",
                              [("When", 16), ("Module", 12), ("Action", 10), ("Status", 8), ("IP", 15),
                               ("Code", 24)])
        yield Footer()

    @staticmethod
    def _table(id: str, title: str, columns) -> NavTable:
        table = NavTable(id=id, cursor_type="row", zebra_stripes=True, classes="detail-table")
        table.border_title = title
        for label, width in columns:
            table.add_column(label, width=width)
        return table

    def selected_key_id(self) -> str | None:
        return self.key_id

    def on_mount(self) -> None:
        self.refresh_data()

    def on_data_changed(self, message: DataChanged) -> None:
        self.refresh_data()

    def refresh_data(self) -> None:
        vault = self.app.vault
        try:
            key = vault.get(self.key_id)
        except NotFoundError as exc:
            self.notify(str(exc), severity="error")
            return
        self.title = f"Key: {key.name}"
        self.query_one("#detail-fields", Static).update(self._fields(key))
        self._fill("#detail-secrets", [
            (s.hint, s.origin, _when(s.created_at), _when(s.valid_until) if s.valid_until else "key expiry",
             s.ended_by or "-", Text("yes", style="green") if s.live else Text("no", style="red"))
            for s in vault.secrets(self.key_id)])
        self._fill("#detail-history", [
            (e["ts"][:16].replace("T", " "), e["operator"], e["action"], _details(e["details"]))
            for e in vault.audit_entries(key_id=self.key_id, limit=HISTORY_LIMIT)])
        self._fill("#detail-activity", [
            (_when(e.ts), e.module, e.action, Text(e.status, style="green" if e.status == "success" else "bold red"),
             e.ip or "-", e.code)
            for e in vault.key_activity(self.key_id, limit=ACTIVITY_LIMIT)])

    def _fill(self, selector: str, rows) -> None:
        table = self.query_one(selector, DataTable)
        table.clear()
        table.add_rows(rows)

    @staticmethod
    def _fields(key) -> Text:
        status = Text(key.status.value, style=STATUS_STYLES[key.status])
        if key.revoked_at:
            status.append(f" since {_when(key.revoked_at)}" + (f" ({key.revoke_reason})" if key.revoke_reason else ""))
        pairs = [
            ("Key ID", key.key_id, "Status", status),
            ("Environment", key.environment.label, "Module Scope", key.scope.label),
            ("Permissions", key.permissions_text, "Owner", key.owner),
            ("Created Date", _when(key.created_at), "Created by", key.created_by),
            ("Expiry Date", _when(key.expires_at) if key.expires_at else "never",
             "Expiry policy", f"{key.expiry_days} days" if key.expiry_days else "fixed date / none"),
            ("Last Used", _when(key.last_used_at), "Token hint", key.hint or "-"),
        ]
        out = Text()
        out.append(f"{'Key Name':<{LABEL_WIDTH}}", style="bold").append(key.name + "\n")
        for label, value, label2, value2 in pairs:
            value = value if isinstance(value, Text) else Text(value)
            value.truncate(FIELD_WIDTH, pad=True)
            out.append(f"{label:<{LABEL_WIDTH}}", style="bold").append(value)
            out.append(f"  {label2:<14}", style="bold").append(value2).append("\n")
        out.append(f"{'IP restrictions':<{LABEL_WIDTH}}", style="bold").append(", ".join(key.ip_allowlist) or "any address")
        if key.policy_violation:
            out.append(f"\n{'Org policy':<{LABEL_WIDTH}}", style="bold").append(f"⚑ {key.policy_violation}",
                                                                              style="bold magenta")
        return out

    def action_back(self) -> None:
        self.dismiss()

    def action_activity(self) -> None:
        self.app.show_activity(self.key_id)
