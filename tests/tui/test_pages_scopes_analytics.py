"""Scopes page (cards, moving between them, opening the registry) and Analytics page (range, links)."""

from __future__ import annotations

import re

from keytui.domain import Scope
from keytui.service import KeyFilter


async def open_scopes(c) -> None:
    await c.press("3")
    await c.wait_for(lambda: "Used for" in c.text() and "…" not in c.line_with("Keys "), "the scope cards' figures")


def card_text(c, label: str) -> str:
    """One card's text: the box under its title, cut out of the grid it shares with others."""
    lines = c.lines()
    y, line = next((y, line) for y, line in enumerate(lines) if re.search(rf"[─━] {re.escape(label)} [─━]", line))
    x = line.index(f" {label} ")
    left = max(line.rfind("╭", 0, x), line.rfind("┏", 0, x))
    right = min(i for i in (line.find("╮", x), line.find("┓", x)) if i >= 0)
    box = []
    for below in lines[y + 1:]:
        part = below[left:right + 1]
        if part.startswith(("╰", "┗")):
            break
        box.append(part)
    return "\n".join(box)


def focused_card(c) -> str:
    """The focused card's title (its scope's label)."""
    return re.search(r"━ (.+?) ━", c.focused_text().splitlines()[0]).group(1)


async def test_one_card_per_scope_with_count_risk_and_usage(demo_vault, console):
    summaries = {s.scope: s for s in demo_vault.scope_summaries()}
    async with console(demo_vault, size=(160, 50)) as c:  # every card whole
        await open_scopes(c)
        text = c.text()
        for scope, summary in summaries.items():
            card = card_text(c, scope.label)
            assert re.search(rf"Keys\s+{summary.keys}\b", card), scope
            assert re.search(rf"Risk\s+{summary.risk.upper()}\b", card), scope
            assert "Used for" in card and "Last execution" in card, scope
        assert [label for label in re.findall(r"[─━] ([A-Z][A-Za-z &]+?) [─━]", text) if label in
                {s.label for s in Scope}] == [s.label for s in Scope]
        assert sum(s.keys for s in summaries.values()) == demo_vault.count_keys()


async def test_arrows_and_hjkl_move_between_cards_and_enter_opens_the_registry(demo_vault, console):
    async with console(demo_vault) as c:
        await open_scopes(c)
        assert focused_card(c) == "Agents Execution"
        await c.press("l")
        assert focused_card(c) == "Workflow Automation"
        await c.press("j")
        assert focused_card(c) == list(Scope)[4].label, "down moves one row of three cards"
        await c.press("k", "h", "right")
        assert focused_card(c) == "Workflow Automation"
        await c.press("enter")
        count = demo_vault.count_keys(KeyFilter(scope=Scope.WORKFLOWS))
        await c.wait_for_text(f"1-{count} of {count} keys", "scope: Workflow Automation")
        assert c.page == "registry"


async def open_analytics(c) -> None:
    await c.press("6")
    await c.wait_for_text("Last 24 h:", "Most used keys")


async def test_analytics_shows_the_range_figures_and_switches_range(demo_vault, console):
    day = demo_vault.usage("24h")
    month = demo_vault.usage("30d")
    async with console(demo_vault, size=(120, 60)) as c:
        await open_analytics(c)
        assert f"{day.total_ok + day.total_failed:,} verifications" in c.line_with("Last 24 h:")
        await c.press("m")
        summary = await c.wait_for(lambda: "Last 30 d:" in c.text() and c.line_with("Last 30 d:"), "the 30 d figures")
        assert f"{month.total_failed:,} failed" in summary
        table = c.text().split("Most used keys (enter: activity log)")[1]
        shown = re.findall(r"key_[a-z2-7]{16}", table)
        assert shown == [k.key_id for k in month.most_used][:len(shown)] and shown


async def test_enter_on_a_most_used_key_opens_its_activity_log(demo_vault, console):
    second = demo_vault.usage("24h").most_used[1].key_id
    async with console(demo_vault) as c:
        await open_analytics(c)
        await c.press("j", "enter")
        await c.wait_for_text(f"filter: key_id={second}")
        assert c.page == "activity"
