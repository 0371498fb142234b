"""Create Key, Export Registry, help, command palette, theme and read-only mode."""

from __future__ import annotations

import csv
import json
import re

from keytui.keymap import APP_BINDINGS, KEY_BINDINGS, REGISTRY_BINDINGS
from tests.support import totp_code

FORM = "Create New API Key"


async def open_create(c):
    await c.press("c")
    await c.wait_for_text(FORM, "Key Name", "Module Scope")


async def fill(c, *, name="Agents Nightly Runner", scope="Agents Execution", perms=("Read",),
               environment="Sandbox", expiry="60 days", ip=""):
    """Fill the form from the keyboard, top to bottom, as an operator tabs through it."""
    await c.focus_on("e.g. Agents Pipeline Executor")  # the (empty) Key Name field
    await c.paste(name)
    await c.press("tab")
    await c.choose(scope)
    for perm in ("Read", "Write", "Execute", "Admin"):
        await c.press("tab")
        if perm in perms:
            await c.press("space")
    await c.press("tab")
    await c.choose(environment)
    await c.press("tab")
    await c.choose(expiry)
    await c.press("tab")
    if ip:
        await c.paste(ip)


async def test_create_key_form_validates_as_you_type_next_to_each_field(demo_vault, console):
    async with console(demo_vault) as c:
        await open_create(c)
        assert "name:" not in c.text()  # an untouched form shows no errors
        await c.type("x")
        await c.press("backspace")
        await c.wait_for_text("name: must not be empty")
        await c.type("Agents Nightly Runner")
        await c.press("tab")
        await c.choose("Agents Execution")
        await c.press("tab", "space", "tab", "tab", "tab", "tab")
        await c.choose("Production")
        await c.press("tab")
        await c.choose("Never")
        await c.wait_for_text("production keys must expire")
        await c.press("tab")
        await c.type("10.0.0.0/33")
        await c.wait_for_text("'10.0.0.0/33' is not an IPv4/IPv6 address or CIDR")
        await c.press("ctrl+s")
        assert FORM in c.text()
        assert demo_vault.count_keys() == 24


async def test_submitting_an_empty_form_names_every_missing_field(demo_vault, console):
    async with console(demo_vault) as c:
        await open_create(c)
        await c.press("ctrl+s")
        await c.wait_for_text("name:", "scope:", "permission: at least one", "environment:")
        assert demo_vault.count_keys() == 24


async def test_create_key_shows_the_token_once(demo_vault, console):
    async with console(demo_vault) as c:
        await open_create(c)
        await fill(c, ip="203.0.113.7, 10.0.0.0/8")
        await c.press("ctrl+s")
        shown = await c.wait_for_text("Token created: Agents Nightly Runner", "This is the only time keytui shows this token")
        [made] = demo_vault.find("Agents Nightly Runner")[:1]
        assert made.environment.value == "sandbox" and made.permissions_text == "read"
        assert made.ip_allowlist == ("203.0.113.7", "10.0.0.0/8") and made.expiry_days == 60
        token = re.search(r"kt_sbx_[0-9A-Za-z]{33}_[0-9A-Za-z]{6}", shown)
        same = token is not None and demo_vault.copy_token(made.key_id) == token.group(0)
        assert same, "the reveal does not show the key's token"


async def test_a_name_already_used_is_shown_beside_the_name(demo_vault, console):
    async with console(demo_vault) as c:
        await open_create(c)
        await fill(c, name="Workflow Scheduler Key", scope="Workflow Automation", environment="Staging")
        await c.press("ctrl+s")
        await c.wait_for_text("already used")
        assert FORM in c.text() and demo_vault.count_keys() == 24


async def test_execute_permission_asks_totp_in_the_same_flow_and_opens_the_mfa_window(demo_vault, console, tui_clock):
    secret, _ = demo_vault.enroll_mfa()
    async with console(demo_vault) as c:
        await open_create(c)
        await fill(c, perms=("Execute",))
        await c.press("ctrl+s")
        await c.wait_for_text("MFA required")
        await c.press("escape")
        await c.wait_for_no_text("MFA required")
        assert FORM in c.text() and demo_vault.count_keys() == 24  # still in the form, nothing made
        await c.press("ctrl+s")
        await c.wait_for_text("MFA required")
        await c.type(totp_code(secret, tui_clock.now()))
        await c.press("enter")
        await c.wait_for_text("Token created: Agents Nightly Runner")
        assert demo_vault.count_keys() == 25
        await c.press("escape", "c")  # a second execute key within the console's MFA window: no code asked
        await c.wait_for_text(FORM)
        await fill(c, name="Agents Second Runner", perms=("Execute",))
        await c.press("ctrl+s")
        await c.wait_for_text("Token created: Agents Second Runner")
        assert demo_vault.count_keys() == 26


