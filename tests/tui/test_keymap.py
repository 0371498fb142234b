"""Every binding has an id, and `$KEYTUI_HOME/keymap.toml` rebinds any of them: the new key acts,
and help (`?`) shows it instead of the default."""

from __future__ import annotations

import importlib
import pkgutil
import re

import pytest
from textual.binding import Binding
from textual.dom import DOMNode

import keytui.screens
import keytui.widgets
from keytui.keymap import ALL_BINDINGS, binding_ids

# Bindings of dialogs: a modal screen keeps the app's keys (and so `?`) out, so help cannot list them there.
DIALOG_ONLY = {"alerts.ack", "alerts.all", "alerts.close", "alerts.open", "create.cancel", "create.submit", "dialog.cancel",
               "edit.cancel", "edit.save", "export.cancel", "help.close", "reveal.close", "reveal.copy", "totp.cancel"}


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


# Keys the help's Key column shows whole (longer ones, such as shift+f2, are cut to 7 characters).
SHORT_KEYS = [f"f{n}" for n in range(1, 25)] + [f"ctrl+f{n}" for n in range(1, 25)]
DEFAULT_KEY = {b.id: b.key.split(",")[0] for b in ALL_BINDINGS if b.id}
DESCRIPTION = {b.id: b.description for b in ALL_BINDINGS if b.id}
PAGE_SHOWS = {"overview": "Keys per environment", "registry": "of 24 keys", "scopes": "Used for",
              "permissions": "Permission matrix", "policies": "Security & rotation policies",
              "analytics": "Most used keys", "activity": "shown of"}


def keymap_rounds() -> list[dict[str, str]]:
    """Every binding id rebound to a distinct short key, in as many rounds as there are keys for."""
    ids = sorted(binding_ids())
    return [dict(zip(ids[i:i + len(SHORT_KEYS)], SHORT_KEYS)) for i in range(0, len(ids), len(SHORT_KEYS))]


def write_keymap(home, keymap: dict[str, str]) -> None:
    (home / "keymap.toml").write_text("[keymap]\n" + "".join(f'"{k}" = "{v}"\n' for k, v in keymap.items()))


@pytest.mark.parametrize("round_", range(len(keymap_rounds())), ids=lambda n: f"round {n + 1}")
async def test_help_shows_the_rebound_key_of_every_binding_it_lists(round_, demo_vault, console):
    keymap = keymap_rounds()[round_]
    write_keymap(demo_vault.settings.home, keymap)
    seen: set[str] = set()
    async with console(demo_vault, size=(120, 100)) as c:  # tall: the whole help at once
        def key(binding_id: str) -> str:
            return keymap.get(binding_id, DEFAULT_KEY[binding_id])

        shown = {i: c.app.get_key_display(Binding(k, "")) for i, k in keymap.items()}
        for page, then in [*[(p, None) for p in PAGE_SHOWS], ("registry", "key.details")]:
            await c.press(key(f"page.{page}"))
            await c.wait_for_text(PAGE_SHOWS[page])
            if then:
                await c.press(key(then))
                await c.wait_for(lambda: "Key: " in c.title, "a key's detail")
            await c.press(key("app.help"))
            listed = (await c.wait_for_text("Where", "In detail")).split("In detail", 1)[1]
            for binding_id, keys in shown.items():
                if re.search(rf"\s{re.escape(keys)}\s+{re.escape(DESCRIPTION[binding_id][:11])}", listed):
                    seen.add(binding_id)
            await c.press(key("help.close"))
            await c.wait_for_no_text("In detail")
            if then:
                await c.press(key("detail.back"))
                await c.wait_for(lambda: "Key: " not in c.title, "the registry again")
        assert not any("keymap.toml" in n for n in c.notifications())
    assert set(keymap) - DIALOG_ONLY - seen == set(), "help should list every binding outside dialogs, rebound"


@pytest.mark.parametrize("binding_id, key, page, then_shown", [
    ("key.revoke", "delete", "2", "Revoke Workflow Scheduler Key?"),
    ("registry.sort", "f6", "2", "sorted by Key Name"),
    ("activity.follow", "f6", "7", "PAUSED"),
    ("analytics.30d", "f6", "6", "Last 30 d:"),
    ("page.scopes", "f6", None, "Used for"),
    ("overview.alerts", "f6", None, "open alert(s)"),
])
async def test_a_rebound_key_does_what_the_binding_does(binding_id, key, page, then_shown, demo_vault, console):
    write_keymap(demo_vault.settings.home, {binding_id: key})
    async with console(demo_vault) as c:
        await c.wait_for_text("Keys per environment")
        if page:
            await c.press(page)
            await c.wait_for_text(PAGE_SHOWS[{"2": "registry", "6": "analytics", "7": "activity"}[page]])
        await c.press(key)
        await c.wait_for_text(then_shown)


async def test_a_rebound_dialog_key_works(demo_vault, console):
    write_keymap(demo_vault.settings.home, {"create.cancel": "f6"})
    async with console(demo_vault) as c:
        await c.press("c")
        await c.wait_for_text("Create New API Key")
        await c.press("f6")
        await c.wait_for_no_text("Create New API Key")
        assert "Keys per environment" in c.text()


async def test_an_unknown_binding_id_is_reported_and_the_rest_applies(demo_vault, console):
    write_keymap(demo_vault.settings.home, {"key.revok": "delete", "page.scopes": "f6"})
    async with console(demo_vault) as c:
        said = await c.wait_for_notification("key.revok")
        assert "keymap.toml" in said
        await c.press("f6")
        await c.wait_for_text("Used for")
        assert c.page == "scopes"
