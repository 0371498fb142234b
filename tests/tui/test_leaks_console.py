"""The console's part of "when a key leaks": a rotation's callers on the key's page and ending
the grace period there, canaries marked in the registry, each alert's delivery state."""

from __future__ import annotations

from keytui.domain import VerifyCode
from keytui.screens.dialogs import ConfirmDialog
from keytui.service import alerts


async def open_key(app, pilot, key_id: str):
    app.show_key(key_id)
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()
    return app.screen


def cells(table) -> list[list[str]]:
    return [[str(getattr(c, "plain", c)) for c in table.get_row_at(i)] for i in range(table.row_count)]


async def test_key_page_shows_old_and_new_token_callers_and_ends_the_grace(demo_vault, make_app, tui_clock):
    made = demo_vault.create("Grace Watch Key", "workflows", ["read"], "staging", expires_in_days=30)
    tui_clock.advance(minutes=1)
    new = demo_vault.rotate(made.key.key_id, grace_hours=6)
    tui_clock.advance(minutes=1)
    demo_vault.verify(made.token, "staging", ip="10.1.0.7", module="workflows")
    demo_vault.verify(new.token, "staging", ip="10.2.0.9", module="agents")
    app = make_app(demo_vault)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_key(app, pilot, made.key.key_id)
        table = screen.query_one("#detail-rotation")
        assert table.display and "old token last presented" in table.border_title
        assert [r[:3] for r in cells(table)] == [["old", "10.1.0.7", "workflows"], ["new", "10.2.0.9", "agents"]]
        assert screen.check_action("end_grace", ())
        await pilot.press("e")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog) and "10.1.0.7 (workflows)" in app.screen.message
        await pilot.press("escape")
        await pilot.pause()
        assert demo_vault.verify(made.token, "staging").valid  # cancelled: nothing changed
        await pilot.press("e")
        await pilot.pause()
        await pilot.click("#confirm")
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert demo_vault.verify(made.token, "staging").code is VerifyCode.EXPIRED
        assert not screen.query_one("#detail-rotation").display and screen.check_action("end_grace", ()) is None


async def test_a_key_without_a_rotation_has_no_rotation_table(demo_vault, make_app, demo_keys):
    app = make_app(demo_vault)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_key(app, pilot, demo_keys["Log Shipper Key"].key_id)
        assert not screen.query_one("#detail-rotation").display
        await pilot.press("e")
        await pilot.pause()
        assert type(app.screen).__name__ == "KeyDetailScreen"


async def test_canaries_are_marked_for_operators(demo_vault, make_app):
    bait = demo_vault.create("Bait [bold]Key", "agents", ["read"], "sandbox", expires_in_days=30, canary=True)
    app = make_app(demo_vault)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("2")
        await pilot.pause()
        app.screen.set_filter(search="Bait")
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.screen.table.get_row(bait.key.key_id)[0].plain == "◆ Bait [bold]Key"
        assert "◆ canary" in str(app.screen.query_one("#registry-status").render())
        screen = await open_key(app, pilot, bait.key.key_id)
        assert "never authorises" in str(screen.query_one("#detail-fields").render())


async def test_the_alerts_screen_shows_each_channels_delivery(demo_vault, make_app):
    demo_vault.add_alert_channel("oncall", "webhook", url="http://127.0.0.1:9/", secret="s" * 32)
    with demo_vault.ctx.transaction():
        alerts.raise_alert(demo_vault.ctx, kind="key-leaked", severity="high", message="zz newest",
                           dedupe_key="console-test")
    demo_vault.deliver_alerts()  # port 9 refuses: pending, one attempt
    app = make_app(demo_vault)
    async with app.run_test(size=(120, 40)) as pilot:
        app.action_show_alerts()
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        detail = str(app.screen.query_one("#alert-detail").render())
        assert "delivery: oncall pending (1 attempts: webhook unreachable" in detail


async def test_the_policies_page_switches_the_leak_response_and_canary_cooling(demo_vault, make_app):
    app = make_app(demo_vault)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("5")
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        row = app.screen.query_one("#policy-leak_response")
        assert row.value is True
        row.focus()
        await pilot.press("enter")
        await pilot.pause()
        assert demo_vault.policy_settings()["leak_response"] == "alert"
        app.screen.query_one("#policy-canary_cooling").focus()
        await pilot.press("enter")
        await pilot.pause()
        assert demo_vault.policy_settings()["canary_cooling"] is False
