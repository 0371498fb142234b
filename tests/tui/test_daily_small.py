"""Small breaks of trust, each as the operator meets it (issue 12's last section)."""

from __future__ import annotations

import json
import os
import re
import stat
from argparse import Namespace

import pytest

from keytui import totp
from tests.tui.console import running
from tests.tui.test_daily_writes import find_key, permissions_of

SIZES = [(80, 24), (120, 40)]


async def test_j_and_k_on_policies_move_between_settings_and_never_type_into_a_field(demo_vault, make_app):
    before = demo_vault.policy_settings()
    async with running(make_app(demo_vault), (120, 40)) as console:
        await console.press("5")
        await console.wait_for_text("Auto Rotation")
        for key in "j" * 14 + "k" * 14 + "j" * 3:
            await console.press(key)
            assert "ToggleRow" == type(console.app.focused).__name__ or console.app.focused is None
        assert "jj" not in console.text() and "kk" not in console.text()
        await console.press("down", "down", "up")
        assert type(console.app.focused).__name__ == "ToggleRow"
    assert demo_vault.policy_settings() == before


async def test_tab_enters_a_threshold_field_and_typing_there_types(demo_vault, make_app):
    async with running(make_app(demo_vault), (120, 40)) as console:
        await console.press("5")
        await console.wait_for_text("Auto Rotation")
        await console.focus_on("7")  # rotate [7] days before expiry
        await console.clear_field()
        await console.type("14")
        await console.press("enter")
        await console.wait_for_text("Saved: Auto Rotation: rotate 14 days before expiry (audited).")
    assert demo_vault.policy_settings()["auto_rotation_days"] == 14


async def test_a_number_key_always_shows_its_page_not_a_key_left_open_over_it(demo_vault, make_app):
    async with running(make_app(demo_vault), (120, 40)) as console:
        await console.press("2")
        await console.wait_for_text("of 24 keys")
        await console.press("ctrl+p")
        await console.paste("Log Shipper")
        await console.wait_for_text("Open key Log Shipper Key")
        await console.press("enter")
        await console.wait_for_text("Key: Log Shipper Key")
        await console.press("5", "2")
        await console.wait_for_text("of 24 keys", "sorted by")
        assert "Key: Log Shipper Key" not in console.text()


@pytest.mark.parametrize("how", ["--home", "KEYTUI_HOME"])
def test_demo_uses_the_home_it_is_given_and_says_where(tmp_path, monkeypatch, capsys, how):
    from keytui import app as app_module, config

    given, default = tmp_path / "given", tmp_path / "default-demo"
    monkeypatch.setattr(config, "demo_home", lambda: default)
    monkeypatch.delenv("KEYTUI_HOME", raising=False)
    monkeypatch.delenv("KEYTUI_DATABASE_URL", raising=False)  # the demo's database is the home's own file
    if how == "KEYTUI_HOME":
        monkeypatch.setenv("KEYTUI_HOME", str(given))
    opened = []
    monkeypatch.setattr(app_module.KeytuiApp, "run", lambda self, **kw: opened.append(self.vault.count_keys()))
    args = Namespace(home=str(given) if how == "--home" else None, operator="alice", read_only=False, demo=True)
    assert app_module.run_console(args) == 0
    assert opened == [24]
    assert (given / "keytui.db").exists() and not default.exists()
    assert f"demo data in {given}" in capsys.readouterr().err


def test_demo_without_a_home_uses_its_own(tmp_path, monkeypatch, capsys):
    from keytui import app as app_module, config

    default = tmp_path / "default-demo"
    monkeypatch.setattr(config, "demo_home", lambda: default)
    monkeypatch.delenv("KEYTUI_HOME", raising=False)
    monkeypatch.delenv("KEYTUI_DATABASE_URL", raising=False)
    monkeypatch.setattr(app_module.KeytuiApp, "run", lambda self, **kw: None)
    assert app_module.run_console(Namespace(home=None, operator="alice", read_only=False, demo=True)) == 0
    assert (default / "keytui.db").exists() and f"demo data in {default}" in capsys.readouterr().err


