"""Registry page: columns, status words, environment tabs, filter as you type, sort, windowed paging."""

from __future__ import annotations

from keytui.domain import Environment
from keytui.service import NewKey


async def open_registry(app, pilot):
    await pilot.press("2")
    await settled(app, pilot)
    return app.screen


async def settled(app, pilot):
    """Wait for the registry's count worker, then for the screen to show its result."""
    await app.workers.wait_for_complete()
    await pilot.pause()


def status(screen) -> str:
    return str(screen.query_one("#registry-status").render())


def shown(screen) -> list[tuple[str, ...]]:
    table = screen.table
    return [tuple(str(c) for c in table.get_row_at(i)) for i in range(table.row_count)]


async def test_registry_shows_every_key_with_all_columns_and_status_as_a_word(demo_vault, make_app):
    app = make_app(demo_vault)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_registry(app, pilot)
        labels = [str(c.label).rstrip(" ▲▼") for c in screen.table.columns.values()]
        assert labels == ["Key Name", "Status", "Environment", "Module Scope", "Key ID", "Owner", "Created Date",
                          "Expiry Date", "Last Used", "Permissions"]
        rows = {r[0]: r for r in shown(screen)}
        assert len(rows) == 24
        assert rows["GitHub Sync Key"][1] == "expired"
        assert rows["Governance Admin Key"][1] == "revoked"
        assert rows["Agents Execution Key"][1:4] == ("active", "production", "Agents Execution")
        assert "1-24 of 24 keys" in status(screen)


async def test_environment_tabs_and_filter_narrow_the_table(demo_vault, make_app):
    app = make_app(demo_vault)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_registry(app, pilot)
        for _ in range(4):  # All -> Development -> Sandbox -> Staging -> Production
            await pilot.press("e")
        await pilot.pause()
        assert screen.environment is Environment.PRODUCTION
        assert {r[2] for r in shown(screen)} == {"production"} and len(shown(screen)) == 8
        await pilot.press("slash", *"sync")
        await pilot.pause(0.3)
        assert [r[0] for r in shown(screen)] == ["Governance Policy Sync", "GitHub Sync Key"]
        await pilot.press("enter")  # leaves the filter box for the table
        await pilot.press("e")  # back to All: the filter stays
        await pilot.pause()
        assert screen.environment is None
        assert sorted(r[0] for r in shown(screen)) == ["GitHub Sync Key", "Governance Policy Sync"]


async def test_filter_matches_owner_key_id_and_scope_and_says_when_nothing_matches(demo_vault, make_app, demo_keys):
    app = make_app(demo_vault)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_registry(app, pilot)
        key_id = demo_keys["Demo Build Key"].key_id
        for text, expected in ((key_id, {"Demo Build Key"}), ("ci-bot", {"GitHub Sync Key", "CI Pipeline Key"}),
                               ("no such key", set())):
            screen.set_filter(search=text)
            await settled(app, pilot)
            assert {r[0] for r in shown(screen)} == expected
        assert "0-0 of 0 keys" in status(screen)


async def test_sort_cycles_columns_and_reverses(demo_vault, make_app):
    app = make_app(demo_vault)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_registry(app, pilot)
        await pilot.press("s")  # created -> expiry
        await pilot.pause()
        assert screen.sort == "expires_at"
        while screen.sort != "name":
            await pilot.press("s")
        await pilot.pause()
        names = [r[0] for r in shown(screen)]
        assert names == sorted(names)
        await pilot.press("S")
        await pilot.pause()
        assert [r[0] for r in shown(screen)] == sorted(names, reverse=True)
        assert str(screen.table.columns["name"].label).endswith("▼")


async def test_enter_opens_the_highlighted_key(demo_vault, make_app):
    app = make_app(demo_vault)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_registry(app, pilot)
        screen.set_filter(search="GitHub Sync")
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        assert type(app.screen).__name__ == "KeyDetailScreen"
        assert app.screen.title == "Key: GitHub Sync Key"
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen


async def test_a_large_registry_is_paged_in_windows_not_loaded_whole(vault, make_app):
    from keytui.screens.registry import WINDOW

    total = WINDOW * 2 + 50
    vault.create_many([NewKey(name=f"bulk key {i:04d}", scope="monitoring", permissions=("read",),
                              environment="development", expires_in_days=30) for i in range(total)])
    app = make_app(vault)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_registry(app, pilot)
        assert screen.table.row_count == WINDOW and f"1-{WINDOW} of {total} keys" in status(screen)
        while screen.sort != "name":  # sort by name ascending
            await pilot.press("s")
        if screen.descending:
            await pilot.press("S")
        await pilot.pause()
        screen.table.move_cursor(row=WINDOW - 1)
        await pilot.press("j")  # past the window's last row: the next window comes in
        await pilot.pause()
        assert screen.table.row_count == WINDOW
        assert screen.selected_key_id() == vault.list_keys(sort="name", descending=False, limit=1,
                                                           offset=WINDOW)[0].key_id
        before = screen.window_start
        for _ in range(8):  # page down through the window; a press at its end brings the next one
            await pilot.press("pagedown")
        await pilot.pause()
        assert screen.window_start > before and screen.selected_key_id() is not None
        await pilot.press("G")
        await settled(app, pilot)
        assert shown(screen)[-1][0] == f"bulk key {total - 1:04d}"
        assert screen.selected_key_id() == vault.list_keys(sort="name", descending=True, limit=1)[0].key_id
        assert f"{total - WINDOW + 1}-{total} of {total} keys" in status(screen)
        await pilot.press("g")
        await pilot.pause()
        assert shown(screen)[0][0] == "bulk key 0000" and screen.table.cursor_row == 0


async def test_org_policy_violators_are_flagged_in_the_registry(demo_vault, make_app):
    from keytui.service import orgpolicy

    orgpolicy.apply(demo_vault.ctx, "[environments.staging]\nrequire_ip_restriction = true\n")
    app = make_app(demo_vault)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_registry(app, pilot)
        flagged = {r[0] for r in shown(screen) if r[0].startswith("⚑ ")}
        live_staging = {r[0] for r in shown(screen) if r[2] == "staging" and r[1] == "active"}
        assert len(live_staging) == 5 and flagged == live_staging  # every live staging key lacks an allowlist
