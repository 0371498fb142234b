"""The per-key actions (View Details, Rotate, Revoke, Regenerate, Copy Token, Edit) as flows.

The registry, key detail and the command palette all run the same flows, so a key is
rotated, revoked or copied the same way wherever the operator starts. The rules stay in the
service: these flows collect what it needs (grace period, confirmation, TOTP) and show what it says.
"""

from __future__ import annotations

from textual.content import Content

from keytui import clipboard
from keytui.config import ConfigError
from keytui.domain import Environment, NotFoundError, Status
from keytui.text import visible
from keytui.widgets import tones


def _key(app, key_id: str | None):
    if not key_id:
        app.notify("No key selected", severity="warning")
        return None
    try:
        view = app.vault.get(key_id)
    except (NotFoundError, ConfigError) as exc:  # ConfigError: also a daemon gone away
        app.notify(visible(exc), severity="error", markup=False)
        return None
    return view


def _refuse_final(app, view, what: str, *, expired_too: bool = False) -> bool:
    """Revoked is final, and an expired key gets no new token: say so before asking anything
    (the service refuses it too)."""
    if view.stored_status is Status.REVOKED:
        reason = f"is revoked; revoked keys cannot be {what}"
    elif expired_too and view.status is Status.EXPIRED:
        reason = f"has expired; expired keys cannot be {what} (create a new key)"
    else:
        return False
    app.notify(visible(f"{view.name} ({view.key_id}) {reason}"), severity="error", title="Refused", markup=False)
    return True


def _production_name(view) -> str | None:
    """The text to type to confirm a dangerous change: a production key's name."""
    return view.name if view.environment is Environment.PRODUCTION else None


def _reveal(app, what: str):
    from keytui.screens.token_reveal import TokenRevealScreen

    return lambda issued: app.push_screen(TokenRevealScreen(issued.key, issued.token, what))


def view_details(app, key_id: str | None) -> None:
    if _key(app, key_id):
        app.show_key(key_id)


def rotate(app, key_id: str | None) -> None:
    view = _key(app, key_id)
    if not view or app.refuse_read_only("Rotate Key") or _refuse_final(app, view, "rotated", expired_too=True):
        return
    from keytui.screens.rotate import RotateDialog

    app.push_screen(RotateDialog(view, app.vault.now()))


def revoke(app, key_id: str | None) -> None:
    view = _key(app, key_id)
    if not view or app.refuse_read_only("Revoke") or _refuse_final(app, view, "revoked again"):
        return
    from keytui.screens.dialogs import ConfirmDialog

    def confirmed(ok: bool | None) -> None:
        if ok:
            app.perform("Revoke", lambda totp: app.vault.revoke(view.key_id),
                        lambda _: app.notify(visible(f"{view.name} revoked"), title="Revoked", markup=False))

    app.push_screen(ConfirmDialog(
        Content.assemble("Revoke ", tones.plain(view.name), "?"),
        tones.plain(f"{view.key_id} ({view.environment.value}) stops working immediately. Revoked keys cannot be "
                    "restored."),
        confirm_label="Revoke", type_to_confirm=_production_name(view)), confirmed)


def regenerate(app, key_id: str | None) -> None:
    view = _key(app, key_id)
    if not view or app.refuse_read_only("Regenerate") or _refuse_final(app, view, "regenerated", expired_too=True):
        return
    from keytui.screens.dialogs import ConfirmDialog

    def confirmed(ok: bool | None) -> None:
        if ok:
            app.perform("Regenerate", lambda totp: app.vault.regenerate(view.key_id), _reveal(app, "regenerated"))

    app.push_screen(ConfirmDialog(
        Content.assemble("Regenerate ", tones.plain(view.name), "?"),
        tones.plain(f"{view.key_id} ({view.environment.value}) gets a new token and every old token stops working "
                    "at once (use this after a leak)."),
        confirm_label="Regenerate", type_to_confirm=_production_name(view)), confirmed)


def copy_token(app, key_id: str | None) -> None:
    view = _key(app, key_id)
    if not view or app.refuse_read_only("Copy Token") or _refuse_final(app, view, "copied"):
        return
    app.perform("Copy Token", lambda totp: app.vault.copy_token(view.key_id, totp),
                lambda token: clipboard.copy_secret(app, token, f"token of {view.name}"))


def end_grace(app, key_id: str, traffic) -> None:
    """Stop a rotation's old token now; if a caller still presented it lately, say who and ask."""
    if traffic is None:
        app.notify("No rotation grace period in progress", severity="warning")
        return
    if app.refuse_read_only("End Grace Period"):
        return
    from keytui.screens.dialogs import ConfirmDialog

    def confirmed(ok: bool | None) -> None:
        if ok:
            app.perform("End Grace Period", lambda totp: app.vault.end_grace(key_id, force=not traffic.quiet),
                        lambda view: app.notify(f"Only the new token of {view.name} works now", title="Grace ended"))

    if traffic.quiet:
        message = "The old token has gone quiet. It stops working now; only the new token works."
    else:
        last = traffic.old_callers[0]
        message = (f"The old token was presented at {last.last_seen:%Y-%m-%d %H:%M} by {last.ip or '-'} "
                   f"({last.module}). Ending the grace period now refuses that caller.")
    app.push_screen(ConfirmDialog("End the grace period?", message, confirm_label="End grace"), confirmed)


def edit(app, key_id: str | None) -> None:
    view = _key(app, key_id)
    if not view or app.refuse_read_only("Edit Key") or _refuse_final(app, view, "edited"):
        return
    from keytui.screens.edit_key import EditKeyScreen

    app.push_screen(EditKeyScreen(view))


FLOWS = {"view_details": view_details, "rotate_key": rotate, "revoke_key": revoke,
         "regenerate_key": regenerate, "copy_token": copy_token, "edit_key": edit}


class KeyActions:
    """Screen mixin: the per-key bindings act on `selected_key_id()`."""

    def selected_key_id(self) -> str | None:
        raise NotImplementedError

    def check_action(self, action: str, parameters) -> bool | None:
        return self.app.may(action)  # the footer hides what the role cannot do

    def action_view_details(self) -> None:
        view_details(self.app, self.selected_key_id())

    def action_rotate_key(self) -> None:
        rotate(self.app, self.selected_key_id())

    def action_revoke_key(self) -> None:
        revoke(self.app, self.selected_key_id())

    def action_regenerate_key(self) -> None:
        regenerate(self.app, self.selected_key_id())

    def action_copy_token(self) -> None:
        copy_token(self.app, self.selected_key_id())

    def action_edit_key(self) -> None:
        edit(self.app, self.selected_key_id())
