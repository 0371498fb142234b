"""A plotext chart that draws the figures it is handed: bars per key, or counts over time."""

from __future__ import annotations

from datetime import datetime

from textual_plotext import PlotextPlot

DATE_FORM = "d/m H:M"
LABEL_MAX = 14


def short_label(text: str) -> str:
    return text if len(text) <= LABEL_MAX else text[: LABEL_MAX - 1] + "…"


class UsageChart(PlotextPlot):
    DEFAULT_CSS = """
    UsageChart { height: 1fr; min-height: 10; border: round $primary 50%; }
    """

    def _start(self, title: str) -> None:
        plt = self.plt
        plt.clear_figure()
        plt.title(title)

    def show_bars(self, title: str, labels: list[str], values: list[int], *, color: str = "cyan") -> None:
        """Horizontal bars in the order given from the top, labels shortened so key names fit the width."""
        self._start(title)
        if values:
            self.plt.bar([short_label(x) for x in reversed(labels)], list(reversed(values)),
                         orientation="horizontal", color=color, width=0.6)
        else:
            self.plt.title(f"{title} — no data in this range")
        self.refresh()

    def show_timeline(self, title: str, moments: list[datetime], series: dict[str, list[int]],
                      colors: dict[str, str] | None = None) -> None:
        """One line per series over the same buckets (hours or days)."""
        self._start(title)
        plt = self.plt
        if not moments or not any(any(v) for v in series.values()):
            plt.title(f"{title} — none in this range")
        plt.date_form(DATE_FORM)
        if moments:
            xs = plt.datetimes_to_strings(moments)
            for name, values in series.items():
                plt.plot(xs, values, label=name, color=(colors or {}).get(name, "red"), marker="braille")
        self.refresh()
