"""Permission matrix (spec section 5): what each permission allows, and one key's permissions as toggles.

The service decides every rule: a change goes through the app's ``perform``, which tries it
without a TOTP code and asks for one only when the service answers that MFA is required. So
revoked keys, read-only mode and org policy are refused with the service's own words.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from keytui.domain import (PRIVILEGED, PERMISSION_ORDER, Environment, NotFoundError, Permission, Status,
                           effective_permissions, format_permissions)
from keytui.keymap import PERMISSIONS_BINDINGS
from keytui.screens.dialogs import ConfirmDialog
from keytui.screens.page import PageScreen
from keytui.text import visible
from keytui.widgets import tones
from keytui.widgets.toggle_row import RowNavigation, ToggleRow

# Where the platform uses each capability (spec section 5, "Used for") and the permission it takes.
USES = (("Agent\nruns", Permission.EXECUTE), ("Deployment\ntriggers", Permission.EXECUTE),
        ("API\nsimulations", Permission.READ))
PICK_LIMIT = 6


def _centre(text: str, width: int) -> str:
    left = (width - len(text)) // 2
    return " " * left + text + " " * (width - len(text) - left)


def matrix_content() -> Content:
    """Permissions against capabilities and uses; admin implies the other three."""
    heads = ([("", "Permission")] + [tuple(p.capability.split(" ", 1)) for p in PERMISSION_ORDER]
             + [tuple(use.split("\n")) for use, _ in USES] + [("", "MFA")])
    widths = [max(map(len, head)) for head in heads]

    def line(cells) -> Content:
        return Content(" ").join(Content.styled(text.ljust(w) if n == 0 else _centre(text, w), style)
                                 for n, ((text, style), w) in enumerate(zip(cells, widths)))

    lines = [line([(head[row], tones.STRONG) for head in heads]) for row in (0, 1)]
    for perm in PERMISSION_ORDER:
        granted = effective_permissions({perm})
        marks = [cap in granted for cap in PERMISSION_ORDER] + [need in granted for _, need in USES]
        lines.append(line([(perm.value.capitalize(), tones.STRONG)]
                          + [("✓", tones.OK) if mark else ("·", tones.MUTED) for mark in marks]
                          + [("TOTP", tones.NOTE) if perm in PRIVILEGED else ("-", tones.MUTED)]))
    return Content("\n").join(lines)


class PermissionsScreen(RowNavigation, PageScreen):
    PAGE = "permissions"
    LOAD_WHAT = "the key's permissions"
    BINDINGS = PERMISSIONS_BINDINGS

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.key = None
        self._registry_seen: str | None = None
        self._matches_for: str | None = None  # the text the listed matches were found for

    def compose_page(self) -> ComposeResult:
        with VerticalScroll(id="permissions-page", classes="page-body"):
            yield Static("Permission matrix", classes="section-title")
            yield Static(matrix_content(), id="matrix")
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
        yield Static("", id="perm-message", classes="message")  # below the scroll: always in sight

    def on_mount(self) -> None:
        self.query_one("#key-matches", OptionList).display = False

    def refresh_data(self) -> None:
        """Re-read the key; a key newly highlighted in the registry since last time is picked instead."""
        selected = self.app.selected_key_id
        if selected and selected != self._registry_seen:
            self._registry_seen = selected
            self.pick(selected)
        elif self.key is not None:
            self.pick(self.key.key_id)

    # ------------------------------------------------------------------ picking a key
    def action_pick_key(self) -> None:
        self.query_one("#key-search", Input).focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id != "key-search":
            return
        text = event.value.strip()
        if not text:
            self._show_matches(text, [])
            return
        vault = self.app.vault
        self.load(lambda: vault.find(text, limit=PICK_LIMIT), lambda found: self._show_matches(text, found),
                  group="find")

    def _show_matches(self, text: str, found: list) -> None:
        matches = self.query_one("#key-matches", OptionList)
        matches.clear_options()
        matches.add_options([Option(tones.plain(f"{k.name}  {k.key_id}  {k.environment.value}  {k.status.value}"),
                                    id=k.key_id) for k in found])
        matches.display = bool(found)
        if found:
            matches.highlighted = 0
        self._matches_for = text

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id != "key-search":
            return
        text = event.value.strip()
        matches = self.query_one("#key-matches", OptionList)
        if text == self._matches_for and matches.option_count and matches.highlighted is not None:
            self.pick(matches.get_option_at_index(matches.highlighted).id)
        elif text:  # typed faster than the matches came: the first match, else an exact key id
            vault = self.app.vault
            self.load(lambda: next(iter(vault.find(text, limit=1)), None) or vault.get(text), self._picked,
                      on_error=self._not_found)

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
        vault = self.app.vault
        self.load(lambda: vault.get(key_id), self._picked, on_error=self._not_found)

    def _not_found(self, exc: Exception) -> bool:
        if isinstance(exc, NotFoundError):
            self._message(str(exc), error=True)
            return True
        return False

    def _picked(self, key) -> None:
        if self.key is None or key.key_id != self.key.key_id:
            self._message("")  # what was said about another key is not about this one
        self.key = key
        self.query_one("#key-matches", OptionList).display = False
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
        summary.update(Content.assemble(tones.plain(k.name).stylize(tones.STRONG),
                                        tones.plain(f"  {k.key_id}  {k.environment.label}  {k.scope.label}  "),
                                        tones.status_word(k.status)))
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

        def save() -> None:
            self.app.perform(f"Permissions of {visible(key.name)}",
                             lambda code: self.app.vault.update(key.key_id, permissions=perms, totp=code),
                             self._saved, on_error=self._refused)

        if key.environment is not Environment.PRODUCTION or key.status is not Status.ACTIVE:
            save()  # (a revoked or expired production key: the service's refusal says why)
            return
        change = f"{key.permissions_text or 'none'} → {format_permissions(perms) or 'none'}"
        self.app.push_screen(ConfirmDialog(
            Content.assemble("Change the permissions of production key ", tones.plain(key.name), "?"),
            Content.assemble(tones.plain(change), "\nServices using this key get ",
                             "more" if event.wanted else "less", " access at once."),
            confirm_label="Change"), lambda ok: save() if ok else self._message("Nothing changed."))

    def _saved(self, key) -> None:
        self.key = key
        self._show_key()
        self._message(f"Saved: {visible(key.name)} now has {key.permissions_text or 'no permission'} (audited).")

    def _refused(self, exc: Exception) -> bool:
        self._message(str(exc), error=True)
        return True

    def _message(self, text: str, *, error: bool = False) -> None:
        message = self.query_one("#perm-message", Static)
        message.update(tones.plain(text))
        message.set_class(error, "-error")
        message.set_class(not error, "-ok")
