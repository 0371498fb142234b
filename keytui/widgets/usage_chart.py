"""A plotext chart that draws the figures it is handed: bars per key, or counts over time.

Colours are named by theme variable ("success", "error", ...) and looked up in the app's
theme when drawn, so switching between the dark and the light theme redraws the chart in the
new theme's colours.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Callable

from textual.color import Color
from textual_plotext import PlotextPlot

from keytui.text import visible

DATE_FORM = "Y-m-d H:M"  # the console's one format (keytui.widgets.when)
LABEL_MAX = 14


def count_ticks(top: int, most: int = 5) -> list[int]:
    """Whole-number ticks from 0 to at least `top` (counts are never 11.7), at most `most`+1 of them."""
    step = max(1, math.ceil(top / most))
    return list(range(0, max(top, 1) + step, step))


def short_label(text: str) -> str:
    """A key name as a bar label: shortened, and with control characters made visible (the chart
    is drawn as ANSI text, which a stored escape sequence would restyle)."""
    text = visible(text)
    return text if len(text) <= LABEL_MAX else text[: LABEL_MAX - 1] + "…"


class UsageChart(PlotextPlot):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._draw: Callable[[], None] | None = None

    def on_mount(self) -> None:
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self._redraw())

    def _color(self, variable: str) -> tuple[int, int, int]:
        return Color.parse(self.app.theme_variables.get(variable, "white")).rgb

    def _redraw(self) -> None:
        if self._draw is not None:
            self._draw()
            self.refresh()

    def _start(self, title: str) -> None:
        plt = self.plt
        plt.clear_figure()
        plt.title(title)

    def show_bars(self, title: str, labels: list[str], values: list[int], *, color: str = "primary") -> None:
        """Horizontal bars in the order given from the top, labels shortened so key names fit the width."""

        def draw() -> None:
            self._start(title)
            if values:
                self.plt.bar([short_label(x) for x in reversed(labels)], list(reversed(values)),
                             orientation="horizontal", color=self._color(color), width=0.6)
                self.plt.xticks(count_ticks(max(values)))
            else:
                self.plt.title(f"{title} — no data in this range")

        self._draw = draw
        self._redraw()

    def show_timeline(self, title: str, moments: list[datetime], series: dict[str, list[int]],
                      colors: dict[str, str] | None = None) -> None:
        """One line per series over the same buckets (hours or days); colours are theme variables."""

        def draw() -> None:
            self._start(title)
            plt = self.plt
            if not moments or not any(any(v) for v in series.values()):
                plt.title(f"{title} — none in this range")
            plt.date_form(DATE_FORM)
            if moments:
                xs = plt.datetimes_to_strings(moments)
                for name, values in series.items():
                    plt.plot(xs, values, label=name, color=self._color((colors or {}).get(name, "error")),
                             marker="braille")
                ticks = count_ticks(max((max(v, default=0) for v in series.values()), default=0))
                plt.yticks(ticks)
                plt.ylim(0, ticks[-1])

        self._draw = draw
        self._redraw()
