"""The key hints at the foot of every screen."""

from __future__ import annotations

from textual.screen import Screen
from textual.widgets import Footer


class KeyFooter(Footer):
    """Textual's Footer, rebuilt only when what it shows changes, and once for a burst of changes.

    Textual schedules a rebuild of a footer's keys whenever its screen's bindings may have
    changed (each focus change, each page shown, each refresh of what an action allows), one
    per change even before the last one ran. A page's first visit rebuilt its footer four to
    six times, removing, mounting and restyling every key, nearly always with the same keys.
    Here a change that leaves the shown keys (labels, enabled or not) as they are rebuilds
    nothing, and a rebuild already waiting takes in every later change.
    """

    _shown: tuple | None = None  # the keys as last built
    _waiting = False  # a rebuild is scheduled
    _keys_ready = False  # the screen has announced its bindings once (Footer shows nothing before)

    def _keys(self) -> tuple:
        app = self.app
        palette = app.COMMAND_PALETTE_BINDING
        return tuple((key, app.get_key_display(binding), binding.description, binding.action, enabled, tooltip,
                      binding.group)
                     for key, (_, binding, enabled, tooltip) in self.screen.active_bindings.items()
                     if binding.show or key == palette)

    def compose(self):
        self._waiting = False
        self._shown = self._keys() if self._keys_ready else None
        yield from super().compose()

    def bindings_changed(self, screen: Screen) -> None:
        self._keys_ready = True
        if self._waiting or (self._shown is not None and screen is self.screen and self._keys() == self._shown):
            return
        if screen.app.app_focus and self.is_attached and screen is self.screen:
            self._waiting = True
        super().bindings_changed(screen)
