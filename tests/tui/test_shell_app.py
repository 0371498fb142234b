"""The console shell: pages, navigation, Overview, --demo, the watch worker."""

from __future__ import annotations

from keytui.keymap import PAGES

async def test_console_opens_on_the_overview_and_number_keys_switch_pages(demo_vault, make_app):
    app = make_app(demo_vault)
    async with app.run_test(size=(120, 40)) as pilot:
        assert app.current_mode == "overview"
        assert str(app.screen.query_one("#card-total .value").render()) == "24"
        for n, (mode, _) in enumerate(PAGES, start=1):
            await pilot.press(str(n))
            await pilot.pause()
            assert app.current_mode == mode and app.screen.PAGE == mode


async def test_clicking_a_tab_in_the_page_bar_switches_page(demo_vault, make_app):
    from keytui.widgets.page_bar import PageBar

    app = make_app(demo_vault)
    async with app.run_test(size=(80, 24)) as pilot:
        tabs = PageBar.render_tabs("overview").plain
        await pilot.click(PageBar, offset=(tabs.index("Scopes"), 0))
        await pilot.pause()
        assert app.current_mode == "scopes"


async def test_overview_cards_and_environment_counts(demo_vault, make_app):
    app = make_app(demo_vault)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        values = [str(app.screen.query_one(f"#card-{c} .value").render()) for c in
                  ("total", "active", "expired", "revoked")]
        assert values == ["24", "18", "4", "2"]
        envs = str(app.screen.query_one("#environments").render())
        assert "Production       8 6 act 1 exp 1 rev" in envs
        assert app.screen.query_one("#recent").row_count > 0


def test_demo_flag_builds_the_demo_in_its_own_home_never_the_real_one(tmp_path, monkeypatch):
    from argparse import Namespace

    from keytui import app as app_module, config
    from keytui.service import Vault

    demo_home, real_home = tmp_path / "demo", tmp_path / "real"
    monkeypatch.setattr(config, "demo_home", lambda: demo_home)
    opened = []
    monkeypatch.setattr(app_module.KeytuiApp, "run", lambda self: opened.append(self.vault.count_keys()))
    for _ in range(2):  # the second start finds the demo and does not build again
        assert app_module.run_console(Namespace(home=str(real_home), operator="alice", read_only=False, demo=True)) == 0
    assert opened == [24, 24]
    assert not (real_home / "keytui.db").exists()
    vault = Vault.open(demo_home)
    assert vault.count_keys() == 24
    vault.close()


async def wait_for_pass(app, pilot, passes: int = 1) -> None:
    for _ in range(100):
        if app.watch_passes >= passes:
            break
        await pilot.pause(0.05)
    assert app.watch_passes >= passes, "the watch worker did not run on its timer"
    await pilot.pause()


async def test_watch_worker_runs_on_its_timer_and_rotations_reach_the_registry(demo_vault, make_app, tui_clock):
    from datetime import timedelta

    from keytui.service import KeyFilter

    soon = [k for k in demo_vault.list_keys(KeyFilter.parse(status="active")) if k.expires_at and k.expiry_days]
    key = min(soon, key=lambda k: k.expires_at)
    app = make_app(demo_vault, watch_interval=0.2)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("2")
        await pilot.pause()
        registry = app.screen
        old_expiry = registry.table.get_row(key.key_id)[7]
        tui_clock.set(key.expires_at - timedelta(days=2))  # inside the Auto Rotation window
        await wait_for_pass(app, pilot, app.watch_passes + 2)  # a pass already running saw the old time
        assert [s.origin for s in demo_vault.secrets(key.key_id)][0] == "auto-rotate"
        assert registry.table.get_row(key.key_id)[7] != old_expiry  # renewed, shown without a restart
        assert any("Auto Rotation rotated" in n for n in app.notes)


async def test_new_alerts_from_the_watch_are_notified_and_shown_on_the_overview(demo_vault, make_app, tui_clock):
    from keytui import tokens
    from keytui.domain import Environment

    ip = "198.51.100.9"
    app = make_app(demo_vault, watch_interval=0.2)
    async with app.run_test(size=(120, 40)) as pilot:
        panel = app.screen.query_one("#alerts")
        before = panel.border_title
        for _ in range(6):  # a burst of unknown tokens from one address
            tui_clock.advance(seconds=5)
            demo_vault.verify(tokens.generate(Environment.PRODUCTION), "production", ip=ip)
        await wait_for_pass(app, pilot, app.watch_passes + 2)
        assert any(ip in n for n in app.notes)
        assert panel.border_title != before and ip in str(panel.render())