async def test_export_registry_writes_csv_or_json_to_the_typed_path(demo_vault, console, tmp_path):
    async with console(demo_vault) as c:
        await c.press("E")
        await c.wait_for_text("Export Registry", "never a token")
        await c.clear_field()
        await c.paste(str(tmp_path / "nowhere" / "keys.csv"))
        await c.press("enter")
        await c.wait_for_text("does not exist")
        await c.clear_field()
        await c.paste(str(tmp_path / "keys.csv"))
        await c.press("enter")
        await c.wait_for_notification("Exported 24 keys")
        rows = list(csv.DictReader((tmp_path / "keys.csv").open()))
        assert len(rows) == 24 and "token" not in rows[0]
        await c.press("E")
        await c.wait_for_text("Export Registry")
        await c.press("shift+tab")  # the format
        await c.choose("JSON")
        await c.wait_for_text("keytui-registry.json")  # the path follows the format
        await c.press("tab")
        await c.clear_field()
        await c.paste(str(tmp_path / "keys.json"))
        await c.press("enter")
        await c.wait_for(lambda: (tmp_path / "keys.json").exists(), "the JSON export")
        assert len(json.loads((tmp_path / "keys.json").read_text())) == 24


async def test_read_only_refuses_every_change_with_a_message(demo_vault, reviewer, console, demo_keys):
    key = demo_keys["Log Shipper Key"]
    before = demo_vault.audit_entries(limit=1)
    async with console(reviewer()) as c:
        assert "READ-ONLY" in c.title
        for press in ("c", "E", "o"):
            await c.press(press)
        await c.wait_for(lambda: sum("refused: keytui is open read-only" in n for n in c.notifications()) == 3,
                         "three refusals")
        for dialog in (FORM, "never a token", "Path of the org policy TOML file"):  # none opened
            assert dialog not in c.text()
        await c.press("2", "slash")
        await c.paste(key.name)
        await c.press("enter")
        await c.wait_for_text("1-1 of 1 keys")
        for press in ("r", "x", "R", "y"):
            await c.press(press)
        await c.wait_for(lambda: sum("refused: keytui is open read-only" in n for n in c.notifications()) == 7,
                         "seven refusals")
        assert "Grace period" not in c.text() and "Revoke Log Shipper Key?" not in c.text()
        assert c.clipboard == ""
    assert demo_vault.audit_entries(limit=1) == before  # nothing written


async def test_help_lists_every_binding(demo_vault, console):
    async with console(demo_vault, size=(120, 120)) as c:  # tall: the whole list at once
        await c.press("question_mark")
        shown = await c.wait_for_text("palette", "Pages")
        for binding in APP_BINDINGS + KEY_BINDINGS + REGISTRY_BINDINGS:
            assert binding.description in shown or binding.id.startswith("page."), binding.id
        await c.press("escape")
        await c.wait_for_text("Keys per environment")


async def test_help_also_lists_the_page_own_bindings(demo_vault, console):
    async with console(demo_vault, size=(120, 80)) as c:
        await c.press("6")
        await c.wait_for_text("Most used keys")
        await c.press("question_mark")
        section = (await c.wait_for_text("This screen")).split("This screen", 1)[1]
        for key, does in (("d", "24 h"), ("w", "7 d"), ("m", "30 d"), ("⏎", "Activity of")):  # Analytics' own
            assert re.search(rf"^\s+{re.escape(key)}\s+{does}", section, re.M), (key, does)


async def test_theme_toggles_between_dark_and_light(demo_vault, console):
    async with console(demo_vault, size=(80, 24)) as c:
        first = c.app.theme
        await c.press("t")
        assert c.app.theme != first and {first, c.app.theme} == {"textual-dark", "textual-light"}


async def test_command_palette_jumps_to_a_key_by_name(demo_vault, console):
    async with console(demo_vault) as c:
        await c.press("ctrl+p")
        await c.type("GitHub Sync")
        await c.wait_for_text("Open key GitHub Sync Key")
        await c.press("enter")
        await c.wait_for(lambda: "Key: GitHub Sync Key" in c.title, "the key's detail")


async def test_command_palette_runs_key_actions_on_the_selected_key(demo_vault, console, demo_keys):
    key = demo_keys["Log Shipper Key"]
    async with console(demo_vault) as c:
        await c.press("2", "slash")
        await c.paste(key.name)
        await c.press("enter")
        await c.wait_for_text("1-1 of 1 keys")
        await c.press("ctrl+p")
        await c.type("Revoke Key")
        await c.wait_for_text(f"Revoke Key: {key.key_id}")
        await c.press("enter")
        await c.wait_for_text(f"Revoke {key.name}?")


async def test_create_key_preselects_the_org_policy_default_expiry(demo_vault, console):
    demo_vault.apply_org_policy("[environments.production]\ndefault_expiry_days = 30\n")
    async with console(demo_vault) as c:
        await open_create(c)
        assert "60 days" in c.line_with("Expiry Policy")
        await c.press("tab", "tab", "tab", "tab", "tab", "tab")  # name, scope, four permissions: environment
        await c.choose("Production")
        await c.wait_for(lambda: "30 days" in c.line_with("Expiry Policy"), "the policy's default expiry")