@pytest.mark.parametrize("setting", ["KEYTUI_DATABASE_URL", "KEYTUI_SOCKET"])
def test_demo_refuses_a_shared_database_and_writes_nothing(cli, tmp_path, setting):
    """Demo keys, and the demo's movable clock, must never land in a database others use."""
    url = "postgresql://nobody@127.0.0.1:1/none" if setting == "KEYTUI_DATABASE_URL" else str(tmp_path / "sock")
    done = cli("--demo", env={setting: url, "KEYTUI_HOME": str(tmp_path / "demo")})
    assert done.code == 2
    assert done.err == "keytui: demo: the demo database is embedded; " + (
        "unset KEYTUI_DATABASE_URL\n" if setting == "KEYTUI_DATABASE_URL" else
        "leave out --socket (and unset KEYTUI_SOCKET)\n")
    assert not (tmp_path / "demo").exists()


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
async def test_the_empty_home_hint_is_shown_whole(vault, make_app, size):
    hint = "No keys yet: press c to create one, or run keytui --demo to explore demo data (in its own home)."
    async with running(make_app(vault), size) as console:
        await console.wait_for_text("No keys yet")
        joined = " ".join(line.strip() for line in console.lines())
        assert hint in joined


async def test_an_error_about_one_key_goes_when_another_is_picked(demo_vault, make_app):
    async with running(make_app(demo_vault), (120, 40)) as console:
        await permissions_of(console, "Leaked Demo Key")  # revoked
        await console.focus_on("Write", key="j")
        await console.press("space")
        await console.wait_for_text("revoked keys cannot be edited")
        await console.press("slash")
        await console.paste("Log Shipper Key")
        await console.press("enter")
        await console.wait_for(lambda: "Log Shipper Key  key_" in console.text(), "the other key")
        assert "revoked keys cannot be edited" not in console.text()


async def test_the_mfa_prompt_sees_an_enrolment_made_elsewhere_meanwhile(demo_vault, make_app, demo_keys, tui_clock):
    key = demo_keys["Agents Execution Key"]  # production, execute: copying needs MFA
    async with running(make_app(demo_vault), (120, 40)) as console:
        await find_key(console, key.name)
        await console.press("y")
        await console.wait_for_text("You have no authenticator enrolled")
        secret, _ = demo_vault.enroll_mfa()  # `keytui mfa enroll` in another terminal
        await console.click("Enrol an authenticator now")
        await console.wait_for_text("You have an authenticator enrolled now: type its current code.")
        assert "Secret:" not in console.text()
        await console.type(totp.code_for(secret, tui_clock.now()))
        await console.press("enter")
        await console.wait_for_notification("to your terminal (OSC 52)")
    same = console.clipboard == demo_vault.copy_token(key.key_id)
    assert same, "the clipboard does not hold the key's token"


async def test_the_token_reveal_says_what_is_true(demo_vault, make_app, demo_keys):
    async with running(make_app(demo_vault), (120, 40)) as console:
        await find_key(console, "Log Shipper Key")
        await console.press("r")
        await console.wait_for_text("Grace (hours)")
        await console.press("enter")
        await console.wait_for_text("Token rotated: Log Shipper Key", "the only time keytui shows this token")
        assert "You will not see this token again" not in console.text()
        assert "copies it again later (audited" in " ".join(console.text().split())


async def test_history_and_messages_are_written_for_people(demo_vault, make_app, demo_keys):
    key = demo_keys["Log Shipper Key"]
    demo_vault.update(key.key_id, permissions=["read", "write"], owner="ci-bot")
    async with running(make_app(demo_vault), (120, 40)) as console:
        await find_key(console, key.name)
        await console.press("enter")
        await console.wait_for_text("Rotation and audit history")
        line = console.line_with("key.update")
        assert "permissions write → read,write" in line and "owner observability → ci-bot" in line
        assert "changes=" not in console.text() and "{" not in line and "'" not in line


