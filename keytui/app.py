"""The console: a keyboard-first Textual face over the vault.

Seven pages are Textual modes (keys 1-7); per-key screens and dialogs are pushed on top. Every
write goes through `perform`, which refuses in read-only mode, asks for a TOTP code when the
service raises `MfaRequired`, reports the service's one-line refusal, and publishes
`data_changed_signal` so the pages re-read (each in its own worker, see screens/loading.py).
The registry's highlighted key is the app's `selected_key_id`, which other pages read. The
watch pass runs in a thread worker on a timer so the UI never waits for it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from textual import work
from textual.app import App
from textual.reactive import reactive
from textual.screen import Screen
from textual.signal import Signal
from textual.worker import Worker, WorkerState

from keytui.commands import KeytuiCommands
from keytui.domain import InputError, NotFoundError, RuleError
from keytui.keymap import APP_BINDINGS, load_user_keymap, unknown_ids
from keytui.service.mfa import MfaRequired

HERE = Path(__file__).parent
PAGE_HISTORY = 20
WATCH_NOTIFY_MAX = 3  # a burst of alerts shows this many toasts and a count
WRITE_ERRORS = (InputError, RuleError, NotFoundError)


def _page(module: str, cls: str) -> Callable[[], Screen]:
    """Import a page when first shown, so start-up pays only for the Overview."""

    def make() -> Screen:
        import importlib

        return getattr(importlib.import_module(f"keytui.screens.{module}"), cls)()

    return make


class KeytuiApp(App):
    TITLE = "keytui"
    CSS_PATH = [HERE / "app.tcss", HERE / "widgets" / "widgets.tcss"]  # absolute: subclasses live elsewhere
    BINDINGS = APP_BINDINGS
    MODES = {
        "overview": _page("overview", "OverviewScreen"),
        "registry": _page("registry", "RegistryScreen"),
        "scopes": _page("scopes", "ScopesScreen"),
        "permissions": _page("permissions", "PermissionsScreen"),
        "policies": _page("policies", "PoliciesScreen"),
        "analytics": _page("analytics", "AnalyticsScreen"),
        "activity": _page("activity", "ActivityScreen"),
    }
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
        self.sub_title = (f"{vault.operator}" + (" · READ-ONLY" if vault.read_only else "")
                          + (" · DEMO" if vault.home_kind == "demo" else ""))

    @property
    def read_only(self) -> bool:
        return self.vault.read_only

    def on_mount(self) -> None:
        self._apply_user_keymap()
        self.switch_mode("overview")
        if not self.read_only and self.watch_interval > 0:
            self.set_timer(self.watch_interval, self.run_watch_pass)

    def _apply_user_keymap(self) -> None:
        home = self.vault.settings.home if self.vault.settings else None
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
        if mode != self.current_mode and self.current_mode in self.MODES:
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

    def show_registry(self, scope=None, environment=None, search=None) -> None:
        self._show_page("registry").set_filter(scope=scope, environment=environment, search=search)

    def show_activity(self, key_id: str | None = None) -> None:
        self._show_page("activity").filter_by_key(key_id)

    def show_key(self, key_id: str) -> None:
        """Open a key's detail (which closes itself, saying so, when there is no such key)."""
        from keytui.screens.key_detail import KeyDetailScreen

        self.push_screen(KeyDetailScreen(key_id))

    def run_key_action(self, action: str, key_id: str | None) -> None:
        """Run a per-key flow (rotate_key, revoke_key, ...) from anywhere, e.g. the command palette."""
        from keytui.screens.key_actions import FLOWS

        FLOWS[action](self, key_id)

    def action_help(self) -> None:
        from keytui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    def action_toggle_theme(self) -> None:
        self.theme = "textual-light" if self.theme == "textual-dark" else "textual-dark"

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
        if on_done:
            on_done(result)

    def action_show_alerts(self) -> None:
        from keytui.screens.alerts import AlertsScreen

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
        """One pass, and the first new alerts to tell the operator about (read here, not on the UI thread)."""
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
        """New alerts become notifications; rotations and expiries reach every page."""
        self.watch_passes += 1
        for alert in alerts:
            self.notify(alert.message, title=f"Alert ({alert.severity})",
                        severity="error" if alert.severity == "high" else "warning", markup=False)
        if len(report.alerts) > WATCH_NOTIFY_MAX:
            self.notify(f"{len(report.alerts) - WATCH_NOTIFY_MAX} more new alerts: see the Overview",
                        title="Alerts", severity="warning")
        if report.rotated:
            self.notify(f"Auto Rotation rotated {len(report.rotated)} key(s) nearing expiry", title="Watch")
        self.data_changed()


def run_console(args) -> int:
    """`keytui` with no command: open the console (on the demo database with --demo)."""
    from keytui.service import Vault

    home = args.home
    if args.demo:
        from keytui.config import demo_home

        home = demo_home()
        builder = Vault.open(home, operator=args.operator, read_only=args.read_only, new_demo=True)
        if builder.count_keys() == 0:
            builder.build_demo()
        builder.close()
    vault = Vault.open(home, operator=args.operator, read_only=args.read_only, mfa_window_seconds=300)
    try:
        KeytuiApp(vault).run()
    finally:
        vault.close()
    return 0
