"""The console: a keyboard-first Textual face over the vault.

Seven pages are Textual modes (keys 1-7); per-key screens and dialogs are pushed on top. Every
write goes through `perform`, which refuses in read-only mode, asks for a TOTP code when the
service raises `MfaRequired`, reports the service's one-line refusal, and publishes
`data_changed_signal` so the pages re-read (each in its own worker, see screens/loading.py).
The registry's highlighted key is the app's `selected_key_id`, which other pages read. The
watch pass runs in a thread worker on a timer so the UI never waits for it.
"""

from __future__ import annotations

import gc
import sys
from concurrent.futures import Future
from pathlib import Path
from typing import Any, Callable

from textual import work
from textual.actions import SkipAction
from textual.app import App
from textual.reactive import reactive
from textual.screen import Screen
from textual.signal import Signal
from textual.worker import Worker, WorkerState

from keytui.clipboard import ClipboardGuard
from keytui.commands import KeytuiCommands
from keytui.config import ConfigError
from keytui.domain import InputError, NotFoundError, RoleRefused, RuleError, StoreUnavailable
from keytui.keymap import ACTION_CALLS, APP_BINDINGS, load_user_keymap, unknown_ids
from keytui.screens.loading import in_thread
from keytui.service.mfa import MfaRequired
from keytui.text import visible
from keytui.widgets.mfa_header import MfaHeader

HERE = Path(__file__).parent
PAGE_HISTORY = 20
PAGES = {"registry": ("registry", "RegistryScreen"), "scopes": ("scopes", "ScopesScreen"),
         "permissions": ("permissions", "PermissionsScreen"), "policies": ("policies", "PoliciesScreen"),
         "analytics": ("analytics", "AnalyticsScreen"), "activity": ("activity", "ActivityScreen")}
IMPORT_PAGES_AFTER_S = 0.5
PAGE_MODULES = (*(module for module, _ in PAGES.values()), "key_detail")
UI_SWITCH_INTERVAL_S = 0.0002  # how soon a reading thread gets the GIL from the busy UI thread
GC_YOUNG_OBJECTS = 10_000  # allocations between two young collections (Python's default: 700)
WATCH_NOTIFY_MAX = 20  # new alerts read per pass to describe them (their severities) in one notification
WATCH_TOAST_S = 20.0  # a pass's notification goes before the next pass could raise another
WRITE_ERRORS = (InputError, RuleError, NotFoundError, StoreUnavailable, ConfigError)  # each said in one line


def style_sheets(here: Path) -> list[Path]:
    """Every sheet, read once at start: a screen's own CSS_PATH makes Textual reparse the whole
    stylesheet and restyle every widget of every open screen on that screen's first visit, which
    was half of opening a page. Shared sheets come first, so a screen's own rules win a tie.
    Absolute paths: subclasses of the app live elsewhere."""
    screens = here / "screens"
    shared = [here / "app.tcss", here / "widgets" / "widgets.tcss", screens / "page.tcss", screens / "dialogs.tcss"]
    return shared + sorted(set(screens.glob("*.tcss")) - set(shared))


def import_pages() -> None:
    """Import every page's module (~125 ms in all; Activity and Analytics, with its charts, ~35 ms
    each), on a thread half a second after the first frame (sooner, it slowed the first frame
    with figures by ~10%): otherwise the first visit of each page paid for its import."""
    import importlib

    for module in PAGE_MODULES:
        importlib.import_module(f"keytui.screens.{module}")


def _page(module: str, cls: str) -> Callable[[], Screen]:
    """Import a page when first shown, so start-up pays only for the Overview."""

    def make() -> Screen:
        import importlib

        screen = getattr(importlib.import_module(f"keytui.screens.{module}"), cls)()
        screen.styled_as_it_mounts()
        screen.read_ahead()
        return screen

    return make


