"""The console shell: pages, navigation, help, theme, command palette, read-only, the watch worker."""

from __future__ import annotations


async def test_console_opens_on_the_overview_and_number_keys_switch_pages(demo_vault, make_app):
    app = make_app(demo_vault)
    async with app.run_test(size=(120, 40)) as pilot:
        assert app.current_mode == "overview"
        await pilot.press("2")
        await pilot.pause()
        assert app.current_mode == "registry" and app.screen.PAGE == "registry"
        await pilot.press("1")
        await pilot.pause()
        assert app.current_mode == "overview"
