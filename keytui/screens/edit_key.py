"""Edit Key: every field of a key that can change (name, owner, IP allowlist, permissions).

The same rules as `keytui keys edit`: each field is checked as it is typed by the domain's own
parser, the service checks everything again (the org policy, IP Locking, a name taken in the
environment), and adding execute or admin asks for a TOTP code. Saving a production key's
changes asks first, listing them. The key's org-policy flag is judged again with the change,
so the form says at once whether the key now complies.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from keytui.domain import (PERMISSION_ORDER, PRIVILEGED, Environment, InputError, RuleError, parse_ip_allowlist,
                           parse_permissions, validate_name, validate_owner)
from keytui.keymap import EDIT_BINDINGS
from keytui.screens.dialogs import ConfirmDialog
from keytui.screens.wording import change_lines
from keytui.text import visible
from keytui.widgets import tones
from keytui.widgets.toggle_row import ToggleRow

FIELDS = ("name", "owner", "ip_allowlist", "permissions")
CHECKS = {"name": validate_name, "owner": validate_owner, "ip_allowlist": parse_ip_allowlist,
          "permissions": parse_permissions}


class EditKeyScreen(ModalScreen[None]):
    BINDINGS = EDIT_BINDINGS

    def __init__(self, key):
        super().__init__()
        self.key = key
        self.initial = {"name": visible(key.name), "owner": visible(key.owner),
                        "ip_allowlist": visible(", ".join(key.ip_allowlist)),
                        "permissions": {p.value for p in key.permissions}}  # the form as first shown

    def compose(self) -> ComposeResult:
        key = self.key
        with VerticalScroll(classes="dialog", id="edit-form"):
            yield Label(Content.assemble("Edit ", tones.plain(key.name)), classes="dialog-title")
            yield Static(tones.plain(f"{key.key_id} · {key.environment.label} · {key.scope.label} · "
                                     f"{key.status.value}"))
            if key.policy_violation:
                yield Static(tones.toned(f"⚑ {key.policy_violation}", tones.FLAG), id="edit-flag")
            for field, label, hint in (("name", "Key Name", ""), ("owner", "Owner", "user or system"),
                                       ("ip_allowlist", "IP Restrictions", "empty: any address")):
                with Horizontal(classes="form-row"):
                    yield Label(label, classes="form-label")
                    yield Input(self.initial[field], placeholder=hint, id=field, compact=True)
                yield Static("", id=f"{field}-error", classes="field-error")
            yield Label("Permissions", classes="form-label")
            for perm in PERMISSION_ORDER:
                yield ToggleRow(perm.value.capitalize(), perm.capability, value=perm in key.permissions,
                                note="needs TOTP to add" if perm in PRIVILEGED else "", on_word="granted",
                                off_word="-", label_width=10, id=f"perm-{perm.value}", classes="perm-toggle")
            yield Static("", id="permissions-error", classes="field-error")
            with Horizontal(classes="buttons"):
                yield Button("Save (ctrl+s)", id="save", variant="primary")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.show_errors({})
        self.query_one("#name", Input).focus()

    # ------------------------------------------------------------------ reading the form
    def values(self) -> dict:
        """The form as typed: text fields as text, permissions as a set of names."""
        return {"name": self.query_one("#name", Input).value, "owner": self.query_one("#owner", Input).value,
                "ip_allowlist": self.query_one("#ip_allowlist", Input).value,
                "permissions": {p.value for p in PERMISSION_ORDER if self.query_one(f"#perm-{p.value}", ToggleRow).value}}

    def touched(self) -> dict:
        """The fields the operator changed (a field left as shown is not sent, so a stored value
        that would not pass today's checks is kept rather than refused)."""
        return {field: value for field, value in self.values().items() if value != self.initial[field]}

    def errors(self) -> dict[str, str]:
        out = {}
        for field, value in self.touched().items():
            try:
                CHECKS[field](value)
            except InputError as exc:
                out[field] = str(exc)
        return out

    def show_errors(self, errors: dict[str, str]) -> None:
        for field in FIELDS:
            line = self.query_one(f"#{field}-error", Static)
            line.update(tones.plain(errors.get(field, "")))
            line.display = field in errors

    @on(Input.Changed)
    def revalidate(self) -> None:
        self.show_errors(self.errors())

    def on_toggle_row_toggled(self, event: ToggleRow.Toggled) -> None:
        event.stop()
        event.row.value = event.wanted
        self.show_errors(self.errors())

    # ------------------------------------------------------------------ saving
    @on(Input.Submitted)
    @on(Button.Pressed, "#save")
    def action_save(self) -> None:
        errors = self.errors()
        self.show_errors(errors)
        if errors:
            return
        changes = {field: CHECKS[field](value) for field, value in self.touched().items()}
        if not changes:
            self.app.notify("Nothing changed.", title="Edit Key")
            self.dismiss(None)
            return
        if self.key.environment is Environment.PRODUCTION:
            self.app.push_screen(ConfirmDialog(
                Content.assemble("Change production key ", tones.plain(self.key.name), "?"),
                Content("\n").join(change_lines(self.key, changes)), confirm_label="Save"),
                lambda ok: self._save(changes) if ok else None)
        else:
            self._save(changes)

    def _save(self, changes: dict) -> None:
        fields = {field: sorted(p.value for p in value) if field == "permissions" else value
                  for field, value in changes.items()}
        self.app.perform("Edit Key", lambda totp: self.app.vault.update(self.key.key_id, **fields, totp=totp),
                         lambda key: self._saved(changes, key), on_error=self._field_error)

    def _field_error(self, exc: Exception) -> bool:
        """A refusal about one field is shown beside it; the form stays open to fix it."""
        field = {"ip": "ip_allowlist", "permission": "permissions"}.get(getattr(exc, "field", None),
                                                                         getattr(exc, "field", None))
        if isinstance(exc, (InputError, RuleError)) and field in FIELDS:
            line = self.query_one(f"#{field}-error", Static)
            line.update(tones.plain(str(exc)))
            line.display = True
            return True
        return False

    def _saved(self, changes: dict, key) -> None:
        flag = ""
        if self.key.policy_violation and not key.policy_violation:
            flag = " It now meets the org policy."
        elif key.policy_violation:
            flag = f" Still flagged: {key.policy_violation}."
        self.dismiss(None)
        self.app.notify(visible(f"Saved {key.name}: " + "; ".join(str(line) for line in change_lines(self.key, changes))
                                + "." + flag), title="Edit Key", markup=False)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
