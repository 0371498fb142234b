"""Permission matrix page: pick a key, toggle its permissions; MFA, revoked and read-only refusals."""

from __future__ import annotations

from rich.console import Console

from keytui import totp
from keytui.domain import Permission
from keytui.screens.totp import TotpPrompt
from keytui.service import Vault


async def _pick(pilot, name: str):
    await pilot.press("4")
    await pilot.pause()
    await pilot.press("slash", *name, "enter")
    await pilot.pause()


def _toggles(app) -> dict[str, bool]:
    return {p.value: app.screen.query_one(f"#perm-{p.value}").value for p in Permission}


def _message(app) -> str:
    return str(app.screen.query_one("#perm-message").render())


async def _toggle(pilot, perm: str):
    pilot.app.screen.query_one(f"#perm-{perm}").focus()
    await pilot.press("space")
    await pilot.pause()


def _read_write_key(vault):
    return vault.create("Matrix Test Key", "workflows", "read", "staging", expires_in_days=30).key


async def test_matrix_shows_admin_implying_every_capability(demo_vault, make_app):
    app = make_app(demo_vault)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("4")
        await pilot.pause()
        console = Console(width=120, record=True)
        console.print(app.screen.query_one("#matrix").content)
        rows = {line.split()[0]: line for line in console.export_text().splitlines() if line.strip()}
        assert rows["Admin"].count("✓") == 7 and "TOTP" in rows["Admin"]
        assert rows["Read"].count("✓") == 2 and "TOTP" not in rows["Read"]
        assert rows["Execute"].count("✓") == 3 and "TOTP" in rows["Execute"]


async def test_picking_a_key_shows_its_permissions_as_toggles(demo_vault, make_app):
    key = _read_write_key(demo_vault)
    app = make_app(demo_vault)
    async with app.run_test(size=(120, 40)) as pilot:
        await _pick(pilot, "Matrix Test")
        assert app.screen.key.key_id == key.key_id
        assert _toggles(app) == {"read": True, "write": False, "execute": False, "admin": False}
        assert key.key_id in str(app.screen.query_one("#key-summary").render())


async def test_adding_write_is_saved_and_audited_without_mfa(demo_vault, make_app):
    key = _read_write_key(demo_vault)
    app = make_app(demo_vault)
    async with app.run_test(size=(120, 40)) as pilot:
        await _pick(pilot, "Matrix Test")
        await _toggle(pilot, "write")
        assert demo_vault.get(key.key_id).permissions == {Permission.READ, Permission.WRITE}
        assert _toggles(app)["write"] is True
        assert "Saved" in _message(app)
        assert demo_vault.audit_entries(key_id=key.key_id, limit=1)[0]["action"] == "key.permissions"


async def test_adding_execute_asks_for_totp_then_saves(demo_vault, make_app, tui_clock):
    secret, _ = demo_vault.enroll_mfa()
    key = _read_write_key(demo_vault)
    app = make_app(demo_vault)
    async with app.run_test(size=(120, 40)) as pilot:
        await _pick(pilot, "Matrix Test")
        await _toggle(pilot, "execute")
        assert isinstance(app.screen, TotpPrompt)
        assert Permission.EXECUTE not in demo_vault.get(key.key_id).permissions
        await pilot.press(*totp.code_for(secret, tui_clock.now()), "enter")
        await pilot.pause()
        assert Permission.EXECUTE in demo_vault.get(key.key_id).permissions
        assert _toggles(app)["execute"] is True


async def test_wrong_totp_or_cancel_changes_nothing(demo_vault, make_app, tui_clock):
    secret, _ = demo_vault.enroll_mfa()
    good = totp.code_for(secret, tui_clock.now())
    wrong = f"{(int(good) + 1) % 1_000_000:06d}"
    key = _read_write_key(demo_vault)
    app = make_app(demo_vault)
    async with app.run_test(size=(120, 40)) as pilot:
        await _pick(pilot, "Matrix Test")
        await _toggle(pilot, "admin")
        await pilot.press(*wrong, "enter")
        await pilot.pause()
        assert isinstance(app.screen, TotpPrompt), "a wrong code should ask again"
        assert "wrong code" in str(app.screen.query_one("#totp-error").render())
        await pilot.press("escape")
        await pilot.pause()
        assert demo_vault.get(key.key_id).permissions == {Permission.READ}
        assert _toggles(app)["admin"] is False
        assert any("cancelled" in note for note in app.notes)


async def test_revoked_key_refuses_changes(demo_vault, make_app, demo_keys):
    revoked = next(k for k in demo_keys.values() if k.status.value == "revoked")
    app = make_app(demo_vault)
    async with app.run_test(size=(120, 40)) as pilot:
        await _pick(pilot, revoked.key_id)
        before = demo_vault.get(revoked.key_id).permissions
        target = "write" if Permission.WRITE not in before else "read"
        await _toggle(pilot, target)
        assert "revoked" in _message(app)
        assert demo_vault.get(revoked.key_id).permissions == before


async def test_read_only_refuses_changes(demo_vault, make_app, tui_clock):
    key = _read_write_key(demo_vault)
    reader = Vault.open(demo_vault.settings.home, operator="alice", clock=tui_clock, read_only=True)
    app = make_app(reader)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await _pick(pilot, "Matrix Test")
            await _toggle(pilot, "write")
            assert any("read-only" in note for note in app.notes)
            assert _toggles(app)["write"] is False
    finally:
        reader.close()
    assert demo_vault.get(key.key_id).permissions == {Permission.READ}


async def test_the_key_highlighted_in_the_registry_is_picked(demo_vault, make_app):
    app = make_app(demo_vault)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("2")
        await pilot.pause()
        await pilot.press("j")
        await pilot.pause()
        highlighted = app.screen.selected_key_id()
        assert highlighted
        await pilot.press("4")
        await pilot.pause()
        assert app.screen.key.key_id == highlighted
        expected = demo_vault.get(highlighted).permissions
        assert {p for p in Permission if _toggles(app)[p.value]} == set(expected)
