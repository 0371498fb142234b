"""Rotate Key: the grace period, and what it will mean, before anything changes.

The dialog says, as the hours are typed, when the old token stops working ("the old token
works until 2026-11-28 09:00, in 24 h"): over SSH a burst of keys can turn `9999`, four
backspaces and `2` into `9`, and a wrong value must be seen before enter, not after. A new
expiry policy (30/60/90 days) may be chosen, which is how a key the org policy flags for its
lifetime is rotated back into line; the service judges the rotation and a refusal is shown
here, the dialog staying open to change it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

from keytui.domain import DEFAULT_GRACE_HOURS, EXPIRY_CHOICES, InputError, RuleError, parse_grace_hours
from keytui.keymap import DIALOG_BINDINGS
from keytui.widgets import tones, when

KEEP = "keep"


def old_token_end(key, now: datetime, grace_text: str) -> Content:
    """When the old token stops, in words, for the hours typed (or what is wrong with them)."""
    try:
        hours = parse_grace_hours(grace_text)
    except InputError as exc:
        return tones.toned(str(exc), tones.ERROR)
    if hours == 0:
        return tones.toned("The old token stops working at once.", tones.WARN)
    until = now + timedelta(hours=hours)
    capped = key.expires_at is not None and until > key.expires_at
    until = key.expires_at if capped else until
    why = " (the key's expiry)" if capped else ""
    return Content.assemble("The old token works until ", (when.moment(until), tones.STRONG),
                            f" ({when.age(until, now)}){why}.")


def new_expiry(key, now: datetime, choice: str) -> Content:
    days = key.expiry_days if choice == KEEP else int(choice)
    if not days:
        return Content(f"The key keeps its expiry: {when.with_age(key.expires_at, now)}.")
    return Content.assemble("The key then expires ", (when.moment(now + timedelta(days=days)), tones.STRONG),
                            f" ({days}-day policy).")


class RotateDialog(ModalScreen[None]):
    BINDINGS = DIALOG_BINDINGS

    def __init__(self, key, now: datetime):
        super().__init__()
        self.key = key
        self.now = now

    def compose(self) -> ComposeResult:
        key = self.key
        keep = f"Keep ({key.expiry_days} days)" if key.expiry_days else "Keep (fixed date or never)"
        with Vertical(classes="dialog", id="rotate"):
            yield Label(Content.assemble("Rotate ", tones.plain(key.name)), classes="dialog-title")
            yield Static(tones.plain(f"{key.key_id} · {key.environment.value} · {key.permissions_text}"))
            if key.policy_violation:
                yield Static(tones.toned(f"⚑ {key.policy_violation}", tones.FLAG))
            with Horizontal(classes="form-row"):
                yield Label("Grace (hours)", classes="form-label")
                yield Input(f"{DEFAULT_GRACE_HOURS:g}", id="grace", compact=True)
            yield Static(old_token_end(key, self.now, f"{DEFAULT_GRACE_HOURS:g}"), id="grace-effect")
            with Horizontal(classes="form-row"):
                yield Label("Expiry policy", classes="form-label")
                yield Select([(keep, KEEP)] + [(f"{d} days from now", str(d)) for d in EXPIRY_CHOICES],
                             value=KEEP, allow_blank=False, id="expiry", compact=True)
            yield Static(new_expiry(key, self.now, KEEP), id="expiry-effect")
            yield Static("", id="rotate-error", classes="field-error")
            with Horizontal(classes="buttons"):
                yield Button("Rotate", id="rotate-ok", variant="primary")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#grace", Input).focus()

    @on(Input.Changed, "#grace")
    def grace_typed(self, event: Input.Changed) -> None:
        self.query_one("#grace-effect", Static).update(old_token_end(self.key, self.now, event.value))
        self.refused("")

    @on(Select.Changed, "#expiry")
    def expiry_chosen(self, event: Select.Changed) -> None:
        self.query_one("#expiry-effect", Static).update(new_expiry(self.key, self.now, str(event.value)))
        self.refused("")

    def refused(self, message: str) -> None:
        """The service's refusal (org policy, IP Locking), shown here so the operator can change the choice."""
        self.query_one("#rotate-error", Static).update(tones.plain(message))

    @on(Input.Submitted, "#grace")
    @on(Button.Pressed, "#rotate-ok")
    def submit(self) -> None:
        grace = self.query_one("#grace", Input).value
        try:
            parse_grace_hours(grace)
        except InputError as exc:
            self.refused(str(exc))
            return
        choice = str(self.query_one("#expiry", Select).value)
        days = None if choice == KEEP else int(choice)  # None: the key keeps its expiry policy
        self.app.perform("Rotate Key", lambda _totp: self.app.vault.rotate(self.key.key_id, grace, expires_in_days=days),
                         self._rotated, on_error=self._refused)

    def _refused(self, exc: Exception) -> bool:
        if isinstance(exc, (InputError, RuleError)):
            self.refused(str(exc))
            return True
        return False

    def _rotated(self, issued) -> None:
        from keytui.screens.token_reveal import TokenRevealScreen

        self.dismiss(None)
        self.app.push_screen(TokenRevealScreen(issued.key, issued.token, "rotated"))

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
