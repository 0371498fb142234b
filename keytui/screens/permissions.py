"""Permission matrix (spec section 5): what each permission allows, and one key's permissions as toggles.

The service decides every rule: a change goes through the app's ``perform``, which tries it
without a TOTP code and asks for one only when the service answers that MFA is required. So
revoked keys, read-only mode and org policy are refused with the service's own words.
"""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from keytui.domain import PRIVILEGED, PERMISSION_ORDER, NotFoundError, Permission, effective_permissions
from keytui.screens.page import PageScreen
from keytui.widgets.toggle_row import ToggleRow

# Where the platform uses each capability (spec section 5, "Used for") and the permission it takes.
USES = (("Agent\nruns", Permission.EXECUTE), ("Deployment\ntriggers", Permission.EXECUTE),
        ("API\nsimulations", Permission.READ))
PICK_LIMIT = 6


def matrix_table() -> Table:
    """Permissions against capabilities and uses; admin implies the other three."""
    table = Table(expand=False, show_edge=False, pad_edge=False, header_style="bold", box=None, padding=(0, 1, 0, 0))
    table.add_column("\nPermission", style="bold")
    for perm in PERMISSION_ORDER:
        table.add_column(perm.capability.replace(" ", "\n"), justify="center")
    for use, _ in USES:
        table.add_column(use, justify="center")
    table.add_column("\nMFA", justify="center")
    for perm in PERMISSION_ORDER:
        granted = effective_permissions({perm})
        marks = [Text("✓", style="green") if cap in granted else Text("·", style="dim") for cap in PERMISSION_ORDER]
        marks += [Text("✓", style="green") if need in granted else Text("·", style="dim") for _, need in USES]
        mfa = Text("TOTP", style="magenta") if perm in PRIVILEGED else Text("-", style="dim")
        table.add_row(perm.value.capitalize(), *marks, mfa)
    return table


class PermissionsScreen(PageScreen):
    PAGE = "permissions"
    BINDINGS = [Binding("slash", "pick_key", "Pick key", key_display="/"),
                Binding("j,down", "app.focus_next", "Next", show=False),
                Binding("k,up", "app.focus_previous", "Previous", show=False)]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.key = None
        self._registry_seen: str | None = None

    def compose_page(self) -> ComposeResult:
        with VerticalScroll(id="permissions-page", classes="page-body"):
            yield Static("Permission matrix", classes="section-title")
            yield Static(matrix_table(), id="matrix")
            yield Static("Key permissions", classes="section-title")
            with Horizontal(classes="field-row"):
                yield Static("Key ", classes="field-label")
                yield Input(placeholder="key id or name, enter to pick", id="key-search", compact=True)
            yield OptionList(id="key-matches")
            yield Static("No key selected: press / and type a key's name or id.", id="key-summary")
            for perm in PERMISSION_ORDER:
                note = "needs TOTP" if perm in PRIVILEGED else ""
                yield ToggleRow(perm.value.capitalize(), perm.capability, note=note, on_word="granted",
                                off_word="-", label_width=10, id=f"perm-{perm.value}", classes="perm-toggle")
            yield Static("", id="perm-message")

    def on_mount(self) -> None:
        self.query_one("#key-matches", OptionList).display = False

    def refresh_data(self) -> None:
        """Re-read the key; a key newly highlighted in the registry since last time is picked instead."""
        selected = self._registry_selection()
        if selected and selected != self._registry_seen:
            self._registry_seen = selected
            self.pick(selected)
        elif self.key is not None:
            self.pick(self.key.key_id)

    def _registry_selection(self) -> str | None:
        try:
            stack = self.app.get_screen_stack("registry")
        except KeyError:  # the registry has not been shown yet
            return None
        return stack[0].selected_key_id() if stack else None

    # ------------------------------------------------------------------ picking a key
    def action_pick_key(self) -> None:
        self.query_one("#key-search", Input).focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id != "key-search":
            return
        matches = self.query_one("#key-matches", OptionList)
        matches.clear_options()
        text = event.value.strip()
        found = self.app.vault.find(text, limit=PICK_LIMIT) if text else []
        matches.add_options([Option(f"{k.name}  {k.key_id}  {k.environment.value}  {k.status.value}", id=k.key_id)
                             for k in found])
        matches.display = bool(found)
        if found:
            matches.highlighted = 0

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id != "key-search":
            return
        matches = self.query_one("#key-matches", OptionList)
        if matches.option_count and matches.highlighted is not None:
            self.pick(matches.get_option_at_index(matches.highlighted).id)
        elif event.value.strip():
            self.pick(event.value.strip())

    def on_key(self, event) -> None:
        """Up/down in the search box move through the matches, as in a command palette."""
        if not self.query_one("#key-search", Input).has_focus or event.key not in ("up", "down"):
            return
        matches = self.query_one("#key-matches", OptionList)
        if matches.option_count:
            matches.action_cursor_down() if event.key == "down" else matches.action_cursor_up()
            event.stop()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.pick(event.option.id)

    def pick(self, key_id: str) -> None:
        try:
            self.key = self.app.vault.get(key_id)
        except NotFoundError as exc:
            self._message(str(exc), error=True)
            return
        matches = self.query_one("#key-matches", OptionList)
        matches.display = False
        self._show_key()
        if self.query_one("#key-search", Input).has_focus:
            self.query_one(f"#perm-{PERMISSION_ORDER[0].value}", ToggleRow).focus()

    def _show_key(self) -> None:
        summary = self.query_one("#key-summary", Static)
        rows = list(self.query(".perm-toggle").results(ToggleRow))
        if self.key is None:
            for row in rows:
                row.value = False
            return
        k = self.key
        status_style = {"active": "green", "expired": "yellow", "revoked": "red"}[k.status.value]
        summary.update(Text.assemble((k.name, "bold"), f"  {k.key_id}  {k.environment.label}  {k.scope.label}  ",
                                     (k.status.value, status_style)))
        effective = effective_permissions(k.permissions)
        for perm, row in zip(PERMISSION_ORDER, rows):
            row.value = perm in k.permissions
            implied = perm in effective and perm not in k.permissions
            row.note = "implied by admin" if implied else ("needs TOTP" if perm in PRIVILEGED else "")
            row.refresh()

    # ------------------------------------------------------------------ changing permissions
    def on_toggle_row_toggled(self, event: ToggleRow.Toggled) -> None:
        event.stop()
        if self.key is None:
            self._message("Pick a key first: press / and type its name or id.", error=True)
            return
        key = self.key
        perm = Permission(event.row.id.removeprefix("perm-"))
        wanted = set(key.permissions) | {perm} if event.wanted else set(key.permissions) - {perm}
        perms = [p.value for p in PERMISSION_ORDER if p in wanted]
        self.app.perform(f"Permissions of {key.name}",
                         lambda code: self.app.vault.update(key.key_id, permissions=perms, totp=code),
                         self._saved, on_error=self._refused)

    def _saved(self, key) -> None:
        self.key = key
        self._show_key()
        self._message(f"Saved: {key.name} now has {key.permissions_text} (audited).")

    def _refused(self, exc: Exception) -> bool:
        self._message(str(exc), error=True)
        return True

    def _message(self, text: str, *, error: bool = False) -> None:
        self.query_one("#perm-message", Static).update(Text(text, style="bold red" if error else "green"))
