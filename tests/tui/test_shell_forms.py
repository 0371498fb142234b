"""Create Key, Export Registry, help, command palette, theme and read-only mode."""

from __future__ import annotations

import csv
import json

from keytui import totp



async def open_create(app, pilot):
    await pilot.press("c")
    await pilot.pause()
    assert type(app.screen).__name__ == "CreateKeyScreen"
    return app.screen


def error(screen, field: str) -> str:
    return str(screen.query_one(f"#{field}-error").render())


async def fill(pilot, screen, *, name="Agents Nightly Runner", scope="agents", perms=("read",),
               environment="sandbox", expiry="60", ip=""):
    screen.query_one("#name").value = name
    screen.query_one("#scope").value = scope
    for perm in perms:
        screen.query_one(f"#perm-{perm}").value = True
    screen.query_one("#environment").value = environment
    screen.query_one("#expiry").value = expiry
    screen.query_one("#ip").value = ip
    await pilot.pause()


async def test_create_key_form_validates_as_you_type_next_to_each_field(demo_vault, make_app):
    app = make_app(demo_vault)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_create(app, pilot)
        assert error(screen, "name") == ""  # an untouched form shows no errors
        await pilot.press("x")
        await pilot.press("backspace")
        await pilot.pause()
        assert "name: must not be empty" in error(screen, "name")
        await fill(pilot, screen, environment="production", expiry="never", ip="10.0.0.0/33")
        assert "production keys must expire" in error(screen, "expiry")
        assert "'10.0.0.0/33' is not an IPv4/IPv6 address or CIDR" in error(screen, "ip")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert type(app.screen).__name__ == "CreateKeyScreen"
        assert demo_vault.count_keys() == 24


async def test_submitting_an_empty_form_names_every_missing_field(demo_vault, make_app):
    app = make_app(demo_vault)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_create(app, pilot)
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "name:" in error(screen, "name") and "scope:" in error(screen, "scope")
        assert "permission: at least one" in error(screen, "permission")
        assert "environment:" in error(screen, "environment")
        assert demo_vault.count_keys() == 24


async def test_create_key_shows_the_token_once(demo_vault, make_app):
    app = make_app(demo_vault)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_create(app, pilot)
        await fill(pilot, screen, ip="203.0.113.7, 10.0.0.0/8")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert type(app.screen).__name__ == "TokenRevealScreen"
        [made] = demo_vault.find("Agents Nightly Runner")[:1]
        assert made.environment.value == "sandbox" and made.permissions_text == "read"
        assert made.ip_allowlist == ("203.0.113.7", "10.0.0.0/8") and made.expiry_days == 60
        token_text = str(app.screen.query_one("#reveal-token").render())
        same = demo_vault.copy_token(made.key_id) == token_text
        assert same, "the reveal does not show the key's token"


async def test_a_name_already_used_is_shown_beside_the_name(demo_vault, make_app):
    app = make_app(demo_vault)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_create(app, pilot)
        await fill(pilot, screen, name="Workflow Scheduler Key", scope="workflows", environment="staging")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.screen is screen and "already used" in error(screen, "name")


async def test_execute_permission_asks_totp_in_the_same_flow(demo_vault, make_app, tui_clock):
    secret, _ = demo_vault.enroll_mfa()
    app = make_app(demo_vault)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_create(app, pilot)
        await fill(pilot, screen, perms=("execute",))
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert type(app.screen).__name__ == "TotpPrompt"
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen and demo_vault.count_keys() == 24  # still in the form, nothing made
        await pilot.press("ctrl+s")
        await pilot.pause()
        await pilot.press(*totp.code_for(secret, tui_clock.now()), "enter")
        await pilot.pause()
        assert type(app.screen).__name__ == "TokenRevealScreen"
        assert demo_vault.count_keys() == 25
        assert demo_vault.mfa_window_open()  # the console's 5-minute MFA window


async def test_export_registry_writes_csv_or_json_to_the_typed_path(demo_vault, make_app, tmp_path):
    app = make_app(demo_vault)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("E")
        await pilot.pause()
        path = app.screen.query_one("#path")
        path.value = str(tmp_path / "nowhere" / "keys.csv")
        await pilot.press("enter")
        await pilot.pause()
        assert "does not exist" in str(app.screen.query_one("#path-error").render())
        path.value = str(tmp_path / "keys.csv")
        await pilot.press("enter")
        await pilot.pause()
        rows = list(csv.DictReader((tmp_path / "keys.csv").open()))
        assert len(rows) == 24 and "token" not in rows[0]
        assert any("Exported 24 keys" in n for n in app.notes)
        await pilot.press("E")
        await pilot.pause()
        app.screen.query_one("#format").value = "json"
        await pilot.pause()
        assert app.screen.query_one("#path").value.endswith(".json")
        app.screen.query_one("#path").value = str(tmp_path / "keys.json")
        await pilot.press("enter")
        await pilot.pause()
        assert len(json.loads((tmp_path / "keys.json").read_text())) == 24


