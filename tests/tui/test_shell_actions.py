"""Per-key actions in the console (rotate, revoke, regenerate, copy, key detail), with their failure paths."""

from __future__ import annotations

import re

from keytui.domain import Status
from tests.support import totp_code

REVEAL_NOTICE = "This is the only time keytui shows this token"


async def select_key(c, name: str) -> None:
    """Open the registry filtered to one key, cursor on it."""
    await c.press("2")
    await c.wait_for_text("of 24 keys")
    await c.press("slash")
    await c.paste(name)
    await c.press("enter")
    await c.wait_for_text("1-1 of 1 keys", f"filter: {name}")


def shown_token(c) -> str:
    """The token the reveal dialog shows."""
    match = re.search(r"kt_(?:dev|sbx|stg|prod)_[0-9A-Za-z]{33}_[0-9A-Za-z]{6}", c.text())
    assert match, "no token on screen"
    return match.group(0)


async def test_rotate_asks_the_grace_period_and_shows_the_new_token_once(demo_vault, console, demo_keys):
    key = demo_keys["Workflow Scheduler Key"]
    async with console(demo_vault) as c:
        await select_key(c, key.name)
        await c.press("r")
        await c.wait_for_text(f"Rotate {key.name}", "Grace (hours)")
        assert "24" in c.focused_text()  # the default grace period
        await c.clear_field()
        await c.type("999999")
        await c.press("enter")
        await c.wait_for_text("grace:")
        assert len(demo_vault.secrets(key.key_id)) == 1  # nothing changed
        await c.clear_field()
        await c.type("2")
        await c.press("enter")
        await c.wait_for_text(f"Token rotated: {key.name}", REVEAL_NOTICE)
        secrets = demo_vault.secrets(key.key_id)
        assert [s.origin for s in secrets] == ["rotate", "create"]
        assert (secrets[1].valid_until - demo_vault.now()).total_seconds() == 2 * 3600
        same = shown_token(c) == demo_vault.copy_token(key.key_id)
        assert same, "the reveal does not show the new token"
        await c.press("y")
        same = c.clipboard == demo_vault.copy_token(key.key_id)
        assert same, "the reveal's copy did not put the new token on the clipboard"
        await c.press("escape")
        await c.wait_for_no_text(REVEAL_NOTICE)
        assert "filter: Workflow Scheduler Key" in c.text()


async def test_revoking_a_production_key_needs_its_name_typed(demo_vault, console, demo_keys):
    key = demo_keys["OpenAI Gateway Key"]
    async with console(demo_vault) as c:
        await select_key(c, key.name)
        await c.press("x")
        await c.wait_for_text(f"Revoke {key.name}?", "Type the key name")
        await c.type("OpenAI")
        await c.press("enter")
        await c.wait_for_text("type OpenAI Gateway Key exactly")
        assert demo_vault.get(key.key_id).status is Status.ACTIVE
        await c.clear_field()
        await c.paste(key.name)
        await c.press("enter")
        await c.wait_for_notification(f"{key.name} revoked")
        assert demo_vault.get(key.key_id).status is Status.REVOKED
        await c.wait_for(lambda: any(line.lstrip().startswith(key.name) and " revoked " in line for line in c.lines()),
                         "the registry to show it revoked")


async def test_revoking_a_non_production_key_is_a_plain_confirmation_and_cancel_changes_nothing(
        demo_vault, console, demo_keys):
    key = demo_keys["Log Shipper Key"]
    async with console(demo_vault) as c:
        await select_key(c, key.name)
        await c.press("x")
        await c.wait_for_text(f"Revoke {key.name}?")
        assert "Type the key name" not in c.text()
        await c.press("escape")
        await c.wait_for_no_text(f"Revoke {key.name}?")
        assert demo_vault.get(key.key_id).status is Status.ACTIVE
        await c.press("x")
        await c.wait_for_text(f"Revoke {key.name}?")
        await c.click("Revoke")
        await c.wait_for_notification(f"{key.name} revoked")
        assert demo_vault.get(key.key_id).status is Status.REVOKED


async def test_regenerate_ends_every_old_token(demo_vault, console, demo_keys):
    key = demo_keys["Sandbox Simulation Key"]
    async with console(demo_vault) as c:
        await select_key(c, key.name)
        await c.press("R")
        await c.wait_for_text(f"Regenerate {key.name}?")
        await c.click("Regenerate")
        await c.wait_for_text(f"Token regenerated: {key.name}", REVEAL_NOTICE)
        secrets = demo_vault.secrets(key.key_id)
        assert [(s.origin, s.live) for s in secrets] == [("regenerate", True), ("create", False)]


