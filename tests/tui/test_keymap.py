"""Every binding has an id, and `$KEYTUI_HOME/keymap.toml` rebinds any of them: the new key acts,
and help (`?`) shows it instead of the default."""

from __future__ import annotations

import importlib
import pkgutil

import pytest
from textual.binding import Binding
from textual.dom import DOMNode

import keytui.screens
import keytui.widgets
from keytui.keymap import binding_ids

# Bindings of dialogs: a modal screen keeps the app's keys (and so `?`) out, so help cannot list them there.
DIALOG_ONLY = {"alerts.ack", "alerts.all", "alerts.close", "create.cancel", "create.submit", "dialog.cancel",
               "export.cancel", "help.close", "reveal.close", "reveal.copy", "totp.cancel"}


def keytui_nodes() -> list[type]:
    for package in (keytui.screens, keytui.widgets):
        for module in pkgutil.iter_modules(package.__path__):
            importlib.import_module(f"{package.__name__}.{module.name}")
    importlib.import_module("keytui.app")
    found, todo = [], [DOMNode]
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls.__module__.startswith("keytui."):
            found.append(cls)
    return found


def test_every_binding_of_every_screen_and_widget_has_an_id():
    nodes = keytui_nodes()
    assert {"KeytuiApp", "RegistryScreen", "ActivityScreen", "ToggleRow", "LogView"} <= {c.__name__ for c in nodes}
    missing = [(cls.__name__, b.key, b.action) for cls in nodes for b in cls.__dict__.get("BINDINGS", [])
               if not (isinstance(b, Binding) and b.id)]
    assert missing == []
    used = {b.id for cls in nodes for b in cls.__dict__.get("BINDINGS", [])}
    assert used == binding_ids(), "keymap.py lists exactly the bindings in use"


def new_keys() -> dict[str, str]:
    """A distinct, otherwise unused key for every binding id."""
    keys = [f"f{n}" for n in range(1, 25)] + [f"ctrl+f{n}" for n in range(1, 25)] + [f"shift+f{n}" for n in
                                                                                   range(1, 25)]
    return dict(zip(sorted(binding_ids()), keys))


def write_keymap(home, keymap: dict[str, str]) -> None:
    (home / "keymap.toml").write_text("[keymap]\n" + "".join(f'"{k}" = "{v}"\n' for k, v in keymap.items()))


async def settle(pilot) -> None:
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def help_rows(app) -> dict[str, str]:
    """Row key (binding id) -> the keys help shows for it."""
    table = app.screen.query_one("#help-table")
    return {row.key.value: str(table.get_row(row.key)[1]) for row in table.ordered_rows}


async def test_help_shows_the_rebound_key_of_every_binding_it_lists(demo_vault, make_app, demo_keys):
    keymap = new_keys()
    write_keymap(demo_vault.settings.home, keymap)
    app = make_app(demo_vault)
    seen: set[str] = set()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        shown = lambda binding_id: app.get_key_display(Binding(keymap[binding_id], ""))  # noqa: E731
        places = [("page.overview", None), *[(f"page.{p}", None) for p in
                                              ("registry", "scopes", "permissions", "policies", "analytics",
                                               "activity")], ("page.registry", "key.details")]
        for page, then in places:
            await pilot.press(keymap[page])
            await settle(pilot)
            if then:
                await pilot.press(keymap[then])
                await settle(pilot)
            await pilot.press(keymap["app.help"])
            await settle(pilot)
            assert type(app.screen).__name__ == "HelpScreen", f"help did not open on {page} {then or ''}"
            rows = help_rows(app)
            for binding_id, keys in rows.items():
                if binding_id in keymap:
                    assert keys == shown(binding_id), f"{binding_id} on {page}: help shows {keys!r}"
                    seen.add(binding_id)
            await pilot.press(keymap["help.close"])
            await settle(pilot)
            if then:
                await pilot.press(keymap["detail.back"])
                await settle(pilot)
    assert binding_ids() - DIALOG_ONLY - seen == set(), "help should list every binding outside dialogs"
    assert not any("keymap.toml" in n for n in app.notes)


@pytest.mark.parametrize("binding_id, key, page, check", [
    ("key.revoke", "delete", "2", lambda app: type(app.screen).__name__ == "ConfirmDialog"),
    ("registry.sort", "f6", "2", lambda app: app.screen.sort == "expires_at"),
    ("activity.follow", "f6", "7", lambda app: app.screen.following is False),
    ("analytics.30d", "f6", "6", lambda app: app.screen.window == "30d"),
    ("page.scopes", "f6", None, lambda app: app.current_mode == "scopes"),
    ("overview.alerts", "f6", None, lambda app: type(app.screen).__name__ == "AlertsScreen"),
])
async def test_a_rebound_key_does_what_the_binding_does(binding_id, key, page, check, demo_vault, make_app):
    write_keymap(demo_vault.settings.home, {binding_id: key})
    app = make_app(demo_vault)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        if page:
            await pilot.press(page)
            await settle(pilot)
        await pilot.press(key)
        await settle(pilot)
        assert check(app)


async def test_a_rebound_dialog_key_works(demo_vault, make_app):
    write_keymap(demo_vault.settings.home, {"create.cancel": "f6"})
    app = make_app(demo_vault)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("c")
        await pilot.pause()
        assert type(app.screen).__name__ == "CreateKeyScreen"
        await pilot.press("f6")
        await pilot.pause()
        assert type(app.screen).__name__ == "OverviewScreen"


async def test_an_unknown_binding_id_is_reported_and_the_rest_applies(demo_vault, make_app):
    write_keymap(demo_vault.settings.home, {"key.revok": "delete", "page.scopes": "f6"})
    app = make_app(demo_vault)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert any("key.revok" in n and "keymap.toml" in n for n in app.notes)
        await pilot.press("f6")
        await settle(pilot)
        assert app.current_mode == "scopes"
