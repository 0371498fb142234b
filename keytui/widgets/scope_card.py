"""One scope's card on the Scopes page: keys, last execution, risk (word and colour) and why."""

from __future__ import annotations

from datetime import datetime

from textual.content import Content
from textual.widget import Widget

from keytui.text import visible
from keytui.widgets import tones, when


class ScopeCard(Widget, can_focus=True):

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

    def render(self) -> Content:
        reasons = [(f"\n  · {visible(reason)}", "italic") for reason in self.reasons[:2]] or [
            ("\n  · no risk factors", f"italic {tones.MUTED}")]
        more = [(f" (+{len(self.reasons) - 2} more)", tones.MUTED)] if len(self.reasons) > 2 else []
        return Content.assemble(
            ("Keys      ", tones.MUTED), (f"{self.key_count}\n", tones.STRONG),
            ("Risk      ", tones.MUTED), (self.risk.upper(), tones.RISK.get(self.risk, tones.STRONG)), *reasons, *more,
            ("\nLast execution\n  ", tones.MUTED), when.with_age(self.last_execution, self.now) if self.now else "…",
            ("\nUsed for  ", tones.MUTED), self.usage)
