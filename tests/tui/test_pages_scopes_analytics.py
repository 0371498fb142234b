"""Scopes page (cards, moving between them, opening the registry) and Analytics page (range, links)."""

from __future__ import annotations

from keytui.service import analytics
from keytui.domain import Scope
from keytui.service import KeyFilter
from keytui.widgets.scope_card import ScopeCard


async def test_one_card_per_scope_with_count_risk_and_usage(demo_vault, make_app):
    summaries = {s.scope.value: s for s in analytics.scope_summaries(demo_vault.ctx)}
    app = make_app(demo_vault)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("3")
        await app.workers.wait_for_complete()
        await pilot.pause()
        cards = list(app.screen.query(ScopeCard))
        assert [c.scope for c in cards] == [s.value for s in Scope]
        for card in cards:
            text = str(card.render())
            assert card.key_count == summaries[card.scope].keys
            assert summaries[card.scope].risk.upper() in text
            assert card.usage in text
        assert sum(c.key_count for c in cards) == demo_vault.count_keys()


async def test_arrows_and_hjkl_move_between_cards_and_enter_opens_the_registry(demo_vault, make_app):
    app = make_app(demo_vault)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("3")
        await pilot.pause()
        assert app.focused.scope == "agents"
        await pilot.press("l")
        assert app.focused.scope == "workflows"
        await pilot.press("j")
        assert app.focused.scope == list(Scope)[4].value, "down moves one row of three cards"
        await pilot.press("k", "h", "right")
        assert app.focused.scope == "workflows"
        await pilot.press("enter")
        await pilot.pause()
        assert app.current_mode == "registry"
        assert app.screen.scope is Scope.WORKFLOWS
        assert app.screen.total == demo_vault.count_keys(KeyFilter(scope=Scope.WORKFLOWS))


async def _open_analytics(pilot):
    await pilot.press("6")
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def test_analytics_shows_the_range_figures_and_switches_range(demo_vault, make_app):
    app = make_app(demo_vault)
    async with app.run_test(size=(120, 40)) as pilot:
        await _open_analytics(pilot)
        day = analytics.usage(demo_vault.ctx, "24h")
        summary = str(app.screen.query_one("#analytics-summary").render())
        assert f"{day.total_ok + day.total_failed:,} verifications" in summary and "Last 24 h" in summary
        await pilot.press("m")
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        month = analytics.usage(demo_vault.ctx, "30d")
        summary = str(app.screen.query_one("#analytics-summary").render())
        assert "Last 30 d" in summary and f"{month.total_failed:,} failed" in summary
        table = app.screen.query_one("#most-used")
        assert [table.get_row_at(i)[1] for i in range(table.row_count)] == [k.key_id for k in month.most_used]


async def test_enter_on_a_most_used_key_opens_its_activity_log(demo_vault, make_app):
    app = make_app(demo_vault)
    async with app.run_test(size=(120, 40)) as pilot:
        await _open_analytics(pilot)
        second = analytics.usage(demo_vault.ctx, "24h").most_used[1].key_id
        await pilot.press("j", "enter")
        await pilot.pause(0.3)
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.current_mode == "activity"
        assert app.screen.filters == {"key_id": second}
