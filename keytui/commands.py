"""The command palette (ctrl+p): every console action, and a jump to any key by name or id."""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Provider

from keytui.keymap import PAGES

GLOBAL_COMMANDS = [
    ("Create Key", "app.create_key", "Create a new API key"),
    ("Export Registry", "app.export_registry", "Write the registry as CSV or JSON to a path you choose"),
    ("Apply Org Policy", "app.apply_org_policy", "Load an org policy TOML, review violations, apply"),
    ("Alerts: review and acknowledge", "app.show_alerts", "Open alerts raised by the watch"),
    ("Toggle dark/light theme", "app.toggle_theme", "Switch between the dark and the light theme"),
    ("Help: key bindings", "app.help", "List every key binding"),
]
KEY_COMMANDS = [
    ("View Details", "view_details"), ("Rotate Key", "rotate_key"), ("Revoke Key", "revoke_key"),
    ("Regenerate Key", "regenerate_key"), ("Copy Token", "copy_token"),
]
FIND_LIMIT = 10


class KeytuiCommands(Provider):
    def _commands(self) -> list[tuple[str, object, str]]:
        app = self.app
        out = [(f"Go to {label}", partial(app.switch_mode, mode), f"Page {n}") for n, (mode, label)
               in enumerate(PAGES, start=1)]
        out += [(name, partial(app.palette_action, action), help) for name, action, help in GLOBAL_COMMANDS]
        key_id = getattr(self.screen, "selected_key_id", lambda: None)()
        if key_id:
            out += [(f"{name}: {key_id}", partial(app.run_key_action, action, key_id), "The selected key")
                    for name, action in KEY_COMMANDS]
        return out

    async def discover(self):
        for name, callback, help in self._commands():
            yield DiscoveryHit(name, callback, help=help)

    async def search(self, query: str):
        matcher = self.matcher(query)
        for name, callback, help in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help)
        if len(query.strip()) >= 2:
            for view in self.app.vault.find(query, limit=FIND_LIMIT):
                yield Hit(0.5, f"Open key {view.name} ({view.key_id}, {view.environment.value})",
                          partial(self.app.show_key, view.key_id), help=f"{view.scope.label} · {view.status.value}")
