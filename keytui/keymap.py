"""Every key binding of the console in one place, each with an id, so a user keymap can rebind it.

A user keymap is a TOML file `keymap.toml` in the keytui home: `[keymap]` mapping a binding id
to keys, e.g. `"key.revoke" = "delete"`. Ids are stable; descriptions are what the footer shows.
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
    return [Binding(str(n), f"app.switch_mode('{mode}')", label, show=False, id=f"page.{mode}",
                    tooltip=f"Show the {label} page")
            for n, (mode, label) in enumerate(PAGES, start=1)]


APP_BINDINGS: list[Binding] = [
    *page_bindings(),
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
]

# Per-key actions: the registry (on the highlighted row) and key detail (on its key).
KEY_BINDINGS: list[Binding] = [
    Binding("enter", "view_details", "Details", id="key.details", tooltip="Open the selected key"),
    Binding("r", "rotate_key", "Rotate", id="key.rotate",
            tooltip="Issue a new token; the old one keeps working for a grace period"),
    Binding("x", "revoke_key", "Revoke", id="key.revoke", tooltip="Revoke the key now and for good"),
    Binding("R", "regenerate_key", "Regenerate", id="key.regenerate",
            tooltip="Issue a new token and end every old one at once (suspected leak)"),
    Binding("y", "copy_token", "Copy token", id="key.copy", tooltip="Copy the current token to the clipboard"),
]

# Table navigation in the k9s/lazygit way.
TABLE_BINDINGS: list[Binding] = [
    Binding("j", "cursor_down", "Down", show=False, id="table.down", tooltip="Next row"),
    Binding("k", "cursor_up", "Up", show=False, id="table.up", tooltip="Previous row"),
    Binding("g", "scroll_top", "Top", show=False, id="table.top", tooltip="First row"),
    Binding("G", "scroll_bottom", "Bottom", show=False, id="table.bottom", tooltip="Last row"),
]

REGISTRY_BINDINGS: list[Binding] = [
    Binding("slash", "filter", "Filter", key_display="/", id="registry.filter",
            tooltip="Filter by name, key id, owner or scope as you type"),
    Binding("e", "next_environment", "Env", id="registry.environment",
            tooltip="Cycle All / Development / Sandbox / Staging / Production"),
    Binding("s", "next_sort", "Sort", id="registry.sort", tooltip="Sort by the next column"),
    Binding("S", "reverse_sort", "Reverse", show=False, id="registry.reverse", tooltip="Reverse the sort order"),
]


def load_user_keymap(home: Path | None) -> dict[str, str]:
    """The user's rebindings, or {} when there is no keymap file; a broken file is reported by the caller."""
    if home is None:
        return {}
    path = Path(home) / KEYMAP_FILE
    if not path.exists():
        return {}
    data = tomllib.loads(path.read_text())
    return {str(k): str(v) for k, v in data.get("keymap", {}).items()}
