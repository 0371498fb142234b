"""Create Key: every field of the spec's creation form, checked as it is typed.

Each field is parsed by the same domain function the service uses, so the error beside a
field is the error the service would give; the service still checks everything again (and
the org policy, and MFA) when the form is submitted. Execute/admin asks for the TOTP code in
the same flow; the new token is then shown once.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

from keytui.domain import (EXPIRY_CHOICES, PERMISSION_ORDER, Environment, Expiry, InputError, RuleError, Scope,
                           parse_environment, parse_ip_allowlist, parse_permissions, require_expiry, validate_name)
from keytui.keymap import CREATE_BINDINGS
from keytui.widgets.toggle_row import ToggleRow

NEVER = "never"
DEFAULT_EXPIRY_DAYS = 60
FIELDS = ("name", "scope", "permission", "expiry", "ip", "environment", "totp")


class CreateKeyScreen(ModalScreen[None]):
    BINDINGS = CREATE_BINDINGS

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog", id="create-form"):
            yield Label("Create New API Key", classes="dialog-title")
            with Horizontal(classes="form-row"):
                yield Label("Key Name", classes="form-label")
                yield Input(placeholder="e.g. Agents Pipeline Executor", id="name", compact=True)
            yield Static("", id="name-error", classes="field-error")
            with Horizontal(classes="form-row"):
                yield Label("Module Scope", classes="form-label")
                yield Select([(s.label, s.value) for s in Scope], prompt="Select module", id="scope", compact=True)
            yield Static("", id="scope-error", classes="field-error")
            with Horizontal(classes="form-row"):
                yield Label("Permissions", classes="form-label")
                for perm in PERMISSION_ORDER:
                    yield ToggleRow(perm.value.capitalize(), label_width=0, on_word="", off_word="",
                                    id=f"perm-{perm.value}", classes="perm-box")
            yield Static("", id="permission-error", classes="field-error")
            with Horizontal(classes="form-row"):
                yield Label("Environment", classes="form-label")
                yield Select([(e.label, e.value) for e in Environment], prompt="Select environment",
                             id="environment", compact=True)
            yield Static("", id="environment-error", classes="field-error")
            with Horizontal(classes="form-row"):
                yield Label("Expiry Policy", classes="form-label")
                yield Select([(f"{d} days", str(d)) for d in EXPIRY_CHOICES] + [("Never (not production)", NEVER)],
                             value=self.preset_expiry, allow_blank=False, id="expiry", compact=True)
            yield Static("", id="expiry-error", classes="field-error")
            with Horizontal(classes="form-row"):
                yield Label("IP Restrictions", classes="form-label")
                yield Input(placeholder="optional: 10.0.0.0/8, 203.0.113.7", id="ip", compact=True)
            yield Static("", id="ip-error", classes="field-error")
            yield Static("", id="totp-error", classes="field-error")
            with Horizontal(classes="buttons"):
                yield Button("Create (ctrl+s)", id="create", variant="primary")
                yield Button("Cancel", id="cancel")

    def __init__(self):
        super().__init__()
        self.touched: set[str] = set()  # fields the operator has changed: an emptied field is an error
        self.preset_expiry = str(DEFAULT_EXPIRY_DAYS)

    def on_mount(self) -> None:
        self.show_errors({})
        self.query_one("#name", Input).focus()

    # ------------------------------------------------------------------ reading the form
    def _perms(self) -> list[str]:
        return [p.value for p in PERMISSION_ORDER if self.query_one(f"#perm-{p.value}", ToggleRow).value]

    def _select(self, id: str) -> str | None:
        select = self.query_one(f"#{id}", Select)
        return None if select.is_blank() else str(select.value)

    def errors(self, *, complete: bool) -> dict[str, str]:
        """Field -> message. With complete=False, empty fields not yet touched are not errors."""
        out: dict[str, str] = {}
        name = self.query_one("#name", Input).value
        if name or complete or "name" in self.touched:
            try:
                validate_name(name)
            except InputError as exc:
                out["name"] = str(exc)
        if complete and not self._select("scope"):
            out["scope"] = "scope: choose the module that uses the key"
        perms = self._perms()
        if perms or complete or "permission" in self.touched:
            try:
                parse_permissions(perms)
            except InputError as exc:
                out["permission"] = str(exc)
        env = self._select("environment")
        if complete and not env:
            out["environment"] = "environment: choose development, sandbox, staging or production"
        if env and self._select("expiry") == NEVER:
            try:
                require_expiry(parse_environment(env), Expiry(never=True))
            except InputError as exc:
                out["expiry"] = str(exc)
        try:
            parse_ip_allowlist(self.query_one("#ip", Input).value)
        except InputError as exc:
            out["ip"] = str(exc)
        return out

    def show_errors(self, errors: dict[str, str]) -> None:
        for field in FIELDS:
            self._say(field, errors.get(field, ""))

    def _say(self, field: str, message: str) -> None:
        """An error line appears under its field only while there is something to say."""
        line = self.query_one(f"#{field}-error", Static)
        line.update(Content(message))
        line.display = bool(message)

    @on(Select.Changed, "#environment")
    def preselect_expiry(self, event: Select.Changed) -> None:
        """The active org policy's default expiry for the environment, unless the operator chose one."""
        if event.select.is_blank() or "expiry" in self.touched:
            return
        days = self.app.vault.default_expiry_days(Environment(str(event.value)))
        if days:
            self.preset_expiry = str(days)
            self.query_one("#expiry", Select).value = self.preset_expiry

    @on(Input.Changed)
    @on(Select.Changed)
    def revalidate(self, event) -> None:
        control = event.control.id or ""
        if not (control == "expiry" and event.value == self.preset_expiry):  # set by the form, not the operator
            self.touched.add(control)
        self.show_errors(self.errors(complete=False))

    def on_toggle_row_toggled(self, event: ToggleRow.Toggled) -> None:
        """A permission box: the same checkbox as the Permissions page's, set here at once."""
        event.stop()
        event.row.value = event.wanted
        self.touched.add("permission")
        self.show_errors(self.errors(complete=False))

    # ------------------------------------------------------------------ submitting
    @on(Input.Submitted)
    @on(Button.Pressed, "#create")
    def action_submit(self) -> None:
        errors = self.errors(complete=True)
        self.show_errors(errors)
        if errors:
            return
        expiry = self._select("expiry")
        kwargs = dict(name=self.query_one("#name", Input).value, scope=self._select("scope"),
                      permissions=self._perms(), environment=self._select("environment"),
                      expires_in_days=None if expiry == NEVER else int(expiry), no_expiry=expiry == NEVER,
                      ip_allowlist=self.query_one("#ip", Input).value)
        self.app.perform("Create Key", lambda totp: self.app.vault.create(**kwargs, totp=totp), self._created,
                         on_error=self._field_error)

    def _field_error(self, exc: Exception) -> bool:
        """A refusal about one field is shown beside it (the form stays open to fix it)."""
        field = getattr(exc, "field", None)
        if isinstance(exc, (InputError, RuleError)) and field in FIELDS:
            self._say(field, str(exc))
            return True
        return False

    def _created(self, issued) -> None:
        from keytui.screens.token_reveal import TokenRevealScreen

        self.dismiss(None)
        self.app.push_screen(TokenRevealScreen(issued.key, issued.token, "created"))

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
