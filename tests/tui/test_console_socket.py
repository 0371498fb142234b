"""The console as a client of a real daemon (keytui serve --socket on a copy of the demo home):
the main flows work as in embedded mode, the header says who you are and your role, and a
viewer's footer has no action it cannot take while the palette still explains them.

Driven by keys, read from the screen (tests/tui/console.py)."""

from __future__ import annotations

import signal

import pytest

from keytui import totp
from tests.daemon.server import running_daemon
from tests.pg import copy_home
from tests.tui.conftest import DEMO_NOW
from tests.tui.test_pages_activity import events, open_log
from tests.tui.test_shell_actions import select_key
from tests.tui.test_shell_app import card_values

TOTP_PROMPT = "MFA required"


@pytest.fixture
def served(demo_template, tmp_path):
    """A daemon on a private copy of the demo home, its clock pinned like the embedded tests'."""
    home = tmp_path / "demo"
    copy_home(demo_template, home)
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


async def palette(c, command: str, offered: str) -> None:
    """Run a command-palette entry as an operator would: ctrl+p, type its name, wait until the
    palette offers it (`offered`: text only its entry shows), enter."""
    await c.press("ctrl+p")
    await c.type(command)
    await c.wait_for_text(offered)
    await c.press("enter")


async def test_opens_on_the_daemon_and_says_who_you_are(console_vault, console):
    async with console(console_vault) as c:
        # the daemon says whose home, too
        await c.wait_for(lambda: f"{console_vault.operator} · admin · DEMO" in c.title, "who and what role")
        await c.wait_for(lambda: card_values(c)[:1] == [24], "the Overview's Total card")
        assert not console_vault.settings  # the client never opened the home


async def test_filter_narrows_the_registry(console_vault, console):
    names = {k.name for k in console_vault.list_keys()}
    async with console(console_vault) as c:
        await c.press("2")
        await c.wait_for_text("of 24 keys")
        await c.press("slash")
        await c.type("sync")
        await c.wait_for_text("1-2 of 2 keys")
        assert {name for name in names if name in c.text()} == {"GitHub Sync Key", "Governance Policy Sync"}


async def test_copy_with_mfa_through_the_daemon(console_vault, console):
    secret, _ = console_vault.enroll_mfa()
    key = console_vault.find("Agents Execution Key")[0]
    async with console(console_vault) as c:
        await select_key(c, key.name)
        await c.press("y")
        await c.wait_for_text(TOTP_PROMPT)
        await c.type(totp.code_for(secret, DEMO_NOW))
        await c.press("enter")
        await c.wait_for_no_text(TOTP_PROMPT)
        await c.wait_for(lambda: c.clipboard, "the copy")
        assert "1-1 of 1 keys" in c.text()  # back on the registry, nothing else open
        assert console_vault.mfa_window_open()  # the session keeps the window across requests
        same = c.clipboard == console_vault.copy_token(key.key_id)
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


async def test_the_live_log_shows_a_verification_made_elsewhere(console_vault, console):
    issued = console_vault.create("Socket Tail Key", "agents", "read", "sandbox", expires_in_days=30)
    async with console(console_vault) as c:
        await open_log(c)
        assert issued.key.key_id not in c.text()
        assert console_vault.verify(issued.token, "sandbox", module="agents", ip="198.51.100.7").valid
        newest = await c.wait_for(lambda: events(c) and events(c)[0][0] == issued.key.key_id and events(c)[0],
                                  "the verification at the top of the log")
        assert newest[1] == "agents" and newest[3] == "success" and newest[5] == "198.51.100.7"


async def test_a_viewer_sees_no_action_it_cannot_take_and_the_palette_explains(viewer_vault, console):
    key = viewer_vault.find("Workflow Webhook Key")[0]
    refusal = "{} needs the operator role; " + f"{viewer_vault.operator} is a viewer"
    async with console(viewer_vault) as c:
        await c.wait_for(lambda: f"{viewer_vault.operator} · viewer · DEMO" in c.title, "who and what role")
        await select_key(c, key.name)
        footer = c.lines()[-1]
        assert "/ Filter" in footer and "f Status" in footer, footer
        for hidden in ("Rotate", "Revoke", "Regenerate", "Copy token", "Create", "Edit"):
            assert hidden not in footer, (hidden, footer)
        await c.press("r")  # a hidden binding does nothing
        assert await c.stays(lambda: f"Rotate {key.name}" not in c.text() and not c.notifications(), 0.3)
        await palette(c, "Rotate Key", f"Rotate Key: {key.key_id}")  # the palette still offers it, and says why not
        await c.wait_for_notification(refusal.format("rotate"))
        await palette(c, "Create Key", "Create a new API key")
        await c.wait_for_notification(refusal.format("create"))
        assert f"Rotate {key.name}" not in c.text() and "Create New API Key" not in c.text()
        assert "1-1 of 1 keys" in c.text()  # still the registry
        assert c.clipboard == ""


async def test_a_daemon_gone_away_is_a_notice_not_a_crash(console_vault, served, console):
    async with console(console_vault) as c:
        await select_key(c, "Workflow Webhook Key")
        served[1].send_signal(signal.SIGTERM)
        served[1].wait(timeout=30)
        await c.press("y")
        await c.wait_for_notification("cannot reach the keytui daemon")
        assert "1-1 of 1 keys" in c.text()  # the registry still shown
        await c.press("question_mark")  # and the console still answers keys
        await c.wait_for_text("palette", "Pages")
