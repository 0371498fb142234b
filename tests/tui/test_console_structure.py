"""How the console is built: no Textual private attributes (tests/unit/test_layers.py checks other
objects' privates and sizes), style sheets beside their screens, screens talking through the app's
public Signal and reactive, MFA asked for on `MfaRequired` only."""

from __future__ import annotations

import ast
import gc
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import textual
import textual_plotext
from textual.screen import Screen

from keytui.app import GC_YOUNG_OBJECTS
from keytui.domain import RuleError
from keytui.service.mfa import MfaRequired

KEYTUI = Path(__file__).resolve().parents[2] / "keytui"
CONSOLE = [KEYTUI / "app.py", KEYTUI / "commands.py", KEYTUI / "clipboard.py", KEYTUI / "keymap.py",
           *sorted((KEYTUI / "screens").glob("*.py")), *sorted((KEYTUI / "widgets").glob("*.py"))]
TEXTUAL_CORE = ["app.py", "screen.py", "widget.py", "dom.py", "message_pump.py", "scroll_view.py",
                "widgets/_data_table.py", "widgets/_static.py", "widgets/_footer.py"]


# Pages skip Textual's extra styling passes by it (see keytui/screens/page.py `styled_as_it_mounts`);
# if Textual renames it, pages only open slower. Nothing else private of Textual's or of another
# object's is used.
ALLOWED_PRIVATE = ("page.py", "_css_update_count")


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def textual_private_names() -> set[str]:
    """Every `self._name` Textual (and textual-plotext) uses or defines in the classes screens build on."""
    sources = [Path(textual.__file__).parent / f for f in TEXTUAL_CORE]
    sources.append(Path(textual_plotext.__file__).parent / "plotext_plot.py")
    names = set()
    for source in sources:
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self":
                names.add(node.attr)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                names.add(node.name)
    return {n for n in names if _private(n)}


def test_the_console_uses_no_private_attribute_of_textual_or_of_another_object():
    textual_private = textual_private_names()
    assert "_screen_stacks" in textual_private
    found = []
    for path in CONSOLE:
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Attribute) and _private(node.attr)):
                continue
            own = isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")
            if (not own or node.attr in textual_private) and (path.name, node.attr) != ALLOWED_PRIVATE:
                found.append(f"{path.relative_to(KEYTUI)}:{node.lineno} {ast.unparse(node)}")
    assert found == []


def test_each_screen_has_its_style_sheet_beside_it_and_no_inline_css():
    for path in CONSOLE:
        assert "DEFAULT_CSS" not in path.read_text() and "\n    CSS = " not in path.read_text(), path.name
    for name in ("overview", "registry", "scopes", "permissions", "policies", "analytics", "activity", "key_detail",
                 "alerts", "dialogs"):
        assert (KEYTUI / "screens" / f"{name}.tcss").exists(), name
    assert "#" not in (KEYTUI / "app.tcss").read_text().split("*/")[-1], "app.tcss holds app-wide rules only"


async def settle(pilot) -> None:
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def test_a_burst_of_data_changes_is_one_read_and_hidden_pages_read_when_shown(demo_vault, make_app, monkeypatch):
    calls = {"overview": 0, "list_keys": 0}
    real_overview, real_list = demo_vault.overview, demo_vault.list_keys

    def overview():
        calls["overview"] += 1
        return real_overview()

    def list_keys(*args, **kwargs):
        calls["list_keys"] += 1
        return real_list(*args, **kwargs)

    monkeypatch.setattr(demo_vault, "overview", overview)
    monkeypatch.setattr(demo_vault, "list_keys", list_keys)
    app = make_app(demo_vault)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("2")
        await settle(pilot)
        before = dict(calls)
        for _ in range(5):
            app.data_changed()
        await settle(pilot)
        assert calls["list_keys"] == before["list_keys"] + 1, "five changes in a burst: one read"
        assert calls["overview"] == before["overview"], "the hidden Overview waits until it is shown"
        await pilot.press("1")
        await settle(pilot)
        assert calls["overview"] == before["overview"] + 1


