"""A page whose loader fails says so: an error line on the page and one error notification,
never "Loading…" forever; the next good load clears the line. One test per page and dialog.

The failure is injected in the service contract the console reads through (a `Vault` method of
the console's vault); what is checked is what the operator sees."""

from __future__ import annotations

import pytest

from keytui.domain import NotFoundError

REASON = "database is locked (injected)"
SHOWN = f"Could not load: {REASON}"


def boom(*args, **kwargs):
    raise RuntimeError(REASON)


async def open_registry_on(c, name: str) -> None:
    await c.press("2")
    await c.wait_for_text("of 24 keys")
    await c.press("slash")
    await c.paste(name)
    await c.press("enter")
    await c.wait_for_text("1-1 of 1 keys")


async def assert_failure_shown(c, what: str) -> None:
    await c.wait_for_text(SHOWN)
    await c.wait_for_notification(f"Could not load {what}: {REASON}")
    assert await c.stays(lambda: c.notifications().count(f"Could not load {what}: {REASON}") == 1, seconds=0.3)


# page or dialog -> (keys that open it, something it always shows, the Vault method its loader calls,
# its name in the notification)
SCREENS = {
    "registry": (("2",), "Key Name", "list_keys", "the registry"),
    "scopes": (("3",), "Agents Execution", "scope_summaries", "the scope cards"),
    "policies": (("5",), "Security & rotation policies", "policy_settings", "the policies"),
    "analytics": (("6",), "Most used keys", "usage", "the analytics"),
    "activity": (("7",), "Key ID", "count_events", "the activity log"),
    "alerts": (("A",), "Acknowledge", "alerts", "the alerts"),
}


@pytest.mark.parametrize("screen", list(SCREENS))
async def test_a_page_whose_loader_fails_shows_an_error_and_notifies_once(screen, demo_vault, console, monkeypatch):
    keys, always, method, what = SCREENS[screen]
    async with console(demo_vault) as c:
        await c.wait_for_text("Keys per environment")
        monkeypatch.setattr(demo_vault, method, boom)
        await c.press(*keys)
        await c.wait_for_text(always)
        await assert_failure_shown(c, what)


async def test_a_key_detail_whose_loader_fails_shows_an_error_and_notifies_once(demo_vault, console, monkeypatch):
    async with console(demo_vault) as c:
        await open_registry_on(c, "Workflow Trigger Key")
        monkeypatch.setattr(demo_vault, "secrets", boom)
        await c.press("enter")
        await c.wait_for_text("Rotation and audit history")
        await assert_failure_shown(c, "the key")


async def test_overview_load_failure_is_shown_and_its_poll_does_not_repeat_the_notification(
        demo_vault, console, monkeypatch):
    from keytui.screens import overview

    monkeypatch.setattr(overview, "POLL_S", 0.05)
    monkeypatch.setattr(demo_vault, "overview", boom)
    async with console(demo_vault) as c:
        await assert_failure_shown(c, "the Overview")
        assert await c.stays(lambda: c.notifications().count(f"Could not load the Overview: {REASON}") == 1,
                             seconds=0.5), "each poll repeated the notification"
        monkeypatch.undo()  # the store answers again: the next poll re-reads and the error goes
        await c.wait_for_no_text(SHOWN)
        await c.wait_for_text("Production       8 6 act 1 exp 1 rev")


async def test_overview_poll_failure_is_shown(demo_vault, console, monkeypatch):
    from keytui.screens import overview

    monkeypatch.setattr(overview, "POLL_S", 0.05)
    async with console(demo_vault) as c:
        await c.wait_for_text("Keys per environment")
        monkeypatch.setattr(demo_vault, "latest_event_id", boom)
        await assert_failure_shown(c, "the Overview")


async def test_permissions_key_load_failure(demo_vault, console, monkeypatch):
    async with console(demo_vault) as c:
        await open_registry_on(c, "Workflow Trigger Key")  # the highlighted key is the one the page shows
        monkeypatch.setattr(demo_vault, "get", boom)
        await c.press("4")
        await c.wait_for_text("Permission matrix")
        await assert_failure_shown(c, "the key's permissions")


async def test_the_next_good_load_clears_the_error(demo_vault, console, monkeypatch):
    async with console(demo_vault) as c:
        await c.wait_for_text("Keys per environment")
        monkeypatch.setattr(demo_vault, "usage", boom)
        await c.press("6")
        await c.wait_for_text(SHOWN, "Loading…")
        monkeypatch.undo()
        await c.press("m")  # another range: a new load, which works
        await c.wait_for_text("Last 30 d:")
        await c.wait_for_no_text(SHOWN)
        assert sum("Could not load" in n for n in c.notifications()) == 1


async def test_a_refused_activity_filter_is_named_not_reported_as_a_load_failure(demo_vault, console):
    async with console(demo_vault) as c:
        await c.press("7")
        await c.wait_for_text("shown of")
        await c.press("slash", "tab", "tab", "tab")
        await c.type("10.0.0.999")
        await c.press("enter")
        await c.wait_for_text("is not an IPv4 or IPv6 address")
        assert SHOWN not in c.text() and not any("Could not load" in n for n in c.notifications())


async def test_a_key_gone_by_the_time_its_detail_loads_closes_and_says_so(demo_vault, console, monkeypatch):
    async with console(demo_vault) as c:
        await open_registry_on(c, "Workflow Trigger Key")
        found = demo_vault.get
        asked = []

        def gone_after_the_first_look(key_id):
            asked.append(key_id)
            if len(asked) > 1:
                raise NotFoundError(f"key: no key with id {key_id!r}")
            return found(key_id)

        monkeypatch.setattr(demo_vault, "get", gone_after_the_first_look)
        await c.press("enter")
        await c.wait_for_notification("no key with id")
        await c.wait_for_text("1-1 of 1 keys")  # back on the registry
        assert "Key: " not in c.title
        assert not any("Could not load" in n for n in c.notifications())
