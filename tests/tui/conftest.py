"""TUI fixtures: a demo database built once per session under a fixed clock (copied for each
test, so tests may change it), and `make_app` giving a console on a vault.

The watch timer is off unless a test asks for it (watch_interval=...), so nothing moves under
a snapshot. The system clipboard is never touched: copies go to `app.clipboard` (OSC 52).
"""

from __future__ import annotations

import shutil
from datetime import datetime, timezone

import pytest

from keytui.clock import FixedClock

DEMO_NOW = datetime(2026, 11, 27, 9, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory):
    """Built once; tokens are drawn from a seeded generator so token hints are the same in every
    run (snapshots show hints; a real build never does this)."""
    import random
    from types import SimpleNamespace

    from keytui import tokens
    from keytui.service import demo
    from keytui.service import Vault

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
    shutil.copytree(demo_template, home)
    vault = Vault.open(home, operator="alice", clock=tui_clock, mfa_window_seconds=300)
    yield vault
    vault.close()


@pytest.fixture
def make_app():
    """make_app(vault, **kw): a console whose `notes` lists every notification message shown."""
    from keytui.app import KeytuiApp

    class RecordingApp(KeytuiApp):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.notes: list[str] = []
            self.animation_level = "none"

        def notify(self, message, *args, **kwargs):
            self.notes.append(str(message))
            return super().notify(message, *args, **kwargs)

    def make(vault, **kwargs):
        kwargs.setdefault("watch_interval", 0)
        return RecordingApp(vault, **kwargs)

    return make


@pytest.fixture
def demo_keys(demo_vault):
    """Name -> KeyView of every demo key (the spec's named keys, e.g. "Agents Execution Key")."""
    return {view.name: view for view in demo_vault.list_keys()}


@pytest.fixture(autouse=True)
def no_system_clipboard(monkeypatch):
    from keytui import clipboard

    monkeypatch.setattr(clipboard, "_system_copy", lambda text: False)
