"""Key detail: every field of one key, its tokens with their validity windows, its audit
history (rotations included) and its latest authentication attempts, with the per-key actions.
Opened from an alert, it starts with the alert and its evidence events marked, so rotating or
revoking is one key away from the reason to."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import Screen
from textual.widgets import DataTable, Header, Static

from keytui.domain import NotFoundError
from keytui.keymap import DETAIL_BINDINGS
from keytui.screens.key_actions import KeyActions, end_grace
from keytui.screens.loading import Refreshing
from keytui.screens import wording
from keytui.text import visible
from keytui.widgets import tones, when
from keytui.widgets.footer import KeyFooter
from keytui.widgets.load_error import LoadError
from keytui.widgets.nav_table import NavTable

HISTORY_LIMIT = 50
ACTIVITY_LIMIT = 20
EVIDENCE_ROWS = 200  # the key's events from the first to the last piece of evidence
LABEL_WIDTH = 16
FIELD_WIDTH = 22  # two label/value pairs fit an 80-column terminal


@dataclass(frozen=True)
class KeyDetail:
    """Everything the screen shows about one key, read in one worker."""

    key: object  # KeyView
    secrets: list
    history: list
    activity: list
    now: datetime
    evidence: list  # the key's events around an alert's evidence (empty without an alert)
    rotation: object = None  # RotationTraffic during a grace period, else None


def fetch_detail(vault, key_id: str, evidence: tuple[int, ...] = ()) -> KeyDetail:
    around = (vault.events(key_id=key_id, after_id=min(evidence) - 1, before_id=max(evidence) + 1,
                           limit=EVIDENCE_ROWS) if evidence else [])
    return KeyDetail(vault.get(key_id), vault.secrets(key_id), vault.audit_entries(key_id=key_id, limit=HISTORY_LIMIT),
                     vault.key_activity(key_id, limit=ACTIVITY_LIMIT), vault.now(), around,
                     vault.rotation_traffic(key_id))


def rotation_rows(traffic) -> list[tuple]:
    """Who presents which token since the rotation: the old token's callers first."""
    return [(tones.toned(which, tones.WARN if which == "old" else tones.OK), tones.plain(c.ip or "-"),
             tones.plain(c.module), str(c.calls), str(c.failed), when.moment(c.last_seen))
            for which, callers in (("old", traffic.old_callers), ("new", traffic.new_callers)) for c in callers]


def rotation_title(traffic) -> str:
    quiet = ("old token quiet: e ends the grace period" if traffic.quiet
             else f"old token last presented {when.moment(traffic.old_last_used)}")
    return f"Rotation in progress: old token works until {when.moment(traffic.grace_ends)}; {quiet}"


def fields_content(key, now: datetime) -> Content:
    """The key's fields in two columns of label and value (values are user text: never markup)."""
    status = tones.status_word(key.status)
    if key.revoked_at:
        status = Content.assemble(status, f" since {when.moment(key.revoked_at)}",
                                  tones.plain(f" ({key.revoke_reason})") if key.revoke_reason else "")
    pairs = [
        ("Key ID", key.key_id, "Status", status),
        ("Environment", key.environment.label, "Module Scope", key.scope.label),
        ("Permissions", key.permissions_text, "Owner", key.owner),
        ("Created Date", when.moment(key.created_at), "Created by", key.created_by),
        ("Expiry policy", f"{key.expiry_days} days" if key.expiry_days else "fixed date / none",
         "Token hint", key.hint or "-"),
    ]
    lines = [Content.assemble((f"{'Key Name':<{LABEL_WIDTH}}", tones.STRONG), tones.plain(key.name))]
    for label, value, label2, value2 in pairs:
        value = value if isinstance(value, Content) else tones.plain(value)
        value2 = value2 if isinstance(value2, Content) else tones.plain(value2)
        lines.append(Content.assemble((f"{label:<{LABEL_WIDTH}}", tones.STRONG), value.truncate(FIELD_WIDTH, pad=True),
                                      (f"  {label2:<14}", tones.STRONG), value2))
    for label, value in (("Expiry Date", when.with_age(key.expires_at, now)),
                         ("Last Used", when.with_age(key.last_used_at, now) + " (last successful verification)"),
                         ("IP restrictions", ", ".join(key.ip_allowlist) or "any address")):
        lines.append(Content.assemble((f"{label:<{LABEL_WIDTH}}", tones.STRONG), tones.plain(value)))
    if key.policy_violation:
        lines.append(Content.assemble((f"{'Org policy':<{LABEL_WIDTH}}", tones.STRONG),
                                      tones.toned(f"⚑ {key.policy_violation}", tones.FLAG),
                                      (" (ctrl+e edits; r rotates with a new expiry)", tones.MUTED)))
    if key.canary:
        lines.append(Content.assemble((f"{'Canary':<{LABEL_WIDTH}}", tones.STRONG),
                                      ("◆ never authorises; callers get NOT_FOUND and every use raises a high alert",
                                       tones.FLAG)))
    return Content("\n").join(lines)


