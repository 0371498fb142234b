"""The tab bar: the seven pages with their number keys; the current one highlighted, each clickable."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static

from keytui.keymap import PAGES


class PageBar(Static):

    def __init__(self, current: str):
        super().__init__(self.render_tabs(current))

    @staticmethod
    def render_tabs(current: str) -> Content:
        parts = []
        for n, (mode, label) in enumerate(PAGES, start=1):
            style = "bold reverse $accent" if mode == current else ""
            parts.append(Content.from_markup(f"[@click=app.switch_mode('{mode}')][b]{n}[/b] {label}[/]").stylize(style))
        return Content(" ").join(parts)  # 78 cells: fits an 80-column terminal
