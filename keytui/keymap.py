"""Every key binding of the console in one place, each with an id, so a user keymap can rebind it.

A user keymap is a TOML file `keymap.toml` in the keytui home: `[keymap]` mapping a binding id
to keys, e.g. `"key.revoke" = "delete"` (several keys: `"table.down" = "j,n"`). Ids are stable;
descriptions are what the footer and help (`?`) show. Screens take their bindings from here.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from textual.binding import Binding

# The seven pages, in tab order; the number keys follow this order.
PAGES: list[tuple[str, str]] = [
    ("overview", "Overview"), ("registry", "Registry"), ("scopes", "Scopes"), ("permissions", "Permissions"),
    ("policies", "Policies"), ("analytics", "Analytics"), ("activity", "Activity"),
]
KEYMAP_FILE = "keymap.toml"


def page_bindings() -> list[Binding]:
    return [Binding(str(n), f"app.show_page('{mode}')", label, show=False, id=f"page.{mode}",
                    tooltip=f"Show the {label} page (closing a key or dialog left open on it)")
            for n, (mode, label) in enumerate(PAGES, start=1)]


PAGE_BINDINGS = page_bindings()
APP_BINDINGS: list[Binding] = [
    *PAGE_BINDINGS,
    Binding("q", "app.quit", "Quit", id="app.quit", tooltip="Leave keytui"),
    Binding("question_mark", "app.help", "Help", key_display="?", id="app.help",
            tooltip="List every key binding"),
    Binding("c", "app.create_key", "Create", id="app.create_key", tooltip="Create a new API key"),
    Binding("E", "app.export_registry", "Export", show=False, id="app.export_registry",
            tooltip="Export the registry as CSV or JSON to a path you choose"),
    Binding("o", "app.apply_org_policy", "Org policy", show=False, id="app.apply_org_policy",
            tooltip="Load an org policy TOML, review its violations, then apply it"),
    Binding("t", "app.toggle_theme", "Theme", show=False, id="app.toggle_theme",
            tooltip="Switch between the dark and the light theme"),
    Binding("ctrl+p", "app.command_palette", "palette", show=False, priority=True, id="app.command_palette",
            tooltip="Command palette: every action, and jump to a key by name or id"),
    Binding("escape", "app.dismiss_notifications", "Dismiss", show=False, priority=True,
            id="app.dismiss_notifications", tooltip="Dismiss the notifications shown (only when one is)"),
]
BACK = Binding("escape", "app.back", "Back", show=False, id="app.back",
               tooltip="Close a dialog or the screen on top, else back to the page shown before")

# Per-key actions: the registry (on the highlighted row) and key detail (on its key).
KEY_BINDINGS: list[Binding] = [
    Binding("enter", "view_details", "Details", id="key.details", tooltip="Open the selected key"),
    Binding("r", "rotate_key", "Rotate", id="key.rotate",
            tooltip="Issue a new token; the old one keeps working for a grace period"),
    Binding("x", "revoke_key", "Revoke", id="key.revoke", tooltip="Revoke the key now and for good"),
    Binding("R", "regenerate_key", "Regenerate", show=False, id="key.regenerate",
            tooltip="Issue a new token and end every old one at once (suspected leak)"),
    Binding("y", "copy_token", "Copy token", show=False, id="key.copy",
            tooltip="Copy the current token to the clipboard"),
    Binding("ctrl+e", "edit_key", "Edit", id="key.edit",
            tooltip="Edit the name, owner, IP allowlist or permissions (adding execute/admin needs TOTP)"),
]

# Table navigation in the k9s/lazygit way.
TABLE_BINDINGS: list[Binding] = [
    Binding("j", "cursor_down", "Down", show=False, id="table.down", tooltip="Next row"),
    Binding("k", "cursor_up", "Up", show=False, id="table.up", tooltip="Previous row"),
    Binding("g", "scroll_top", "Top", show=False, id="table.top", tooltip="First row"),
    Binding("G", "scroll_bottom", "Bottom", show=False, id="table.bottom", tooltip="Last row"),
]
# Forms of toggles (Permissions, Policies): j/k move between the toggles (never into a text field:
# tab reaches those); space/enter toggles one.
FORM_BINDINGS: list[Binding] = [
    Binding("j,down", "next_row", "Next", show=False, id="form.next", tooltip="Next setting (tab: next field)"),
    Binding("k,up", "previous_row", "Previous", show=False, id="form.previous",
            tooltip="Previous setting (shift+tab: previous field)"),
]
TOGGLE = Binding("space,enter", "toggle", "Toggle", id="form.toggle", tooltip="Switch the focused setting")

REGISTRY_BINDINGS: list[Binding] = [
    Binding("slash", "filter", "Filter", key_display="/", id="registry.filter",
            tooltip="Filter by name, key id, owner or scope as you type"),
    Binding("f", "next_status", "Status", id="registry.status",
            tooltip="Cycle All / Active / Expiring soon / Expired / Revoked"),
    Binding("e", "next_environment", "Env", show=False, id="registry.environment",
            tooltip="Cycle All / Development / Sandbox / Staging / Production"),
    Binding("s", "next_sort", "Sort", show=False, id="registry.sort", tooltip="Sort by the next column in sight"),
    Binding("S", "reverse_sort", "Reverse", show=False, id="registry.reverse", tooltip="Reverse the sort order"),
    Binding("escape", "leave_filter", "Back", show=False, id="registry.back",
            tooltip="Leave the filter box; then clear every filter; then back to the page shown before"),
]
OVERVIEW_BINDINGS = [Binding("A", "app.show_alerts", "Alerts", id="overview.alerts",
                             tooltip="Review and acknowledge the open alerts")]
SCOPES_BINDINGS = [
    Binding("left,h", "move(0, -1)", "Left", show=False, id="scopes.left", tooltip="Card to the left"),
    Binding("right,l", "move(0, 1)", "Right", show=False, id="scopes.right", tooltip="Card to the right"),
    Binding("up,k", "move(-1, 0)", "Up", show=False, id="scopes.up", tooltip="Card above"),
    Binding("down,j", "move(1, 0)", "Down", show=False, id="scopes.down", tooltip="Card below"),
    Binding("enter", "open_scope", "Keys of scope", id="scopes.open",
            tooltip="Open the registry filtered to this scope"),
]
PERMISSIONS_BINDINGS = [
    Binding("slash", "pick_key", "Pick key", key_display="/", id="permissions.pick",
            tooltip="Type a key's name or id to show its permissions"),
    *FORM_BINDINGS,
]
POLICIES_BINDINGS = [
    Binding("o", "apply_org_policy", "Apply Org Policy", id="policies.apply_org_policy",
            tooltip="Load an org policy TOML, review its violations, then apply it"),
    *FORM_BINDINGS,
]
ANALYTICS_BINDINGS = [
    Binding("d", "range('24h')", "24 h", id="analytics.24h", tooltip="Figures of the last 24 hours"),
    Binding("w", "range('7d')", "7 d", id="analytics.7d", tooltip="Figures of the last 7 days"),
    Binding("m", "range('30d')", "30 d", id="analytics.30d", tooltip="Figures of the last 30 days"),
    Binding("j", "cursor('down')", "Down", show=False, id="table.down", tooltip="Next row"),
    Binding("k", "cursor('up')", "Up", show=False, id="table.up", tooltip="Previous row"),
    Binding("enter", "open_activity", "Activity of key", id="analytics.activity",
            tooltip="The activity log of the highlighted key"),
]
ACTIVITY_BINDINGS = [
    Binding("space,p", "toggle_follow", "Follow/Pause", id="activity.follow",
            tooltip="Follow new events as they arrive, or hold the view still"),
    Binding("slash", "edit_filters", "Filter", key_display="/", id="activity.filter",
            tooltip="Filter by key id, module, status or IP address (enter applies)"),
    Binding("g", "newest", "Newest", show=False, id="activity.newest", tooltip="Jump to the newest events"),
    Binding("G", "oldest", "Oldest", show=False, id="activity.oldest", tooltip="Jump to the oldest events"),
    Binding("escape", "leave_filters", "Back to log", show=False, id="activity.back",
            tooltip="Leave the filter boxes for the log"),
]
DETAIL_BINDINGS = [
    Binding("escape", "back", "Back", id="detail.back", tooltip="Back to where you came from"),
    *[b for b in KEY_BINDINGS if b.action != "view_details"],
    Binding("a", "activity", "Activity", id="detail.activity", tooltip="This key's activity log"),
    Binding("e", "end_grace", "End grace", show=False, id="detail.end_grace",
            tooltip="During a rotation: stop the old token now (asks first if a caller still presents it)"),
]
ALERTS_BINDINGS = [
    Binding("enter", "open_alert", "Open", id="alerts.open",
            tooltip="Its key with the evidence marked (an IP's alert: the activity log of that IP)"),
    Binding("a", "acknowledge", "Acknowledge", id="alerts.ack", tooltip="Mark the selected alert as handled"),
    Binding("A", "toggle_all", "Show handled", id="alerts.all", tooltip="Also list acknowledged alerts"),
    Binding("escape", "dismiss", "Close", id="alerts.close", tooltip="Back to the page"),
]
HELP_BINDINGS = [Binding("escape,q,question_mark", "close", "Close", id="help.close", tooltip="Close the help")]
CREATE_BINDINGS = [
    Binding("escape", "cancel", "Cancel", id="create.cancel", tooltip="Close the form; nothing is created"),
    Binding("ctrl+s", "submit", "Create", id="create.submit", tooltip="Create the key"),
]
EDIT_BINDINGS = [
    Binding("escape", "cancel", "Cancel", id="edit.cancel", tooltip="Close the form; nothing is changed"),
    Binding("ctrl+s", "save", "Save", id="edit.save", tooltip="Save the changes (a production key's: after a look)"),
]
DIALOG_BINDINGS = [Binding("escape", "cancel", "Cancel", id="dialog.cancel",
                           tooltip="Close without changing anything")]
EXPORT_BINDINGS = [Binding("escape", "cancel", "Cancel", id="export.cancel", tooltip="Close; nothing is written")]
REVEAL_BINDINGS = [
    Binding("y", "copy", "Copy token", id="reveal.copy", tooltip="Copy the token to the clipboard"),
    Binding("escape", "close", "Close", id="reveal.close", tooltip="Close; the token is not shown again"),
]
TOTP_BINDINGS = [Binding("escape", "cancel", "Cancel", id="totp.cancel", tooltip="Cancel; nothing changes")]

ALL_BINDINGS: list[Binding] = [
    *APP_BINDINGS, BACK, *KEY_BINDINGS, *TABLE_BINDINGS, *FORM_BINDINGS, TOGGLE, *REGISTRY_BINDINGS,
    *OVERVIEW_BINDINGS, *SCOPES_BINDINGS, *PERMISSIONS_BINDINGS, *POLICIES_BINDINGS, *ANALYTICS_BINDINGS,
    *ACTIVITY_BINDINGS, *DETAIL_BINDINGS, *ALERTS_BINDINGS, *HELP_BINDINGS, *CREATE_BINDINGS, *EDIT_BINDINGS,
    *DIALOG_BINDINGS,
    *EXPORT_BINDINGS, *REVEAL_BINDINGS, *TOTP_BINDINGS,
]

# The service call each action leads to: the console hides (and explains) what the role cannot do.
ACTION_CALLS = {"create_key": "create", "apply_org_policy": "apply_org_policy", "rotate_key": "rotate",
                "revoke_key": "revoke", "regenerate_key": "regenerate", "copy_token": "copy_token",
                "acknowledge": "acknowledge_alert", "end_grace": "end_grace", "edit_key": "update"}


def binding_ids() -> set[str]:
    return {b.id for b in ALL_BINDINGS if b.id}


def load_user_keymap(home: Path | None) -> dict[str, str]:
    """The user's rebindings (binding id -> keys), or {} when there is no keymap file; a file that
    is not TOML raises ValueError (tomllib.TOMLDecodeError), which the caller reports."""
    if home is None:
        return {}
    path = Path(home) / KEYMAP_FILE
    if not path.exists():
        return {}
    try:
        data = tomllib.loads(path.read_text())
    except RecursionError:
        raise ValueError(f"{path}: nested too deeply to be a keymap") from None
    return {str(k): v if isinstance(v, str) else ",".join(map(str, v)) for k, v in data.get("keymap", {}).items()}


def unknown_ids(keymap: dict[str, str]) -> list[str]:
    """Ids in a user keymap that no binding has (a typo, or a binding that was renamed)."""
    return sorted(set(keymap) - binding_ids())
