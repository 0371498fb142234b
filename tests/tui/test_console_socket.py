"""The console as a client of a real daemon (keytui serve --socket on a copy of the demo home):
the main flows work as in embedded mode, the header says who you are and your role, and a
viewer's footer has no action it cannot take while the palette still explains them."""

from __future__ import annotations

import shutil
import signal
import time

import pytest

from keytui import totp
from tests.daemon.server import running_daemon
from tests.tui.conftest import DEMO_NOW
from tests.tui.test_shell_actions import select_key


@pytest.fixture
def served(demo_template, tmp_path):
    """A daemon on a private copy of the demo home, its clock pinned like the embedded tests'."""
    home = tmp_path / "demo"
    shutil.copytree(demo_template, home)
    with running_daemon(home, env={"KEYTUI_NOW": DEMO_NOW.isoformat()}) as (sock, proc):
        yield sock, proc


@pytest.fixture
def console_vault(served):
    from keytui.daemon.client import RemoteVault

    vault = RemoteVault(str(served[0]), mfa_window_seconds=300)
    yield vault
    vault.close()


@pytest.fixture
def viewer_vault(served):
    from keytui.daemon.client import RemoteVault

    vault = RemoteVault(str(served[0]), read_only=True, mfa_window_seconds=300)
    yield vault
    vault.close()


def footer_keys(app) -> set[str]:
    return {b.key for _, b, enabled, _ in app.screen.active_bindings.values() if b.show}


async def open_key(app, pilot, name: str):
    await pilot.press("2")
    await pilot.pause()
    await app.workers.wait_for_complete()
    app.screen.set_filter(search=name)
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()
    assert app.screen.selected_key_id() is not None
    return app.screen


async def test_opens_on_the_daemon_and_says_who_you_are(console_vault, make_app):
    app = make_app(console_vault)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert app.sub_title == f"{console_vault.operator} · admin · DEMO"  # the daemon says whose home, too
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert str(app.screen.query_one("#card-total .value").render()) == "24"
        assert not console_vault.settings  # the client never opened the home


async def test_filter_narrows_the_registry(console_vault, make_app):
    app = make_app(console_vault)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("2")
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.press("slash", *"sync")
        await pilot.pause(0.4)
        await app.workers.wait_for_complete()
        await pilot.pause()
        table = app.screen.query_one("DataTable")
        names = sorted(str(table.get_row_at(i)[0]) for i in range(table.row_count))
        assert names == ["GitHub Sync Key", "Governance Policy Sync"]


async def test_copy_with_mfa_through_the_daemon(console_vault, make_app):
    secret, _ = console_vault.enroll_mfa()
    key = console_vault.find("Agents Execution Key")[0]
    app = make_app(console_vault)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_key(app, pilot, key.name)
        await pilot.press("y")
        await pilot.pause()
        assert type(app.screen).__name__ == "TotpPrompt"
        await pilot.press(*totp.code_for(secret, DEMO_NOW), "enter")
        await pilot.pause()
        assert type(app.screen).__name__ == "RegistryScreen"
        assert console_vault.mfa_window_open()  # the session keeps the window across requests
        same = app.clipboard == console_vault.copy_token(key.key_id)
        assert same, "the clipboard does not hold the key's token"


async def test_rotate_through_the_daemon(console_vault, console):
    key = console_vault.find("Workflow Scheduler Key")[0]
    async with console(console_vault) as c:
        await select_key(c, key.name)
        await c.press("r")
        await c.wait_for_text(f"Rotate {key.name}", "Grace (hours)")
        await c.clear_field()
        await c.type("2")
        await c.press("enter")
        await c.wait_for_text(f"Token rotated: {key.name}")
    assert [s.origin for s in console_vault.secrets(key.key_id)] == ["rotate", "create"]
    assert console_vault.audit_entries(key_id=key.key_id, limit=1)[0]["operator"] == console_vault.operator


async def test_the_live_log_shows_a_verification_made_elsewhere(console_vault, make_app):
    issued = console_vault.create("Socket Tail Key", "agents", "read", "sandbox", expires_in_days=30)
    app = make_app(console_vault)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("7")
        await pilot.pause(0.3)
        await app.workers.wait_for_complete()
        view = app.screen.query_one("LogView")
        assert console_vault.verify(issued.token, "sandbox", module="agents", ip="198.51.100.7").valid
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and not (view.row_count and view.get_row_at(0)[0] == issued.key.key_id):
            await pilot.pause(0.05)
        assert view.row_count and view.get_row_at(0)[0] == issued.key.key_id


async def test_a_viewer_sees_no_action_it_cannot_take_and_the_palette_explains(viewer_vault, make_app):
    app = make_app(viewer_vault)
    async with app.run_test(size=(120, 40)) as pilot:
        assert app.sub_title == f"{viewer_vault.operator} · viewer · DEMO"
        screen = await open_key(app, pilot, "Workflow Webhook Key")
        shown = footer_keys(app)
        assert {"slash", "f"} <= shown
        assert not {"r", "x", "R", "y", "c", "ctrl+e"} & shown
        await pilot.press("r")  # a hidden binding does nothing
        await pilot.pause()
        assert type(app.screen).__name__ == "RegistryScreen"
        app.run_key_action("rotate_key", screen.selected_key_id())
        app.palette_action("app.create_key")
        await pilot.pause()
        assert f"rotate needs the operator role; {viewer_vault.operator} is a viewer" in app.notes
        assert f"create needs the operator role; {viewer_vault.operator} is a viewer" in app.notes
        assert type(app.screen).__name__ == "RegistryScreen"
        assert app.clipboard == ""


async def test_a_daemon_gone_away_is_a_notice_not_a_crash(console_vault, served, make_app):
    app = make_app(console_vault)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_key(app, pilot, "Workflow Webhook Key")
        served[1].send_signal(signal.SIGTERM)
        served[1].wait(timeout=30)
        await pilot.press("y")
        await pilot.pause()
        assert any("cannot reach the keytui daemon" in n for n in app.notes)
        assert app.is_running and type(app.screen).__name__ == "RegistryScreen"
