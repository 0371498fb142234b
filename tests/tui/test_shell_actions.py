"""Per-key and global actions in the console, with their failure paths."""

from __future__ import annotations

from keytui import totp
from keytui.domain import Status


async def select_key(app, pilot, name: str):
    """Open the registry filtered to one key, cursor on it."""
    await pilot.press("2")
    await pilot.pause()
    app.screen.set_filter(search=name)
    await pilot.pause()
    assert app.screen.selected_key_id() is not None
    return app.screen


def screen_named(app) -> str:
    return type(app.screen).__name__


async def test_rotate_asks_the_grace_period_and_shows_the_new_token_once(demo_vault, make_app, demo_keys):
    key = demo_keys["Workflow Scheduler Key"]
    app = make_app(demo_vault)
    async with app.run_test(size=(120, 40)) as pilot:
        await select_key(app, pilot, key.name)
        await pilot.press("r")
        await pilot.pause()
        assert screen_named(app) == "TextPrompt"
        prompt = app.screen.query_one("#prompt-input")
        assert prompt.value == "24"
        prompt.value = "999999"
        await pilot.press("enter")
        await pilot.pause()
        assert "grace" in str(app.screen.query_one("#prompt-error").render())
        assert len(demo_vault.secrets(key.key_id)) == 1  # nothing changed
        prompt.value = "2"
        await pilot.press("enter")
        await pilot.pause()
        assert screen_named(app) == "TokenRevealScreen"
        assert "You will not see this token again" in str(app.screen.query_one("#reveal-notice").render())
        secrets = demo_vault.secrets(key.key_id)
        assert [s.origin for s in secrets] == ["rotate", "create"]
        assert (secrets[1].valid_until - demo_vault.now()).total_seconds() == 2 * 3600
        await pilot.press("y")
        same = app.clipboard == demo_vault.copy_token(key.key_id)
        assert same, "the reveal's copy did not put the new token on the clipboard"
        await pilot.press("escape")
        await pilot.pause()
        assert screen_named(app) == "RegistryScreen"


async def test_revoking_a_production_key_needs_its_name_typed(demo_vault, make_app, demo_keys):
    key = demo_keys["OpenAI Gateway Key"]
    app = make_app(demo_vault)
    async with app.run_test(size=(120, 40)) as pilot:
        await select_key(app, pilot, key.name)
        await pilot.press("x")
        await pilot.pause()
        assert screen_named(app) == "ConfirmDialog"
        await pilot.press(*"OpenAI", "enter")
        await pilot.pause()
        assert "type 'OpenAI Gateway Key' exactly" in str(app.screen.query_one("#confirm-error").render())
        assert demo_vault.get(key.key_id).status is Status.ACTIVE
        app.screen.query_one("#confirm-input").value = key.name
        await pilot.press("enter")
        await pilot.pause()
        assert demo_vault.get(key.key_id).status is Status.REVOKED
        assert app.screen.table.get_row(key.key_id)[1].plain == "revoked"  # the registry re-read


async def test_revoking_a_non_production_key_is_a_plain_confirmation_and_cancel_changes_nothing(
        demo_vault, make_app, demo_keys):
    key = demo_keys["Log Shipper Key"]
    app = make_app(demo_vault)
    async with app.run_test(size=(120, 40)) as pilot:
        await select_key(app, pilot, key.name)
        await pilot.press("x")
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
        assert demo_vault.get(key.key_id).status is Status.ACTIVE
        await pilot.press("x")
        await pilot.pause()
        await pilot.click("#confirm")
        await pilot.pause()
        assert demo_vault.get(key.key_id).status is Status.REVOKED


async def test_regenerate_ends_every_old_token(demo_vault, make_app, demo_keys):
    key = demo_keys["Sandbox Simulation Key"]
    app = make_app(demo_vault)
    async with app.run_test(size=(120, 40)) as pilot:
        await select_key(app, pilot, key.name)
        await pilot.press("R")
        await pilot.pause()
        await pilot.click("#confirm")
        await pilot.pause()
        assert screen_named(app) == "TokenRevealScreen"
        secrets = demo_vault.secrets(key.key_id)
        assert [(s.origin, s.live) for s in secrets] == [("regenerate", True), ("create", False)]


async def test_revoked_key_actions_are_refused_before_asking_anything(demo_vault, make_app, demo_keys):
    key = demo_keys["Governance Admin Key"]
    app = make_app(demo_vault)
    async with app.run_test(size=(120, 40)) as pilot:
        await select_key(app, pilot, key.name)
        for press in ("r", "x", "R", "y"):
            await pilot.press(press)
            await pilot.pause()
            assert screen_named(app) == "RegistryScreen"
        assert sum("is revoked; revoked keys cannot be" in n for n in app.notes) == 4
        assert app.clipboard == ""
    assert [e["action"] for e in demo_vault.audit_entries(key_id=key.key_id)][0] == "key.revoke"