async def test_revoked_key_actions_are_refused_before_asking_anything(demo_vault, console, demo_keys):
    key = demo_keys["Governance Admin Key"]
    async with console(demo_vault) as c:
        await select_key(c, key.name)
        for press in ("r", "x", "R", "y"):
            await c.press(press)
            await c.wait_for(lambda: len([n for n in c.notifications() if "is revoked; revoked keys cannot be" in n])
                             == ("r", "x", "R", "y").index(press) + 1, f"the refusal of {press}")
            assert "Grace period" not in c.text() and "?" not in c.line_with("Governance Admin Key")
        assert c.clipboard == ""
    assert [e["action"] for e in demo_vault.audit_entries(key_id=key.key_id)][0] == "key.revoke"


async def test_copy_token_puts_it_on_the_clipboard_and_says_how(demo_vault, console, demo_keys):
    key = demo_keys["Workflow Webhook Key"]
    async with console(demo_vault) as c:
        await select_key(c, key.name)
        await c.press("y")
        said = await c.wait_for_notification("the token of Workflow Webhook Key")
        assert "OSC 52" in said and "set-clipboard on" in said and "cannot see or clear" in said
        same = c.clipboard == demo_vault.copy_token(key.key_id)
        assert same, "the clipboard does not hold the key's token"
    copies = [e for e in demo_vault.audit_entries(key_id=key.key_id) if e["action"] == "key.copy"]
    assert len(copies) == 2  # the console's copy and this test's


async def test_copying_a_production_execute_token_asks_totp_and_cancel_copies_nothing(
        demo_vault, console, demo_keys, tui_clock):
    key = demo_keys["Agents Execution Key"]
    secret, _ = demo_vault.enroll_mfa()
    async with console(demo_vault) as c:
        await select_key(c, key.name)
        await c.press("y")
        await c.wait_for_text("MFA required")
        await c.press("escape")
        await c.wait_for_notification("no MFA code given")
        assert c.clipboard == ""
        await c.press("y")
        await c.wait_for_text("MFA required")
        await c.type("000000")
        await c.press("enter")
        await c.wait_for_text("MFA required", "wrong code")  # asked again, saying why
        await c.type(totp_code(secret, tui_clock.now()))
        await c.press("enter")
        await c.wait_for_notification("the token of Agents Execution Key")
        assert "MFA required" not in c.text()
        same = c.clipboard == demo_vault.copy_token(key.key_id)
        assert same, "the clipboard does not hold the key's token"


async def test_totp_prompt_offers_enrolment_when_the_operator_has_none(demo_vault, console, demo_keys, tui_clock):
    key = demo_keys["Agents Execution Key"]
    async with console(demo_vault) as c:
        await select_key(c, key.name)
        await c.press("y")
        await c.wait_for_text("You have no authenticator enrolled", "Enrol an authenticator now")
        await c.click("Enrol an authenticator now")
        shown = await c.wait_for_text("otpauth://totp/", "shown only once")
        assert demo_vault.has_mfa()
        secret = re.search(r"Secret: ([A-Z2-7]+)", shown).group(1)
        await c.type(totp_code(secret, tui_clock.now()))
        await c.press("enter")
        await c.wait_for_notification("the token of Agents Execution Key")
        same = c.clipboard == demo_vault.copy_token(key.key_id)
        assert same, "the clipboard does not hold the key's token"


async def test_key_detail_shows_fields_tokens_history_and_activity_and_acts_on_its_key(
        demo_vault, console, demo_keys):
    key = demo_keys["Workflow Trigger Key"]
    async with console(demo_vault) as c:
        await select_key(c, key.name)
        await c.press("enter")
        await c.wait_for(lambda: f"Key: {key.name}" in c.title, "the key's detail")
        for text in (key.name, key.key_id, "Workflow Automation", "10.30.0.0/16", "execute", "Production"):
            assert text in c.text()
        tokens = c.text().split("Tokens")[1].split("Rotation and audit history")[0]
        assert len(re.findall(r"kt_prod_…\w{4}", tokens)) == len(demo_vault.secrets(key.key_id)) == 1
        history = c.text().split("Rotation and audit history")[1].split("Recent activity")[0]
        assert "key.create" in history and "key.rotate" not in history
        assert re.search(r"\b(success|failed)\b", c.text().split("Recent activity")[1])
        await c.press("r")
        await c.wait_for_text("Grace (hours)")
        await c.press("enter")
        await c.wait_for_text(REVEAL_NOTICE)
        await c.press("escape")  # closes the token reveal: back on the key's detail
        await c.wait_for(lambda: "key.rotate" in c.text().split("Rotation and audit history")[1], "the rotation")
        assert f"Key: {key.name}" in c.title
        tokens = c.text().split("Tokens")[1].split("Rotation and audit history")[0]
        assert len(re.findall(r"kt_prod_…\w{4}", tokens)) == len(demo_vault.secrets(key.key_id)) == 2


async def test_unknown_key_id_from_the_palette_opens_nothing(demo_vault, console):
    async with console(demo_vault) as c:
        await c.press("ctrl+p")
        await c.type("key_doesnotexist")
        await c.wait_for_text("No matches")
        await c.press("escape")
        await c.wait_for_text("Keys per environment")
        assert c.page == "overview"