async def test_the_charts_count_in_whole_numbers(demo_vault, make_app):
    async with running(make_app(demo_vault), (120, 40)) as console:
        await console.press("6")
        await console.wait_for_text("Failed authentications")
        for window in ("d", "w", "m"):
            await console.press(window)
            await console.pilot.pause(0.3)
            charts = [line for line in console.lines() if line.startswith("│")]
            assert charts and not [line for line in charts if re.search(r"\d\.\d", line)], "\n".join(charts)


@pytest.mark.parametrize("no_color", [False, True], ids=["colour", "NO_COLOR"])
async def test_checked_and_unchecked_boxes_read_apart_and_look_alike_everywhere(demo_vault, make_app, monkeypatch,
                                                                              no_color):
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")
    async with running(make_app(demo_vault), (120, 40)) as console:
        await console.press("c")
        await console.wait_for_text("Create New API Key")
        await console.focus_on("Write")
        await console.press("space")
        await console.wait_for_text("[x] Write")
        assert "[ ] Read" in console.text() and "[ ] Execute" in console.text()
        await console.press("escape")
        await permissions_of(console, "Log Shipper Key")
        assert "[x] Write" in console.text() and "[ ] Read" in console.text()


async def test_export_writes_0600_asks_before_replacing_and_offers_what_the_registry_shows(demo_vault, make_app,
                                                                                          tmp_path):
    path = tmp_path / "out.json"
    path.write_text("keep me")
    os.chmod(path, 0o644)
    async with running(make_app(demo_vault), (120, 40)) as console:
        await console.press("2")
        await console.wait_for_text("of 24 keys")
        await console.press("f", "f", "f")  # status: expired
        await console.wait_for_text("status: expired", "of 4 keys")
        await console.press("E")
        await console.wait_for_text("What the registry shows: status expired")
        await console.focus_on("CSV")
        await console.choose("JSON")
        await console.focus_on("keytui-registry")
        await console.clear_field()
        await console.paste(str(path))
        await console.press("enter")
        await console.wait_for_text("Replace the file?")
        await console.click("Cancel")
        await console.wait_for_text("not replaced")
        assert path.read_text() == "keep me"
        await console.press("enter")
        await console.wait_for_text("Replace the file?")
        await console.click("Replace")
        await console.wait_for_notification("Exported 4 keys (status expired)")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert {k["status"] for k in json.loads(path.read_text())} == {"expired"}


async def test_export_never_writes_through_a_symbolic_link(demo_vault, make_app, tmp_path):
    target = tmp_path / "elsewhere.csv"
    target.write_text("theirs")
    link = tmp_path / "link.csv"
    link.symlink_to(target)
    async with running(make_app(demo_vault), (120, 40)) as console:
        await console.press("E")
        await console.wait_for_text("Export Registry")
        await console.clear_field()
        await console.paste(str(link))
        await console.press("enter")
        await console.wait_for_text("is a symbolic link")
    assert target.read_text() == "theirs"


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
async def test_help_shows_every_key_name_whole(demo_vault, make_app, size):
    async with running(make_app(demo_vault), size) as console:
        await console.press("2")
        await console.wait_for_text("of 24 keys")
        await console.press("question_mark")
        await console.wait_for_text("key bindings")
        seen = set()
        for _ in range(8):
            seen |= {line.split()[0] if line.startswith("  ") else line.split()[1] for line in console.lines()[2:-1]
                     if line.strip() and len(line.split()) > 1}
            await console.press("pagedown")
        for key in ("shift+tab", "space,⏎", "pgdn", "^e", "^p", "super+c"):
            assert key in seen, sorted(seen)