async def test_copy_token_puts_it_on_the_clipboard_and_says_how(demo_vault, make_app, demo_keys):
    key = demo_keys["Workflow Webhook Key"]
    app = make_app(demo_vault)
    async with app.run_test(size=(120, 40)) as pilot:
        await select_key(app, pilot, key.name)
        await pilot.press("y")
        await pilot.pause()
        same = app.clipboard == demo_vault.copy_token(key.key_id)
        assert same, "the clipboard does not hold the key's token"
        assert any("OSC 52" in n and "set-clipboard on" in n and "cleared in 30 s" in n for n in app.notes)
    copies = [e for e in demo_vault.audit_entries(key_id=key.key_id) if e["action"] == "key.copy"]
    assert len(copies) == 2  # the console's copy and this test's


async def test_copying_a_production_execute_token_asks_totp_and_cancel_copies_nothing(
        demo_vault, make_app, demo_keys, tui_clock):
    key = demo_keys["Agents Execution Key"]
    secret, _ = demo_vault.enroll_mfa()
    app = make_app(demo_vault)
    async with app.run_test(size=(120, 40)) as pilot:
        await select_key(app, pilot, key.name)
        await pilot.press("y")
        await pilot.pause()
        assert screen_named(app) == "TotpPrompt"
        await pilot.press("escape")
        await pilot.pause()
        assert app.clipboard == "" and any("no MFA code given" in n for n in app.notes)
        await pilot.press("y")
        await pilot.pause()
        await pilot.press(*"000000", "enter")
        await pilot.pause()
        assert screen_named(app) == "TotpPrompt"  # asked again, saying why
        assert "wrong code" in str(app.screen.query_one("#totp-error").render())
        await pilot.press(*totp.code_for(secret, tui_clock.now()), "enter")
        await pilot.pause()
        assert screen_named(app) == "RegistryScreen"
        same = app.clipboard == demo_vault.copy_token(key.key_id)
        assert same, "the clipboard does not hold the key's token"


async def test_totp_prompt_offers_enrolment_when_the_operator_has_none(demo_vault, make_app, demo_keys, tui_clock):
    key = demo_keys["Agents Execution Key"]
    app = make_app(demo_vault)
    async with app.run_test(size=(120, 40)) as pilot:
        await select_key(app, pilot, key.name)
        await pilot.press("y")
        await pilot.pause()
        assert app.screen.query_one("#totp-code").disabled
        await pilot.click("#totp-enrol")
        await pilot.pause()
        assert demo_vault.has_mfa()
        shown = str(app.screen.query_one("#totp-enrolment").render())
        assert "otpauth://totp/" in shown and "shown only once" in shown
        secret = shown.split("Secret: ")[1].split()[0]
        await pilot.press(*totp.code_for(secret, tui_clock.now()), "enter")
        await pilot.pause()
        same = app.clipboard == demo_vault.copy_token(key.key_id)
        assert same, "the clipboard does not hold the key's token"


async def test_key_detail_shows_fields_tokens_history_and_activity_and_acts_on_its_key(
        demo_vault, make_app, demo_keys):
    key = demo_keys["Workflow Trigger Key"]
    app = make_app(demo_vault)
    async with app.run_test(size=(120, 40)) as pilot:
        app.show_key(key.key_id)
        await pilot.pause()
        detail = app.screen
        fields = str(detail.query_one("#detail-fields").render())
        for text in (key.name, key.key_id, "Workflow Automation", "10.30.0.0/16", "execute", "Production"):
            assert text in fields
        assert detail.query_one("#detail-secrets").row_count == len(demo_vault.secrets(key.key_id))
        history = detail.query_one("#detail-history")
        assert history.get_row_at(history.row_count - 1)[2] == "key.create"
        assert detail.query_one("#detail-activity").row_count > 0
        await pilot.press("r")
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("escape")  # closes the token reveal
        await pilot.pause()
        assert app.screen is detail
        assert detail.query_one("#detail-history").get_row_at(0)[2] == "key.rotate"
        assert detail.query_one("#detail-secrets").row_count == len(demo_vault.secrets(key.key_id)) == 2


async def test_unknown_key_id_is_reported_not_opened(demo_vault, make_app):
    app = make_app(demo_vault)
    async with app.run_test(size=(120, 40)) as pilot:
        app.show_key("key_doesnotexist")
        await pilot.pause()
        assert type(app.screen).__name__ == "OverviewScreen"
        assert any("no key with id" in n for n in app.notes)
