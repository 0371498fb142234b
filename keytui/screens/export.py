"""Export Registry: the whole registry as CSV or JSON to a path the operator types (audited)."""

from __future__ import annotations

from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

from keytui.keymap import EXPORT_BINDINGS
from keytui.screens.dialogs import DIALOG_CSS


class ExportDialog(ModalScreen[None]):
    CSS_PATH = [DIALOG_CSS]
    BINDINGS = EXPORT_BINDINGS

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("Export Registry", classes="dialog-title")
            yield Static("Every registry column, never a token. The export is recorded in the audit log.")
            with Horizontal(classes="form-row"):
                yield Label("Format", classes="form-label")
                yield Select([("CSV", "csv"), ("JSON", "json")], value="csv", allow_blank=False, id="format",
                             compact=True)
            with Horizontal(classes="form-row"):
                yield Label("Path", classes="form-label")
                yield Input(str(Path.cwd() / "keytui-registry.csv"), id="path", compact=True)
            yield Static("", id="path-error", classes="field-error")
            with Horizontal(classes="buttons"):
                yield Button("Export", id="export", variant="primary")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#path", Input).focus()

    @on(Select.Changed, "#format")
    def format_chosen(self, event: Select.Changed) -> None:
        path = self.query_one("#path", Input)
        current = Path(path.value)
        if current.suffix in (".csv", ".json"):
            path.value = str(current.with_suffix(f".{event.value}"))

    @on(Input.Submitted, "#path")
    @on(Button.Pressed, "#export")
    def export(self) -> None:
        fmt = str(self.query_one("#format", Select).value)
        path = Path(self.query_one("#path", Input).value.strip()).expanduser()
        error = self.query_one("#path-error", Static)
        if not path.name or path.is_dir():
            error.update(Content("path: give a file name to write, e.g. ./keytui-registry.csv"))
            return
        if not path.parent.is_dir():
            error.update(Content(f"path: the folder {str(path.parent)!r} does not exist"))
            return

        def write(totp):
            with path.open("w", newline="") as out:
                return self.app.vault.export_registry(fmt, out, destination=str(path))

        def done(count: int) -> None:
            self.dismiss(None)
            self.app.notify(f"Exported {count:,} keys to {path}", title="Export Registry", markup=False)

        try:
            self.app.perform("Export Registry", write, done)
        except OSError as exc:
            error.update(Content(f"path: cannot write {str(path)!r}: {exc.strerror}"))

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