async def test_the_watch_does_not_run_read_only(demo_vault, make_app):
    from keytui.service import Vault

    reviewer = Vault.open(demo_vault.settings.home, operator="rita", read_only=True, clock=demo_vault.clock)
    app = make_app(reviewer, watch_interval=0.05)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.3)
        assert app.watch_passes == 0


async def test_a_user_keymap_rebinds_by_binding_id(demo_vault, make_app):
    (demo_vault.settings.home / "keymap.toml").write_text('[keymap]\n"key.revoke" = "delete"\n')
    app = make_app(demo_vault)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("2")
        await pilot.pause()
        app.screen.set_filter(search="Log Shipper Key")
        await pilot.pause()
        await pilot.press("delete")
        await pilot.pause()
        assert type(app.screen).__name__ == "ConfirmDialog"


async def test_a_broken_keymap_is_reported_and_ignored(demo_vault, make_app):
    (demo_vault.settings.home / "keymap.toml").write_text("[keymap\n")
    app = make_app(demo_vault)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert any(n.startswith("keymap.toml ignored") for n in app.notes)


async def test_a_failing_watch_pass_is_reported_and_the_console_keeps_running(demo_vault, make_app, monkeypatch):
    from keytui.service import watch

    def broken(vault):
        raise RuntimeError("disk full")

    monkeypatch.setattr(watch, "run_pass", broken)
    app = make_app(demo_vault, watch_interval=0.1)
    async with app.run_test(size=(80, 24)) as pilot:
        for _ in range(40):
            if any("disk full" in n for n in app.notes):
                break
            await pilot.pause(0.05)
        assert any(n == "The watch pass failed: disk full" for n in app.notes)
        await pilot.press("2")
        await pilot.pause()
        assert app.current_mode == "registry"


async def test_key_detail_links_to_its_activity_log(demo_vault, make_app, demo_keys):
    key = demo_keys["Workflow Trigger Key"]
    app = make_app(demo_vault)
    async with app.run_test(size=(120, 40)) as pilot:
        app.show_key(key.key_id)
        await pilot.pause()
        await pilot.press("a")
        await pilot.pause()
        assert app.current_mode == "activity" and app.screen.filters == {"key_id": key.key_id}


async def test_apply_org_policy_opens_the_policies_page_flow(demo_vault, make_app):
    app = make_app(demo_vault)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("o")
        await pilot.pause()
        assert app.current_mode == "policies"
        assert type(app.screen).__name__ == "TextPrompt" and app.screen.title_text == "Apply Org Policy"


async def test_escape_goes_back_to_the_page_shown_before(demo_vault, make_app):
    app = make_app(demo_vault)
    async with app.run_test(size=(120, 40)) as pilot:
        app.show_registry(scope="agents")  # as the Scopes page does on enter
        await pilot.pause()
        assert app.current_mode == "registry"
        await pilot.press("slash", "x", "escape")  # the first escape only leaves the filter box
        await pilot.pause()
        assert app.current_mode == "registry"
        await pilot.press("escape")
        await pilot.pause()
        assert app.current_mode == "overview"
        await pilot.press("3", "2", "escape")
        await pilot.pause()
        assert app.current_mode == "scopes"


async def test_overview_shows_new_traffic_without_a_key_press(demo_vault, make_app, tui_clock, monkeypatch):
    from keytui.screens import overview

    monkeypatch.setattr(overview, "POLL_S", 0.05)
    issued = demo_vault.create("Fresh Key", "monitoring", ["read"], "development", expires_in_days=30)
    app = make_app(demo_vault)
    async with app.run_test(size=(120, 40)) as pilot:
        recent = app.screen.query_one("#recent")
        tui_clock.advance(minutes=1)
        demo_vault.verify(issued.token, "development", module="monitoring")  # as another process would
        for _ in range(40):
            if recent.get_row_at(0)[1] == "Fresh Key":
                break
            await pilot.pause(0.05)
        assert recent.get_row_at(0)[1] == "Fresh Key"