async def test_opening_pages_and_dialogs_reads_and_reparses_no_style_sheet(demo_vault, make_app):
    """A screen bringing its own sheet, or a page's new screen, made Textual reparse every sheet and
    restyle every widget on its first visit (up to half of opening a page): the app reads them all
    at start and its pages are styled once, as they mount."""
    app = make_app(demo_vault)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        read, reparsed = [], []
        real_read, real_reparse = app.stylesheet.read, app.stylesheet.reparse
        app.stylesheet.read = lambda path: (read.append(Path(path).name), real_read(path))[1]
        app.stylesheet.reparse = lambda: (reparsed.append(type(app.screen).__name__), real_reparse())[1]
        for key in ("2", "enter", "escape", "3", "4", "5", "6", "7", "c", "escape", "1"):
            await pilot.press(key)
            await settle(pilot)
        assert type(app.screen).__name__ == "OverviewScreen"
        assert read == [] and reparsed == []


async def test_a_page_is_not_restyled_whole_on_its_first_visit_but_is_when_it_comes_back(demo_vault, make_app):
    """Textual restyles a new mode's screen for each of the two resumes it sends it (~5-10 ms of a
    first visit); a page styled as it mounts skips those, and only those."""
    app = make_app(demo_vault)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        restyled = []
        real = app.update_styles
        app.update_styles = lambda node=None, animate=True: (
            restyled.append(type(node).__name__) if isinstance(node, Screen) else None, real(node, animate))[1]
        for key in ("3", "4", "5", "6", "7"):
            await pilot.press(key)
            await settle(pilot)
        assert restyled == []
        for key in ("3", "1"):
            await pilot.press(key)
            await settle(pilot)
        assert restyled == ["ScopesScreen", "OverviewScreen"]


async def test_a_page_first_opened_after_a_theme_switch_wears_the_new_theme(demo_vault, make_app):
    """New pages skip Textual's extra styling passes (PageScreen.styled_as_it_mounts): one first
    opened after the switch to the light theme must look as one that was open during the switch."""

    def look(app):
        return [(w.id, w.styles.background, w.styles.color) for w in app.screen.query("*") if w.id]

    looks = []
    for keys in (("t", "2"), ("2", "t")):
        app = make_app(demo_vault)
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            for key in keys:
                await pilot.press(key)
                await settle(pilot)
            assert app.theme == "textual-light"
            looks.append(look(app))
    assert len(looks[0]) > 5 and looks[0] == looks[1]


def reading_threads(monkeypatch, vault, method: str) -> list[str]:
    """The name of the thread of each call of `vault.<method>` from now on."""
    threads: list[str] = []
    real = getattr(vault, method)

    def traced(*args, **kwargs):
        threads.append(threading.current_thread().name)
        return real(*args, **kwargs)

    monkeypatch.setattr(vault, method, traced)
    return threads


async def test_the_overviews_first_read_starts_with_the_app_and_is_not_read_twice(demo_vault, make_app,
                                                                                   monkeypatch):
    """Started in `on_load`, the first read runs while Textual builds the page (start-up's largest
    wait for data); the page shows it rather than reading again."""
    threads = reading_threads(monkeypatch, demo_vault, "overview")
    app = make_app(demo_vault)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert threads == ["read ahead"]
        assert str(app.screen.query_one("#card-total .value").render()) == str(len(demo_vault.list_keys()))


async def test_a_slow_page_reads_ahead_as_its_screen_is_made_and_shows_that_read(demo_vault, make_app, monkeypatch):
    """The Scopes page's aggregates (slow on 100,000 keys) are read while Textual builds the page,
    on a thread of their own, and that read is what the cards show: it is not read twice."""
    expected = {s.scope.value: s.keys for s in demo_vault.scope_summaries()}
    threads = reading_threads(monkeypatch, demo_vault, "scope_summaries")
    app = make_app(demo_vault)
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        await pilot.press("3")
        await settle(pilot)
        assert threads == ["read ahead"]
        assert {card.scope: card.key_count for card in app.screen.cards} == expected


@pytest.mark.parametrize("keys, method, shown", [
    (("2",), "list_keys", lambda s: s.table.row_count),
    (("2",), "count_keys", lambda s: s.total),
    (("5",), "org_policy", lambda s: str(s.query_one("#org-policy").render()).strip()),
    (("6",), "usage", lambda s: s.usage),
    (("7",), "events", lambda s: s.window),
    (("2", "enter"), "secrets", lambda s: s.query_one("#detail-secrets").row_count),
], ids=["registry", "registry total", "policies", "analytics", "activity", "key detail"])
async def test_each_page_that_reads_ahead_shows_that_read_and_reads_once(demo_vault, make_app, monkeypatch, keys,
                                                                         method, shown):
    """A page's first read starts as its screen is made, on a thread of its own, while Textual
    builds the page, and that read is what the page shows: nothing is read twice."""
    threads = reading_threads(monkeypatch, demo_vault, method)
    app = make_app(demo_vault)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        for key in keys:
            threads.clear()
            await pilot.press(key)
            await settle(pilot)
        assert threads == ["read ahead"]
        assert shown(app.screen)