async def test_read_only_refuses_every_change_with_a_message(demo_vault, demo_template, make_app, demo_keys,
                                                             tmp_path):
    from keytui.service import Vault

    reviewer = Vault.open(demo_vault.settings.home, operator="rita", read_only=True, clock=demo_vault.clock)
    app = make_app(reviewer)
    key = demo_keys["Log Shipper Key"]
    async with app.run_test(size=(120, 40)) as pilot:
        assert "READ-ONLY" in app.sub_title
        for press in ("c", "E", "o"):
            await pilot.press(press)
            await pilot.pause()
            assert type(app.screen).__name__ in ("OverviewScreen", "PoliciesScreen")
        await pilot.press("2")
        await pilot.pause()
        app.screen.set_filter(search=key.name)
        await pilot.pause()
        for press in ("r", "x", "R", "y"):
            await pilot.press(press)
            await pilot.pause()
            assert type(app.screen).__name__ == "RegistryScreen"
        refusals = [n for n in app.notes if "refused: keytui is open read-only" in n]
        assert len(refusals) == 7
        assert app.clipboard == ""
    assert reviewer.audit_entries(limit=1) == demo_vault.audit_entries(limit=1)  # nothing written


async def test_help_lists_every_binding(demo_vault, make_app):
    from keytui.keymap import APP_BINDINGS, KEY_BINDINGS, REGISTRY_BINDINGS

    app = make_app(demo_vault)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        table = app.screen.query_one("#help-table")
        described = {str(table.get_row_at(i)[2]) for i in range(table.row_count)}
        for b in APP_BINDINGS + KEY_BINDINGS + REGISTRY_BINDINGS:
            assert b.description in described or b.id.startswith("page.")
        assert {"palette", "Pages"} <= described
        await pilot.press("escape")
        await pilot.pause()
        assert type(app.screen).__name__ == "OverviewScreen"


async def test_help_also_lists_the_page_own_bindings(demo_vault, make_app):
    app = make_app(demo_vault)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("6")
        await pilot.pause()
        own = {b.description for b in type(app.screen).BINDINGS}
        await pilot.press("question_mark")
        await pilot.pause()
        table = app.screen.query_one("#help-table")
        rows = [table.get_row_at(i) for i in range(table.row_count)]
        assert own <= {str(r[2]) for r in rows}
        assert "This screen" in {str(r[0]) for r in rows}


async def test_theme_toggles_between_dark_and_light(demo_vault, make_app):
    app = make_app(demo_vault)
    async with app.run_test(size=(80, 24)) as pilot:
        first = app.theme
        await pilot.press("t")
        assert app.theme != first and {first, app.theme} == {"textual-dark", "textual-light"}


async def test_command_palette_jumps_to_a_key_by_name(demo_vault, make_app, demo_keys):
    app = make_app(demo_vault)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"GitHub Sync")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await pilot.pause()
        assert type(app.screen).__name__ == "KeyDetailScreen"
        assert app.screen.key_id == demo_keys["GitHub Sync Key"].key_id


async def test_command_palette_runs_key_actions_on_the_selected_key(demo_vault, make_app, demo_keys):
    key = demo_keys["Log Shipper Key"]
    app = make_app(demo_vault)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("2")
        await pilot.pause()
        app.screen.set_filter(search=key.name)
        await pilot.pause()
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Revoke Key")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await pilot.pause()
        assert type(app.screen).__name__ == "ConfirmDialog"




async def test_create_key_preselects_the_org_policy_default_expiry(demo_vault, make_app):
    from keytui.service import orgpolicy

    orgpolicy.apply(demo_vault.ctx, "[environments.production]\ndefault_expiry_days = 30\n")
    app = make_app(demo_vault)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_create(app, pilot)
        assert screen.query_one("#expiry").value == "60"
        screen.query_one("#environment").value = "production"
        await pilot.pause()
        assert screen.query_one("#expiry").value == "30"
