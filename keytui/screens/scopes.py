"""Key scope classification (spec section 3): one card per scope, enter opens its keys.

Cards sit in a grid whose column count follows the terminal width, and the arrow keys
(or h/j/k/l) move between them the way they look on screen.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Grid

from keytui.domain import SCOPE_USAGE, Scope
from keytui.keymap import SCOPES_BINDINGS
from keytui.screens.page import PageScreen
from keytui.widgets.scope_card import ScopeCard

CARD_MIN_WIDTH = 38


class ScopesScreen(PageScreen):
    PAGE = "scopes"
    LOAD_WHAT = "the scope cards"
    BINDINGS = SCOPES_BINDINGS

    def compose_page(self) -> ComposeResult:
        with Grid(id="scope-grid", classes="page-body"):
            for scope in Scope:
                yield ScopeCard(scope.value, scope.label, SCOPE_USAGE[scope], id=f"scope-{scope.value}")

    def on_mount(self) -> None:
        self.cards[0].focus()

    @property
    def cards(self) -> list[ScopeCard]:
        return list(self.query(ScopeCard).results(ScopeCard))

    def on_resize(self) -> None:
        columns = max(1, min(4, self.size.width // CARD_MIN_WIDTH))
        self.query_one("#scope-grid", Grid).styles.grid_size_columns = columns

    def read_ahead_key(self) -> tuple:
        return ()

    def refresh_data(self) -> None:
        """Per-scope aggregates take ~0.1 s on 100,000 keys: off the UI thread."""
        vault = self.app.vault
        self.load(lambda: (vault.scope_summaries(), vault.now()), self._show)

    def _show(self, loaded: tuple) -> None:
        summaries, now = loaded
        for summary in summaries:
            card = self.query_one(f"#scope-{summary.scope.value}", ScopeCard)
            card.show(key_count=summary.keys, last_execution=summary.last_execution, risk=summary.risk,
                      reasons=summary.reasons, now=now)

    def action_move(self, rows: int, cols: int) -> None:
        cards = self.cards
        focused = self.focused if isinstance(self.focused, ScopeCard) else cards[0]
        columns = self.query_one("#scope-grid", Grid).styles.grid_size_columns or 1
        index = cards.index(focused) + rows * columns + cols
        cards[max(0, min(len(cards) - 1, index))].focus()

    def action_open_scope(self) -> None:
        if isinstance(self.focused, ScopeCard):
            self.app.show_registry(scope=self.focused.scope)