@pytest.mark.parametrize("wait_s, workers", [(5.0, []), (0.0, ["load page"])], ids=["waited for", "too slow"])
async def test_a_read_ahead_due_soon_after_the_first_refresh_is_waited_for_a_slower_one_is_not(
        demo_vault, make_app, monkeypatch, wait_s, workers):
    """A read still running when the page first refreshes is waited for, up to READ_AHEAD_WAIT_S,
    rather than handed over by a worker a frame later; past that the page does not wait for it,
    and shows it when it comes."""
    from keytui.screens import loading
    from keytui.screens.analytics import AnalyticsScreen

    monkeypatch.setattr(loading, "READ_AHEAD_WAIT_S", wait_s)
    real_usage, real_worker, started = demo_vault.usage, AnalyticsScreen.run_worker, []
    monkeypatch.setattr(demo_vault, "usage", lambda window: (time.sleep(0.3), real_usage(window))[1])
    monkeypatch.setattr(AnalyticsScreen, "run_worker",
                        lambda self, work, **kw: (started.append(kw.get("name")), real_worker(self, work, **kw))[1])
    app = make_app(demo_vault)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("6")
        await settle(pilot)
        assert app.screen.usage is not None and started == workers


async def test_the_registry_highlight_is_the_apps_selected_key(demo_vault, make_app):
    app = make_app(demo_vault)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("2")
        await settle(pilot)
        await pilot.press("j")
        await settle(pilot)
        assert app.selected_key_id == app.screen.selected_key_id() is not None


async def test_the_mfa_prompt_comes_from_mfa_required_not_from_a_field_name(demo_vault, make_app):
    app = make_app(demo_vault)

    def needs_mfa(totp):
        raise MfaRequired("totp: execute/admin permission requires MFA; give the operator's current TOTP code")

    def other_rule(totp):
        raise RuleError("totp: some other rule about codes", field="totp")

    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.perform("Other rule", other_rule)
        await pilot.pause()
        assert type(app.screen).__name__ == "OverviewScreen"
        assert "totp: some other rule about codes" in app.notes
        app.perform("Needs MFA", needs_mfa)
        await pilot.pause()
        assert type(app.screen).__name__ == "TotpPrompt"


async def test_the_console_collects_young_garbage_less_often_and_puts_the_collector_back(demo_vault, make_app):
    """A full collection of a console's heap takes ~120 ms: the console makes them rarer while it
    runs (keytui.app._fewer_collections) and leaves the process's collector as it found it."""
    before = gc.get_threshold()
    app = make_app(demo_vault)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert gc.get_threshold() == (GC_YOUNG_OBJECTS, *before[1:])
    assert gc.get_threshold() == before


def test_the_pages_modules_are_imported_on_a_thread_once_the_console_is_up(tmp_path):
    """A page's first visit does not pay for importing its module (Activity's and Analytics' took
    ~35 ms each): a console that shows only the Overview has them all imported soon after."""
    script = (
        "import asyncio, sys, time\n"
        "from pathlib import Path\n"
        "from keytui.app import KeytuiApp, PAGE_MODULES\n"
        "from keytui.service import Vault\n"
        "vault = Vault.open(Path(sys.argv[1]), operator='alice')\n"
        "async def main():\n"
        "    async with KeytuiApp(vault, watch_interval=0).run_test() as pilot:\n"
        "        wanted = [f'keytui.screens.{m}' for m in PAGE_MODULES]\n"
        "        deadline = time.monotonic() + 30\n"
        "        while not all(m in sys.modules for m in wanted) and time.monotonic() < deadline:\n"
        "            await pilot.pause(0.05)\n"
        "        print(type(pilot.app.screen).__name__, sorted(m for m in wanted if m not in sys.modules))\n"
        "asyncio.run(main())\n")
    out = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert out.stdout.split() == ["OverviewScreen", "[]"], out.stderr[-2000:]
