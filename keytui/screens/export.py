"""Export Registry: every key, or what the registry shows now, as CSV or JSON to a path the
operator types (audited; never a token).

The file is created 0600 (a registry names every credential, its owner and where it works);
an existing file is replaced only after the operator says so, and a symbolic link is not
followed.
"""

from __future__ import annotations

import os
from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

from keytui.keymap import EXPORT_BINDINGS
from keytui.screens.dialogs import ConfirmDialog
from keytui.widgets import tones

FILE_MODE = 0o600


def write_export(vault, fmt: str, path: Path, key_filter, *, replace: bool) -> int:
    """Write the export to `path`, created 0600 (or replaced, with `replace`), never through a symlink."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | (os.O_TRUNC if replace else os.O_EXCL)
    fd = os.open(path, flags, FILE_MODE)
    os.fchmod(fd, FILE_MODE)  # a replaced file keeps no wider mode
    with os.fdopen(fd, "w", newline="") as out:
        return vault.export_registry(fmt, out, key_filter=key_filter, destination=str(path))


def registry_in_sight(app):
    """The registry page's filter and its words, if it has been opened and is filtered."""
    try:
        stack = app.get_screen_stack("registry")
    except KeyError:  # never opened
        return None
    registry = stack[0] if stack else None
    if registry is None or not getattr(registry, "filtered", False):
        return None
    return registry.key_filter(), registry.filter_words()


class ExportDialog(ModalScreen[None]):
    BINDINGS = EXPORT_BINDINGS

    def __init__(self) -> None:
        super().__init__()
        self.shown = None  # (KeyFilter, words) of the registry in sight

    def compose(self) -> ComposeResult:
        self.shown = registry_in_sight(self.app)
        choices = [("Every key", "all")]
        if self.shown:
            choices.insert(0, (f"What the registry shows: {self.shown[1]}", "shown"))
        with Vertical(classes="dialog"):
            yield Label("Export Registry", classes="dialog-title")
            yield Static("Every registry column, never a token. The file is readable by you only (0600); the "
                         "export is recorded in the audit log.")
            with Horizontal(classes="form-row"):
                yield Label("Keys", classes="form-label")
                yield Select(choices, value=choices[0][1], allow_blank=False, id="which", compact=True)
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

    def _error(self, text: str) -> None:
        self.query_one("#path-error", Static).update(tones.plain(text))

    @on(Input.Submitted, "#path")
    @on(Button.Pressed, "#export")
    def export(self) -> None:
        path = Path(self.query_one("#path", Input).value.strip()).expanduser()
        if not path.name or path.is_dir():
            self._error("path: give a file name to write, e.g. ./keytui-registry.csv")
        elif not path.parent.is_dir():
            self._error(f"path: the folder {str(path.parent)!r} does not exist")
        elif path.is_symlink():
            self._error(f"path: {str(path)!r} is a symbolic link; give the file itself")
        elif path.exists():
            self.app.push_screen(ConfirmDialog("Replace the file?", Content.assemble(
                tones.plain(str(path)), " exists. Replace it with the export?"), confirm_label="Replace"),
                lambda ok: self._write(path, replace=True) if ok else self._error("path: not replaced; give another"))
        else:
            self._write(path, replace=False)

    def _write(self, path: Path, *, replace: bool) -> None:
        fmt = str(self.query_one("#format", Select).value)
        shown = str(self.query_one("#which", Select).value) == "shown"
        key_filter = self.shown[0] if shown and self.shown else None

        def done(count: int) -> None:
            self.dismiss(None)
            what = f" ({self.shown[1]})" if key_filter is not None else ""
            self.app.notify(f"Exported {count:,} keys{what} to {path} (mode 0600)", title="Export Registry")

        try:
            self.app.perform("Export Registry",
                             lambda _totp: write_export(self.app.vault, fmt, path, key_filter, replace=replace), done)
        except OSError as exc:
            self._error(f"path: cannot write {str(path)!r}: {exc.strerror or exc}")
