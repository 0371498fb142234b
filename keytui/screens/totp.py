"""Asking the operator for a TOTP code, in the middle of whatever flow needs one.

The prompt only collects six digits: the service checks the code (single use, rate limited),
so a wrong code comes back as a RuleError and the caller asks again. An operator without an
authenticator is offered enrolment here, because being sent to the CLI mid-flow loses the form.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from keytui.domain import RuleError
from keytui.keymap import TOTP_BINDINGS
from keytui.widgets import tones


class TotpPrompt(ModalScreen[str | None]):
    """Dismisses with the code typed, or None when cancelled."""

    BINDINGS = TOTP_BINDINGS

    def __init__(self, reason: str, *, enrolled: bool, error: str | None = None):
        super().__init__()
        self.reason = reason
        self.enrolled = enrolled
        self.error = error

    def compose(self) -> ComposeResult:
        with Vertical(id="totp-box", classes="dialog"):
            yield Label("MFA required", classes="dialog-title")
            yield Static(tones.plain(self.reason), id="totp-reason")
            yield Static("", id="totp-enrolment")
            yield Input(placeholder="6-digit code", max_length=6, restrict=r"[0-9]*", id="totp-code",
                        disabled=not self.enrolled)
            yield Static(tones.plain(self.error or ""), id="totp-error", classes="field-error")
            yield Button("Enrol an authenticator now", id="totp-enrol", variant="warning")

    def on_mount(self) -> None:
        enrol = self.query_one("#totp-enrol", Button)
        enrol.display = not self.enrolled
        if self.enrolled:
            self.query_one("#totp-code", Input).focus()
        else:
            self.query_one("#totp-enrolment", Static).update(
                "You have no authenticator enrolled: enrol one to continue.")
            enrol.focus()

    @on(Button.Pressed, "#totp-enrol")
    def enrol(self) -> None:
        """Enrol here, unless the operator enrolled elsewhere (`keytui mfa enroll`) since the prompt
        opened: then the code field opens for the authenticator they have."""
        if self.app.vault.has_mfa():
            self._open_code_field("You have an authenticator enrolled now: type its current code.")
            return
        try:
            secret, uri = self.app.vault.enroll_mfa()
        except RuleError as exc:
            self.query_one("#totp-error", Static).update(tones.plain(exc))
            return
        self._open_code_field("Add this to your authenticator app now; it is shown only once.",
                              f"Secret: {secret}", f"URI: {uri}")

    def _open_code_field(self, *lines: str) -> None:
        self.enrolled = True
        self.query_one("#totp-enrol", Button).display = False
        self.query_one("#totp-enrolment", Static).update(Content("\n").join(tones.plain(line) for line in lines))
        code = self.query_one("#totp-code", Input)
        code.disabled = False
        code.focus()

    @on(Input.Submitted, "#totp-code")
    def submit(self, event: Input.Submitted) -> None:
        code = event.value.strip()
        if len(code) != 6:
            self.query_one("#totp-error", Static).update("totp: give the 6 digits your authenticator shows")
            return
        self.dismiss(code)

    def action_cancel(self) -> None:
        self.dismiss(None)