def event_row(event, evidence: frozenset = frozenset()) -> tuple:
    """An event as detail-table cells; an alert's evidence marked in every cell."""
    cells = (when.moment_s(event.ts), tones.plain(event.module), tones.plain(event.action),
             tones.outcome_word(event.status), tones.plain(event.ip or "-"), tones.plain(event.code))
    if event.id not in evidence:
        return cells
    return tuple((cell if isinstance(cell, Content) else Content(cell)).stylize(tones.EVIDENCE) for cell in cells)


class KeyDetailScreen(Refreshing, KeyActions, Screen):
    LOAD_WHAT = "the key"
    BINDINGS = DETAIL_BINDINGS

    def __init__(self, key_id: str, alert=None):
        """With `alert` (an AlertView), the alert comes first, with its evidence events marked."""
        super().__init__()
        self.key_id = key_id
        self.rotation = None
        self.alert = alert
        self.read_ahead()  # made where it is pushed, in the app: the read overlaps building the page

    def compose(self) -> ComposeResult:
        yield Header(icon="⚿")
        yield LoadError()
        with VerticalScroll(id="detail"):
            if self.alert is not None:
                yield Static(wording.alert_content(self.alert), id="detail-alert")
                yield self._table("detail-evidence", "Evidence (marked) among the key's events",
                                  [("When", 19), ("Module", 12), ("Action", 10), ("Status", 8), ("IP", 15),
                                   ("Code", 24)])
            yield Static(id="detail-fields")
            yield self._table("detail-rotation", "Rotation in progress",
                              [("Token", 6), ("IP", 15), ("Module", 12), ("Calls", 6), ("Failed", 6),
                               ("Last seen", 16)])
            yield self._table("detail-secrets", "Tokens",
                              [("Hint", 14), ("Origin", 12), ("Issued", 16), ("Valid until", 16),
                               ("Ended by", 13), ("Works now", 9)])
            yield self._table("detail-history", "Rotation and audit history",
                              [("When", 16), ("Operator", 10), ("Action", 16), ("Details", 70)])
            yield self._table("detail-activity", "Recent activity",
                              [("When", 19), ("Module", 12), ("Action", 10), ("Status", 8), ("IP", 15),
                               ("Code", 24)])
        yield KeyFooter(compact=True)

    @staticmethod
    def _table(id: str, title: str, columns) -> NavTable:
        table = NavTable(id=id, cursor_type="row", zebra_stripes=True, classes="detail-table")
        table.border_title = title
        for label, width in columns:
            table.add_column(label, width=width)
        return table

    def selected_key_id(self) -> str | None:
        return self.key_id

    def read_ahead_key(self) -> tuple:
        return self.key_id, self.alert is not None

    def refresh_data(self) -> None:
        vault, key_id = self.app.vault, self.key_id
        evidence = tuple(self.alert.evidence) if self.alert is not None else ()
        self.load(lambda: fetch_detail(vault, key_id, evidence), self._show, on_error=self._gone)

    def _gone(self, exc: Exception) -> bool:
        """No such key (a stale id, or a mistyped one): say so and close."""
        if not isinstance(exc, NotFoundError):
            return False
        self.notify(visible(exc), severity="error", markup=False)
        self.dismiss()
        return True

    def _show(self, detail: KeyDetail) -> None:
        self.title = visible(f"Key: {detail.key.name}")
        self.query_one("#detail-fields", Static).update(fields_content(detail.key, detail.now))
        self.rotation = detail.rotation
        self.refresh_bindings()
        rotation = self.query_one("#detail-rotation", DataTable)
        rotation.display = detail.rotation is not None
        if detail.rotation is not None:
            rotation.border_title = rotation_title(detail.rotation)
            self._fill("#detail-rotation", rotation_rows(detail.rotation) or [("-", "no caller since the rotation",
                                                                               "", "", "", "")])
        self._fill("#detail-secrets", [
            (tones.plain(s.hint), tones.plain(s.origin), when.moment(s.created_at),
             when.moment(s.valid_until, "key expiry"), tones.plain(s.ended_by or "-"),
             tones.toned("yes", tones.OK) if s.live else tones.toned("no", tones.ERROR))
            for s in detail.secrets])
        self._fill("#detail-history", [
            (tones.plain(wording.words(e["ts"])), tones.plain(e["operator"]), tones.plain(e["action"]),
             tones.plain(wording.describe_details(e["details"])))
            for e in detail.history])
        self._fill("#detail-activity", [event_row(e) for e in detail.activity])
        if self.alert is not None:
            evidence = frozenset(self.alert.evidence)
            self._fill("#detail-evidence", [event_row(e, evidence) for e in detail.evidence])

    def _fill(self, selector: str, rows) -> None:
        table = self.query_one(selector, DataTable)
        table.clear()
        table.add_rows(rows)

    def action_back(self) -> None:
        self.dismiss()

    def action_activity(self) -> None:
        self.app.show_activity(self.key_id)

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        """End grace works only while a rotation's grace period runs (else shown dimmed); what the
        role cannot do is hidden."""
        if not self.app.may(action):
            return False
        if action == "end_grace" and self.rotation is None:
            return None
        return True

    def action_end_grace(self) -> None:
        end_grace(self.app, self.key_id, self.rotation)