class KeytuiApp(App):
    TITLE = "keytui"
    CSS_PATH = style_sheets(HERE)
    BINDINGS = APP_BINDINGS
    # The Overview is the default screen (`get_default_screen`), made a mode once it is mounted:
    # a first mode's screen costs Textual a second parse of every style sheet and a restyle.
    MODES = {mode: _page(*where) for mode, where in PAGES.items()}
    DEFAULT_MODE = "overview"

    COMMANDS = App.COMMANDS | {KeytuiCommands}

    selected_key_id: reactive[str | None] = reactive(None, init=False)
    """The key highlighted in the registry (the Permissions page picks it up)."""

    def __init__(self, vault, *, watch_interval: float = 60.0, **kwargs):
        super().__init__(**kwargs)
        self.vault = vault
        self.watch_interval = watch_interval
        self.watch_passes = 0
        self.page_history: list[str] = []
        self.keymap: dict[str, str] = {}  # the user's rebindings in force (binding id -> keys)
        self.data_changed_signal: Signal[None] = Signal(self, "data-changed")
        self.unseen_alerts = 0  # raised by the watch since the operator last opened Alerts
        self.clipboard_guard = ClipboardGuard(self)
        self.first_read: Future | None = None  # the Overview's first read, started before the page is built
        self.gc_thresholds = gc.get_threshold()  # the process's, restored on exit
        # connected to the daemon, the role is the daemon's word and worth showing; embedded, the
        # one who opened the home is its admin
        role = f" · {vault.role}" if getattr(vault, "connected", False) else ""
        self.mfa_header = MfaHeader(self, visible(f"{vault.operator}{role}" + (" · READ-ONLY" if vault.read_only else "")
                                                  + (" · DEMO" if vault.home_kind == "demo" else "")))

    @property
    def read_only(self) -> bool:
        return self.vault.read_only

    def notify(self, message: str, *, title: str = "", severity="information", timeout: float | None = None,
               markup: bool = True) -> None:
        """Every notification is plain text: messages hold key names, reasons, addresses and the
        service's words, so markup is never parsed and control characters are made visible."""
        lines = "\n".join(visible(line) for line in str(message).split("\n"))  # keytui's own line breaks stay
        super().notify(lines, title=visible(title), severity=severity, timeout=timeout, markup=False)

    def on_load(self) -> None:
        """Start the first page's read now, in a thread, while Textual reads the styles and builds
        the page: its figures are usually in by the first frame, instead of a frame later."""
        from keytui.screens.overview import read_overview

        self.first_read = in_thread(read_overview, self.vault)
        self._fewer_collections()

    def _fewer_collections(self) -> None:
        """Python's collector runs a young collection every 700 allocations and a full one every
        100 young ones; building a page allocates tens of thousands of objects, and a console that
        has shown its pages holds a heap a full collection takes ~120 ms to walk (measured on the
        bench: eleven in one run of the page figures, one page visit in two paying for one). Young
        collections every 10,000 allocations make full ones fourteen times rarer; garbage cycles
        are still collected (dismissed dialogs), a little later."""
        gc.set_threshold(GC_YOUNG_OBJECTS, *self.gc_thresholds[1:])

    def on_unmount(self) -> None:
        """The collector's thresholds go back as they were: the console may not own its process."""
        gc.set_threshold(*self.gc_thresholds)

    def get_default_screen(self) -> Screen:
        from keytui.screens.overview import OverviewScreen

        screen = OverviewScreen()
        screen.styled_as_it_mounts(first_resumes=1)
        return screen

    def on_mount(self) -> None:
        self.call_after_refresh(self._after_first_frame)
        self.add_mode(self.DEFAULT_MODE, _page("overview", "OverviewScreen"))  # key 1 finds its screen
        self._apply_user_keymap()
        self.mfa_header.start()
        if not self.read_only and self.watch_interval > 0 and self.role_refusal("run_watch_pass") is None:
            self.set_timer(self.watch_interval, self.run_watch_pass)

    def _after_first_frame(self) -> None:
        """Quicker thread switches, and the pages' modules imported on a thread (`import_pages`).

        Every page reads on a thread while the UI thread builds and draws it, and a thread
        waiting for the GIL gets it only after the switch interval (5 ms by default), at each
        step of its read: a 35 ms read of the Analytics page on 100,000 keys took 350 ms beside
        the page being built. At 1 ms it took 75 ms against 20 ms alone (a wait of up to 1 ms for
        each of its rows and statements); at 0.2 ms the page shows ~45 ms sooner, and the pages
        on the demo data are no slower. Only once the first frame is drawn: during start-up the
        quicker switches cost the UI thread ~40 ms."""
        sys.setswitchinterval(UI_SWITCH_INTERVAL_S)
        self.set_timer(IMPORT_PAGES_AFTER_S, lambda: in_thread(import_pages, name="import pages"))

    def _apply_user_keymap(self) -> None:
        from keytui.config import resolve_home

        home = self.vault.settings.home if self.vault.settings else resolve_home()  # a client's own home
        try:
            keymap = load_user_keymap(home)
        except ValueError as exc:  # tomllib.TOMLDecodeError
            self.notify(f"keymap.toml ignored: {exc}", severity="warning", markup=False)
            return
        unknown = unknown_ids(keymap)
        if unknown:
            self.notify(f"keymap.toml: no binding has the id {', '.join(unknown)}; see keytui/keymap.py",
                        severity="warning", markup=False)
        self.keymap = {k: v for k, v in keymap.items() if k not in unknown}
        if self.keymap:
            self.set_keymap(self.keymap)
        if "app.command_palette" in self.keymap:  # the footer shows the palette's key by this name
            self.COMMAND_PALETTE_BINDING = self.keymap["app.command_palette"].split(",")[0].strip()

    # ------------------------------------------------------------------ navigation
    def switch_mode(self, mode: str):
        """Every page switch is remembered, so escape can go back like a browser (or k9s)."""
        pages = (self.DEFAULT_MODE, *self.MODES)
        if mode != self.current_mode and self.current_mode in pages:
            self.page_history = (self.page_history + [self.current_mode])[-PAGE_HISTORY:]
        return super().switch_mode(mode)

    def action_back(self) -> None:
        """Close what is pushed over the page, else return to the page shown before."""
        if len(self.screen_stack) > 1:
            self.pop_screen()
        elif self.page_history:
            mode = self.page_history.pop()
            super().switch_mode(mode)

    def _show_page(self, mode: str) -> Screen:
        """Switch to a page and return its screen, closing anything pushed over it."""
        self.switch_mode(mode)
        while len(self.screen_stack) > 1:
            self.pop_screen()
        return self.screen_stack[0]

    def action_show_page(self, mode: str) -> None:
        """A number key shows its page itself, never a key or dialog left open over it earlier."""
        self._show_page(mode)

    def show_registry(self, scope=None, environment=None, search=None) -> None:
        self._show_page("registry").set_filter(scope=scope, environment=environment, search=search)

    def show_activity(self, key_id: str | None = None, *, ip: str | None = None, evidence=()) -> None:
        """The activity log of a key or an IP address, with an alert's evidence events marked."""
        self._show_page("activity").filter_by(key_id=key_id, ip=ip, evidence=evidence)

    def show_key(self, key_id: str) -> None:
        """Open a key's detail (which closes itself, saying so, when there is no such key)."""
        from keytui.screens.key_detail import KeyDetailScreen

        self.push_screen(KeyDetailScreen(key_id))

    def run_key_action(self, action: str, key_id: str | None) -> None:
        """Run a per-key flow (rotate_key, revoke_key, ...) from anywhere, e.g. the command palette."""
        from keytui.screens.key_actions import FLOWS

        if self.explain_refusal(action):
            return
        FLOWS[action](self, key_id)

    # ------------------------------------------------------------------ roles
    def role_refusal(self, call: str) -> RoleRefused | None:
        """Why the vault's role may not make this service call (None: it may)."""
        from keytui.service import roles

        needed, role = roles.required(call), roles.Role.parse(self.vault.role)
        return None if needed is not None and role >= needed else roles.refusal(call, self.vault.operator, role,
                                                                                   needed)

    def may(self, action: str) -> bool:
        """False for an action whose service call the role cannot make: its binding is hidden."""
        return action not in ACTION_CALLS or self.role_refusal(ACTION_CALLS[action]) is None

    def explain_refusal(self, action: str) -> bool:
        """True (and says why) when the role cannot take the action (the palette still offers it)."""
        refused = self.role_refusal(ACTION_CALLS[action]) if action in ACTION_CALLS else None
        if refused:
            self.notify(str(refused), severity="warning", title="Not for your role")
        return refused is not None

    def palette_action(self, action: str) -> None:
        if not self.explain_refusal(action.removeprefix("app.")):
            self.run_action(action)

    def action_help(self) -> None:
        from keytui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    def action_toggle_theme(self) -> None:
        self.theme = "textual-light" if self.theme == "textual-dark" else "textual-dark"

    def action_dismiss_notifications(self) -> None:
        """Esc with a notification shown dismisses it and does nothing else; without one, esc
        goes on to the screen (close a dialog, go back)."""
        if not self.screen.query("Toast"):
            raise SkipAction()
        self.clear_notifications()

    def check_action(self, action: str, parameters) -> bool | None:
        """Without a notification shown, the screen's own esc (Back, Close) is the one in the footer."""
        if action == "dismiss_notifications":
            return bool(self.screen.query("Toast"))
        return self.may(action)  # a viewer's footer has no Create

    def data_changed(self) -> None:
        """Tell every screen that the store changed: the one in sight re-reads now, the others when shown."""
        self.data_changed_signal.publish(None)

    # ------------------------------------------------------------------ writes
    def refuse_read_only(self, what: str) -> bool:
        """True (and says so) when the console is read-only."""
        if self.read_only:
            self.notify(f"{what} refused: keytui is open read-only (--read-only); nothing was changed",
                        severity="warning", title="Read-only")
        return self.read_only

    def ask_totp(self, reason: str, callback: Callable[[str | None], Any], *, error: str | None = None) -> None:
        """Get a TOTP code for `reason`; callback gets the code, "" when the MFA window is still open, None if cancelled."""
        if error is None and self.vault.mfa_window_open():
            callback("")
            return
        from keytui.screens.totp import TotpPrompt

        self.push_screen(TotpPrompt(reason, enrolled=self.vault.has_mfa(), error=error), callback)

    def perform(self, what: str, call: Callable[[str | None], Any], on_done: Callable[[Any], Any] | None = None,
                *, totp: str | None = None, on_error: Callable[[Exception], bool] | None = None) -> None:
        """Run one service write `call(totp)`; asks for TOTP when the service requires it.

        `on_error` may claim an error (return True) to show it next to a form field instead.
        """
        if self.refuse_read_only(what):
            return
        try:
            result = call(totp)
        except MfaRequired as exc:
            self.mfa_header.check()
            def retry(code: str | None) -> None:
                if code is None:
                    self.notify(f"{what} cancelled: no MFA code given; nothing was changed", severity="warning")
                else:
                    self.perform(what, call, on_done, totp=code, on_error=on_error)

            self.ask_totp(f"{what} needs your TOTP code (execute/admin permission).", retry,
                          error=str(exc) if totp else None)
            return
        except WRITE_ERRORS as exc:
            if not (on_error and on_error(exc)):
                self.notify(str(exc), severity="error", title=f"{what} refused", markup=False)
            return
        self.data_changed()
        if totp:
            self.mfa_header.check()
        if on_done:
            on_done(result)

    def action_show_alerts(self) -> None:
        from keytui.screens.alerts import AlertsScreen

        self.unseen_alerts = 0
        self.push_screen(AlertsScreen())  # the page under it re-reads when it is shown again

    def action_create_key(self) -> None:
        if self.refuse_read_only("Create Key"):
            return
        from keytui.screens.create_key import CreateKeyScreen

        self.push_screen(CreateKeyScreen())

    def action_export_registry(self) -> None:
        if self.refuse_read_only("Export Registry"):
            return
        from keytui.screens.export import ExportDialog

        self.push_screen(ExportDialog())

    def action_apply_org_policy(self) -> None:
        if self.refuse_read_only("Apply Org Policy"):
            return
        self._show_page("policies").action_apply_org_policy()

    # ------------------------------------------------------------------ watch worker
    @work(thread=True, exclusive=True, exit_on_error=False, group="watch")
    def run_watch_pass(self) -> tuple:
        """One pass, and its new alerts to tell the operator about (read here, not on the UI thread)."""
        report = self.vault.run_watch_pass()
        return report, [self.vault.alert(alert_id) for alert_id in report.alerts[:WATCH_NOTIFY_MAX]]

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The next pass is timed from the end of this one, so passes never overlap; a failed
        pass is said, not swallowed, and the next one tries again."""
        if event.worker.group != "watch" or not event.worker.is_finished:
            return
        if event.state is WorkerState.SUCCESS:
            self._watch_done(*event.worker.result)
        elif event.state is WorkerState.ERROR:
            self.notify(f"The watch pass failed: {event.worker.error}", title="Watch", severity="error", markup=False)
        self.set_timer(self.watch_interval, self.run_watch_pass)

    def _watch_done(self, report, alerts) -> None:
        """A pass's news is one notification at most, however many alerts it raised (during an
        incident a toast a minute per alert would bury the console); every page re-reads."""
        self.watch_passes += 1
        lines = []
        if report.alerts:
            self.unseen_alerts += len(report.alerts)
            lines.append(watch_news(report.alerts, alerts, self.unseen_alerts))
        if report.rotated:
            lines.append(f"Auto Rotation rotated {len(report.rotated)} key(s) nearing expiry.")
        if lines:
            high = any(alert.severity == "high" for alert in alerts)
            self.notify("\n".join(lines), title="Watch",
                        severity="error" if high else ("warning" if report.alerts else "information"),
                        timeout=min(WATCH_TOAST_S, max(1.0, self.watch_interval / 2)))
        self.data_changed()


def watch_news(new_ids: list, first: list, unseen: int) -> str:
    """"Agents Execution Key: 12 failed verifications…" for one alert; "3 new alerts (2 high)" for more."""
    if len(new_ids) == 1 and first:
        alert = first[0]
        subject = f"{alert.key_name}: " if alert.key_name else ""
        return visible(f"New {alert.severity} alert: {subject}{alert.message}")  # one line, whatever it holds
    high = sum(alert.severity == "high" for alert in first)
    more = "+" if len(first) < len(new_ids) and high else ""
    text = f"{len(new_ids)} new alerts" + (f" ({high}{more} high)" if high else "")
    if unseen > len(new_ids):
        text += f", {unseen} since you last looked"
    return text + ". Press A to review them."


def demo_home_for(args) -> Path:
    """--demo builds into the home it is given (--home, else KEYTUI_HOME), else a demo home of its own."""
    import os

    from keytui.config import demo_home

    given = args.home or os.environ.get("KEYTUI_HOME")
    return Path(given).expanduser() if given else demo_home()


def run_app(app: App, **run_options) -> int:
    """Run the console; a crash (an exception the app did not handle) exits non-zero."""
    app.run(**run_options)
    return app.return_code or 0


def run_console(args) -> int:
    """`keytui` with no command: open the console (on the demo database with --demo), on the
    daemon's service with --socket or $KEYTUI_SOCKET."""
    import os
    import sys

    from keytui.daemon import open_vault, socket_path
    from keytui.service import Vault

    home, socket = args.home, getattr(args, "socket", None)
    if args.demo and socket_path(socket):
        raise RuleError("demo: the demo database is embedded; leave out --socket (and unset KEYTUI_SOCKET)")
    if args.demo and os.environ.get("KEYTUI_DATABASE_URL"):  # never demo data (nor a demo clock) in a shared one
        raise RuleError("demo: the demo database is embedded; unset KEYTUI_DATABASE_URL")
    if args.demo:
        home = demo_home_for(args)
        builder = Vault.open(home, operator=args.operator, read_only=args.read_only, new_demo=True)
        try:
            if builder.count_keys() == 0:
                builder.build_demo()
            elif builder.home_kind is None:
                raise RuleError(f"demo: {visible(home)} holds keys in real use; give --demo an empty home, "
                                "or none for a demo home of its own")
        finally:
            builder.close()
        print(f"keytui: demo data in {visible(home)}", file=sys.stderr)
    vault = open_vault(socket, home=home, operator=args.operator, read_only=args.read_only,
                       mfa_window_seconds=300)
    app = KeytuiApp(vault)
    try:
        code = run_app(app)
    finally:
        vault.close()
        for said in app.clipboard_guard.clear_all():  # quitting before the timer: the clipboard still
            print(f"keytui: {said}", file=sys.stderr)  # holds the token
    if args.demo:
        print(f"keytui: the demo data is in {visible(home)}", file=sys.stderr)
    return code
