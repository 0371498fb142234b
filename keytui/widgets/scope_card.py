"""One scope's card on the Scopes page: keys, last execution, risk (word and colour) and why."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.widget import Widget

RISK_STYLES = {"low": "bold green", "medium": "bold yellow", "high": "bold red"}


def when_text(moment: datetime | None, now: datetime) -> str:
    """A timestamp with its age, the way an on-call operator reads it: '2026-11-27 08:12 (48m ago)'."""
    if moment is None:
        return "never"
    seconds = max(0, int((now - moment).total_seconds()))
    if seconds < 3600:
        age = f"{seconds // 60}m"
    elif seconds < 86400:
        age = f"{seconds // 3600}h"
    else:
        age = f"{seconds // 86400}d"
    return f"{moment:%Y-%m-%d %H:%M} ({age} ago)"


class ScopeCard(Widget, can_focus=True):
    DEFAULT_CSS = """
    ScopeCard {
        height: 9; border: round $primary 60%; padding: 0 1; border-title-style: bold;
        border-subtitle-color: $text-muted; text-wrap: nowrap; text-overflow: ellipsis;
    }
    ScopeCard:focus { border: heavy $accent; background: $accent 10%; }
    """

    def __init__(self, scope: str, label: str, usage: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.scope = scope
        self.usage = usage
        self.border_title = label
        self.border_subtitle = "enter: keys"
        self.key_count = 0
        self.last_execution: datetime | None = None
        self.risk = "low"
        self.reasons: tuple[str, ...] = ()
        self.now: datetime | None = None

    def show(self, *, key_count: int, last_execution: datetime | None, risk: str, reasons, now: datetime) -> None:
        self.key_count = key_count
        self.last_execution = last_execution
        self.risk = risk
        self.reasons = tuple(reasons)
        self.now = now
        self.refresh()

    def render(self) -> Text:
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append("Keys      ", style="dim")
        text.append(f"{self.key_count}\n", style="bold")
        text.append("Risk      ", style="dim")
        text.append(self.risk.upper(), style=RISK_STYLES.get(self.risk, "bold"))
        for reason in self.reasons[:2]:
            text.append(f"\n  · {reason}", style="italic")
        if not self.reasons:
            text.append("\n  · no risk factors", style="dim italic")
        if len(self.reasons) > 2:
            text.append(f" (+{len(self.reasons) - 2} more)", style="dim")
        text.append("\nLast execution\n  ", style="dim")
        text.append(when_text(self.last_execution, self.now) if self.now else "…")
        text.append("\nUsed for  ", style="dim")
        text.append(self.usage)
        return text
