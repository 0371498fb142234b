"""The command palette (ctrl+p): every console action, and a jump to any key by name or id."""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Provider
from textual.content import Content

from keytui.keymap import PAGES
from keytui.text import visible

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
    ("Regenerate Key", "regenerate_key"), ("Copy Token", "copy_token"), ("Edit Key", "edit_key"),
]
FIND_LIMIT = 10


class KeytuiCommands(Provider):
    def _commands(self) -> list[tuple[str, object, str]]:
        app = self.app
        out = [(f"Go to {label}", partial(app.action_show_page, mode), f"Page {n}") for n, (mode, label)
               in enumerate(PAGES, start=1)]
        out += [(name, partial(app.palette_action, action), help) for name, action, help in GLOBAL_COMMANDS]
        key_id = getattr(self.screen, "selected_key_id", lambda: None)()
        if key_id:
            out += [(f"{name}: {visible(key_id)}", partial(app.run_key_action, action, key_id), "The selected key")
                    for name, action in KEY_COMMANDS]
        return out

    async def discover(self):
        for name, callback, help in self._commands():
            yield DiscoveryHit(Content(name), callback, text=name, help=help)

    async def search(self, query: str):
        matcher = self.matcher(query)
        for name, callback, help in self._commands():
            score = matcher.match(name)
            if score > 0:
                # the matcher's highlight parses markup: a name holding a stored key id is shown as it is
                shown = Content(name) if "[" in name else matcher.highlight(name)
                yield Hit(score, shown, callback, text=name, help=help)
        if len(query.strip()) >= 2:
            for view in self.app.vault.find(query, limit=FIND_LIMIT):
                text = visible(f"Open key {view.name} ({view.key_id}, {view.environment.value})")
                yield Hit(0.5, Content(text), partial(self.app.show_key, view.key_id), text=text,
                          help=f"{view.scope.label} · {view.status.value}")  # a name is never markup
