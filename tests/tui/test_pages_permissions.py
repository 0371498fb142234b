"""Permission matrix page: pick a key, toggle its permissions; MFA, revoked and read-only refusals."""

from __future__ import annotations

import re

from keytui.domain import Permission
from tests.support import totp_code

PERMS = ("Read", "Write", "Execute", "Admin")


def toggles(c) -> dict[str, bool]:
    """Each permission row's box as shown: '[x] Read' granted, '[ ] Read' not."""
    shown = {}
    for line in c.lines():
        m = re.match(r"^\s*\[(x| )\] (Read|Write|Execute|Admin)\b", line)
        if m:
            shown[m.group(2).lower()] = m.group(1) == "x"
    return shown


async def pick(c, name: str) -> None:
    await c.press("4")
    await c.wait_for_text("Permission matrix")
    await c.press("slash")
    await c.paste(name)
    await c.press("enter")
    await c.wait_for(lambda: "No key selected" not in c.text() and name in c.line_with("  key_"), f"{name} picked")


async def toggle(c, perm: str) -> None:
    """Move to the permission's row (j/k) and press space on it."""
    for _ in range(8):
        if perm in c.focused_text():
            break
        await c.press("j" if PERMS.index(perm) > PERMS.index(focused_perm(c)) else "k")
    assert perm in c.focused_text(), f"could not reach the {perm} row"
    await c.press("space")


def focused_perm(c) -> str:
    return next((p for p in PERMS if p in c.focused_text()), "Read")


def _read_key(vault):
    return vault.create("Matrix Test Key", "workflows", "read", "staging", expires_in_days=30).key


async def test_matrix_shows_admin_implying_every_capability(demo_vault, console):
    async with console(demo_vault) as c:
        await c.press("4")
        await c.wait_for_text("Permission matrix")
        rows = {line.split()[0]: line for line in c.lines() if re.match(r"^ (Read|Write|Execute|Admin) ", line)}
        assert rows["Admin"].count("✓") == 7 and "TOTP" in rows["Admin"]
        assert rows["Read"].count("✓") == 2 and "TOTP" not in rows["Read"]
        assert rows["Execute"].count("✓") == 3 and "TOTP" in rows["Execute"]


async def test_picking_a_key_shows_its_permissions_as_toggles(demo_vault, console):
    key = _read_key(demo_vault)
    async with console(demo_vault) as c:
        await pick(c, "Matrix Test")
        assert toggles(c) == {"read": True, "write": False, "execute": False, "admin": False}
        assert key.key_id in c.line_with("Matrix Test Key")


async def test_adding_write_is_saved_and_audited_without_mfa(demo_vault, console):
    key = _read_key(demo_vault)
    async with console(demo_vault) as c:
        await pick(c, "Matrix Test")
        await toggle(c, "Write")
        await c.wait_for_text("Saved: Matrix Test Key now has read,write")
        assert toggles(c)["write"] is True
    assert demo_vault.get(key.key_id).permissions == {Permission.READ, Permission.WRITE}
    assert demo_vault.audit_entries(key_id=key.key_id, limit=1)[0]["action"] == "key.permissions"


async def test_adding_execute_asks_for_totp_then_saves(demo_vault, console, tui_clock):
    secret, _ = demo_vault.enroll_mfa()
    key = _read_key(demo_vault)
    async with console(demo_vault) as c:
        await pick(c, "Matrix Test")
        await toggle(c, "Execute")
        await c.wait_for_text("MFA required")
        assert Permission.EXECUTE not in demo_vault.get(key.key_id).permissions
        await c.type(totp_code(secret, tui_clock.now()))
        await c.press("enter")
        await c.wait_for_text("Saved: Matrix Test Key now has read,execute")
        assert toggles(c)["execute"] is True
    assert Permission.EXECUTE in demo_vault.get(key.key_id).permissions


async def test_wrong_totp_or_cancel_changes_nothing(demo_vault, console, tui_clock):
    secret, _ = demo_vault.enroll_mfa()
    good = totp_code(secret, tui_clock.now())
    wrong = next(code for code in ("000000", "111111", "222222") if code != good)
    key = _read_key(demo_vault)
    async with console(demo_vault) as c:
        await pick(c, "Matrix Test")
        await toggle(c, "Admin")
        await c.wait_for_text("MFA required")
        await c.type(wrong)
        await c.press("enter")
        await c.wait_for_text("MFA required", "wrong code")  # asked again, saying why
        await c.press("escape")
        await c.wait_for_notification("cancelled")
        assert toggles(c)["admin"] is False
    assert demo_vault.get(key.key_id).permissions == {Permission.READ}


async def test_revoked_key_refuses_changes(demo_vault, console, demo_keys):
    revoked = next(k for k in demo_keys.values() if k.status.value == "revoked")
    before = demo_vault.get(revoked.key_id).permissions
    target = "Write" if Permission.WRITE not in before else "Read"
    async with console(demo_vault) as c:
        await pick(c, revoked.key_id)
        await toggle(c, target)
        await c.wait_for_text("revoked")
        assert toggles(c)[target.lower()] is (Permission(target.lower()) in before)
    assert demo_vault.get(revoked.key_id).permissions == before


async def test_read_only_refuses_changes(demo_vault, reviewer, console):
    key = _read_key(demo_vault)
    async with console(reviewer()) as c:
        await pick(c, "Matrix Test")
        await toggle(c, "Write")
        await c.wait_for_notification("read-only")
        assert toggles(c)["write"] is False
    assert demo_vault.get(key.key_id).permissions == {Permission.READ}


async def test_the_key_highlighted_in_the_registry_is_picked(demo_vault, console):
    async with console(demo_vault) as c:
        await c.press("2")
        await c.wait_for_text("of 24 keys")
        await c.press("j", "enter")  # the second row: whose detail opens is the highlighted key
        title = await c.wait_for(lambda: "Key: " in c.title and c.title, "the highlighted key's detail")
        name = title.split("Key: ")[1].split(" — ")[0].strip()
        await c.press("escape", "4")
        await c.wait_for_text("Permission matrix")
        await c.wait_for(lambda: "No key selected" not in c.text(), "a key picked")
        assert name in c.line_with("  key_")
        expected = demo_vault.find(name)[0].permissions
        assert {p for p in Permission if toggles(c)[p.value]} == set(expected)
