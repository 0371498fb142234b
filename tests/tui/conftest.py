"""TUI fixtures: a demo database built once per session under a fixed clock (copied for each
test, so tests may change it), and `console`, which runs the console on a vault and hands the
test a `Console` (tests/tui/console.py) to drive it by keys and read what it shows.

The watch timer is off unless a test asks for it (watch_interval=...), so nothing moves under
a snapshot. The system clipboard is never touched (pyperclip finds none, as over SSH): copies
go to the terminal (OSC 52), which the console records as its clipboard.
"""

from __future__ import annotations

import shutil
import subprocess
from datetime import datetime, timezone

import pyperclip
import pytest

from keytui.clock import FixedClock
from tests.tui.console import running
from tests.pg import copy_home

DEMO_NOW = datetime(2026, 11, 27, 9, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory):
    """Built once; tokens are drawn from a seeded generator so token hints are the same in every
    run (snapshots show hints; a real build never does this)."""
    import random
    from types import SimpleNamespace

    from keytui import tokens
    from keytui.service import Vault, demo

    home = tmp_path_factory.mktemp("demo-template")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(tokens, "secrets", SimpleNamespace(token_bytes=random.Random(7).randbytes))
        vault = Vault.open(home, operator="alice", clock=FixedClock(DEMO_NOW))
        demo.build(vault.ctx)
        vault.close()
    return home


@pytest.fixture
def tui_clock() -> FixedClock:
    return FixedClock(DEMO_NOW)


@pytest.fixture
def demo_vault(demo_template, tmp_path, tui_clock):
    """A private copy of the demo database, opened as operator alice with the console's 5-minute MFA window."""
    from keytui.service import Vault

    home = tmp_path / "demo"
    copy_home(demo_template, home)
    vault = Vault.open(home, operator="alice", clock=tui_clock, mfa_window_seconds=300)
    yield vault
    vault.close()


@pytest.fixture
def make_app():
    """make_app(vault, **kw): a console app that records every notification message shown (`notes`)
    and everything it sent to the terminal's clipboard (`copies`)."""
    from keytui.app import KeytuiApp

    class RecordingApp(KeytuiApp):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.notes: list[str] = []
            self.copies: list[str] = []
            self.animation_level = "none"

        def notify(self, message, *args, **kwargs):
            self.notes.append(str(message))
            return super().notify(message, *args, **kwargs)

        def copy_to_clipboard(self, text: str) -> None:
            self.copies.append(text)  # what the terminal received (OSC 52), in order
            super().copy_to_clipboard(text)

    def make(vault, **kwargs):
        kwargs.setdefault("watch_interval", 0)
        return RecordingApp(vault, **kwargs)

    return make


@pytest.fixture
def console(make_app):
    """`async with console(vault, size=(120, 40), **app_options) as c:` a running console to drive."""

    def open_console(vault, size: tuple[int, int] = (120, 40), **options):
        return running(make_app(vault, **options), size)

    return open_console


@pytest.fixture
def demo_keys(demo_vault):
    """Name -> KeyView of every demo key (the spec's named keys, e.g. "Agents Execution Key")."""
    return {view.name: view for view in demo_vault.list_keys()}


@pytest.fixture
def reviewer(demo_vault):
    """reviewer(): the demo home opened read-only by another operator, as `keytui --read-only` would."""
    opened = []

    def open_read_only():
        from keytui.service import Vault

        opened.append(Vault.open(demo_vault.settings.home, operator="rita", read_only=True, clock=demo_vault.clock,
                                 mfa_window_seconds=300))
        return opened[-1]

    yield open_read_only
    for vault in opened:
        vault.close()


@pytest.fixture(autouse=True)
def no_system_clipboard(monkeypatch):
    """No local clipboard, as over SSH: pyperclip fails; tests that want one patch it again."""

    def no_clipboard(text):
        raise pyperclip.PyperclipException("no clipboard in tests")

    monkeypatch.setattr(pyperclip, "copy", no_clipboard)


TMUX = shutil.which("tmux")


@pytest.fixture
def tmux(tmp_path):
    """tmux(*args): a private tmux server (its own socket, no user config), killed afterwards."""
    socket = tmp_path / "tmux.sock"

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([TMUX, "-S", str(socket), "-f", "/dev/null", *args], capture_output=True, text=True,
                              timeout=30)

    yield run
    run("kill-server")
