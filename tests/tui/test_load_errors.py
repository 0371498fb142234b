"""A page whose loader fails says so: an error line on the page and one error notification,
never "Loading…" forever; the next good load clears the line. One test per page and dialog."""

from __future__ import annotations

import pytest
from textual.worker import WorkerFailed

from keytui.widgets.load_error import LoadError

REASON = "database is locked (injected)"


def boom(*args, **kwargs):
    raise RuntimeError(REASON)


async def settle(pilot) -> None:
    """Let the page's workers finish and their results reach the screen."""
    for _ in range(2):
        await pilot.pause()
        try:
            await pilot.app.workers.wait_for_complete()
        except WorkerFailed:  # the injected failure; the screen handles it, as checked below
            pass
    await pilot.pause()


def error_line(app) -> LoadError:
    return app.screen.query_one(LoadError)


def assert_failure_shown(app, what: str) -> None:
    line = error_line(app)
    assert line.display and line.failed, "the error line should be visible"
    assert str(line.render()) == f"Could not load: {REASON}"
    assert app.notes.count(f"Could not load {what}: {REASON}") == 1


async def open_page(pilot, key: str) -> None:
    await pilot.press(key)
    await settle(pilot)


def press(key: str):
    async def opener(app, pilot) -> None:
        await pilot.press(key)
    return opener


async def open_key_detail(app, pilot) -> None:
    app.show_key(app.vault.list_keys(limit=1)[0].key_id)


# screen -> (how to open it, the Vault method its loader calls, its name in the notification)
SCREENS = {
    "RegistryScreen": (press("2"), "list_keys", "the registry"),
    "ScopesScreen": (press("3"), "scope_summaries", "the scope cards"),
    "PoliciesScreen": (press("5"), "policy_settings", "the policies"),
    "AnalyticsScreen": (press("6"), "usage", "the analytics"),
    "ActivityScreen": (press("7"), "count_events", "the activity log"),
    "KeyDetailScreen": (open_key_detail, "secrets", "the key"),
    "AlertsScreen": (press("A"), "alerts", "the alerts"),
}


@pytest.mark.parametrize("screen", list(SCREENS))
async def test_a_screen_whose_loader_fails_shows_an_error_and_notifies_once(screen, demo_vault, make_app,
                                                                          monkeypatch):
    opener, method, what = SCREENS[screen]
    app = make_app(demo_vault)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        monkeypatch.setattr(demo_vault, method, boom)
        await opener(app, pilot)
        await settle(pilot)
        assert type(app.screen).__name__ == screen
        assert_failure_shown(app, what)


async def test_overview_load_failure_is_shown_and_its_poll_does_not_repeat_the_notification(
        demo_vault, make_app, monkeypatch):
    from keytui.screens import overview

    monkeypatch.setattr(overview, "POLL_S", 0.05)
    monkeypatch.setattr(demo_vault, "overview", boom)
    app = make_app(demo_vault)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.pause(0.4)  # several polls, each trying the page again
        await settle(pilot)
        assert_failure_shown(app, "the Overview")
        monkeypatch.undo()  # the store answers again: the next poll re-reads and the error goes
        for _ in range(40):
            if not error_line(app).failed:
                break
            await pilot.pause(0.05)
        assert not error_line(app).display
        assert str(app.screen.query_one("#card-total .value").render()) == "24"


async def test_overview_poll_failure_is_shown(demo_vault, make_app, monkeypatch):
    from keytui.screens import overview

    monkeypatch.setattr(overview, "POLL_S", 0.05)
    app = make_app(demo_vault)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        monkeypatch.setattr(demo_vault, "latest_event_id", boom)
        await pilot.pause(0.4)
        await settle(pilot)
        assert_failure_shown(app, "the Overview")


async def test_permissions_key_load_failure(demo_vault, make_app, demo_keys, monkeypatch):
    app = make_app(demo_vault)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.selected_key_id = demo_keys["Workflow Trigger Key"].key_id  # as the registry would
        monkeypatch.setattr(demo_vault, "get", boom)
        await open_page(pilot, "4")
        assert_failure_shown(app, "the key's permissions")


async def test_the_next_good_load_clears_the_error(demo_vault, make_app, monkeypatch):
    app = make_app(demo_vault)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        monkeypatch.setattr(demo_vault, "usage", boom)
        await open_page(pilot, "6")
        assert error_line(app).display
        assert str(app.screen.query_one("#analytics-summary").render()) == "Loading…"
        monkeypatch.undo()
        await pilot.press("m")  # another range: a new load, which works
        await settle(pilot)
        assert not error_line(app).display
        assert "Last 30 d" in str(app.screen.query_one("#analytics-summary").render())
        assert sum("Could not load" in n for n in app.notes) == 1


async def test_a_refused_activity_filter_is_named_not_reported_as_a_load_failure(demo_vault, make_app):
    app = make_app(demo_vault)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_page(pilot, "7")
        await pilot.press("slash", "tab", "tab", "tab", *"10.0.0.999", "enter")
        await settle(pilot)
        assert "is not an IPv4 or IPv6 address" in str(app.screen.query_one("#activity-status").render())
        assert not error_line(app).display and not any("Could not load" in n for n in app.notes)


async def test_unknown_key_detail_closes_and_says_so(demo_vault, make_app):
    app = make_app(demo_vault)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.show_key("key_doesnotexist")
        await settle(pilot)
        assert type(app.screen).__name__ == "OverviewScreen"
        assert any("no key with id" in n for n in app.notes)
        assert not any("Could not load" in n for n in app.notes)
