"""Key detail: every field of one key, its tokens with their validity windows, its audit
history (rotations included) and its latest authentication attempts, with the per-key actions."""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from keytui.domain import NotFoundError
from keytui.keymap import DETAIL_BINDINGS
from keytui.screens.key_actions import KeyActions
from keytui.screens.loading import Refreshing
from keytui.screens.page import tcss
from keytui.widgets import tones
from keytui.widgets.load_error import LoadError
from keytui.widgets.nav_table import NavTable

HISTORY_LIMIT = 50
ACTIVITY_LIMIT = 20
LABEL_WIDTH = 16
FIELD_WIDTH = 22  # two label/value pairs fit an 80-column terminal


def _when(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "-"


def _details(details: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in details.items() if v not in (None, [], "", {}))


@dataclass(frozen=True)
class KeyDetail:
    """Everything the screen shows about one key, read in one worker."""

    key: object  # KeyView
    secrets: list
    history: list
    activity: list


def fetch_detail(vault, key_id: str) -> KeyDetail:
    return KeyDetail(vault.get(key_id), vault.secrets(key_id), vault.audit_entries(key_id=key_id, limit=HISTORY_LIMIT),
                     vault.key_activity(key_id, limit=ACTIVITY_LIMIT))


def fields_content(key) -> Content:
    """The key's fields in two columns of label and value (values are user text: never markup)."""
    status = tones.status_word(key.status)
    if key.revoked_at:
        status = Content.assemble(status, f" since {_when(key.revoked_at)}"
                                          + (f" ({key.revoke_reason})" if key.revoke_reason else ""))
    pairs = [
        ("Key ID", key.key_id, "Status", status),
        ("Environment", key.environment.label, "Module Scope", key.scope.label),
        ("Permissions", key.permissions_text, "Owner", key.owner),
        ("Created Date", _when(key.created_at), "Created by", key.created_by),
        ("Expiry Date", _when(key.expires_at) if key.expires_at else "never",
         "Expiry policy", f"{key.expiry_days} days" if key.expiry_days else "fixed date / none"),
        ("Last Used", _when(key.last_used_at), "Token hint", key.hint or "-"),
    ]
    lines = [Content.assemble((f"{'Key Name':<{LABEL_WIDTH}}", tones.STRONG), key.name)]
    for label, value, label2, value2 in pairs:
        value = value if isinstance(value, Content) else Content(str(value))
        lines.append(Content.assemble((f"{label:<{LABEL_WIDTH}}", tones.STRONG), value.truncate(FIELD_WIDTH, pad=True),
                                      (f"  {label2:<14}", tones.STRONG), value2))
    lines.append(Content.assemble((f"{'IP restrictions':<{LABEL_WIDTH}}", tones.STRONG),
                                  ", ".join(key.ip_allowlist) or "any address"))
    if key.policy_violation:
        lines.append(Content.assemble((f"{'Org policy':<{LABEL_WIDTH}}", tones.STRONG),
                                      (f"⚑ {key.policy_violation}", tones.FLAG)))
    return Content("\n").join(lines)


class KeyDetailScreen(Refreshing, KeyActions, Screen):
    LOAD_WHAT = "the key"
    CSS_PATH = [tcss(__file__)]
    BINDINGS = DETAIL_BINDINGS

    def __init__(self, key_id: str):
        super().__init__()
        self.key_id = key_id

    def compose(self) -> ComposeResult:
        yield Header(icon="⚿")
        yield LoadError()
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

    def refresh_data(self) -> None:
        vault, key_id = self.app.vault, self.key_id
        self.load(lambda: fetch_detail(vault, key_id), self._show, on_error=self._gone)

    def _gone(self, exc: Exception) -> bool:
        """No such key (a stale id, or a mistyped one): say so and close."""
        if not isinstance(exc, NotFoundError):
            return False
        self.notify(str(exc), severity="error", markup=False)
        self.dismiss()
        return True

    def _show(self, detail: KeyDetail) -> None:
        self.title = f"Key: {detail.key.name}"
        self.query_one("#detail-fields", Static).update(fields_content(detail.key))
        self._fill("#detail-secrets", [
            (tones.plain(s.hint), s.origin, _when(s.created_at),
             _when(s.valid_until) if s.valid_until else "key expiry",
             tones.plain(s.ended_by or "-"), tones.toned("yes", tones.OK) if s.live else tones.toned("no", tones.ERROR))
            for s in detail.secrets])
        self._fill("#detail-history", [
            (e["ts"][:16].replace("T", " "), tones.plain(e["operator"]), e["action"],
             tones.plain(_details(e["details"])))
            for e in detail.history])
        self._fill("#detail-activity", [
            (_when(e.ts), tones.plain(e.module), tones.plain(e.action), tones.outcome_word(e.status),
             tones.plain(e.ip or "-"), tones.plain(e.code))
            for e in detail.activity])

    def _fill(self, selector: str, rows) -> None:
        table = self.query_one(selector, DataTable)
        table.clear()
        table.add_rows(rows)

    def action_back(self) -> None:
        self.dismiss()

    def action_activity(self) -> None:
        self.app.show_activity(self.key_id)
