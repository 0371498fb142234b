"""Overview extras: alerts can be reviewed and acknowledged from the keyboard; an empty home says how to start."""

from __future__ import annotations

import re


def listed(c) -> int:
    """How many alerts the Alerts dialog says it lists."""
    return int(re.search(r"(\d+) (?:open|open and acknowledged) alert\(s\)", c.text()).group(1))


async def test_acknowledging_an_alert_takes_it_off_the_open_list_and_is_audited(demo_vault, console):
    open_before = len(demo_vault.alerts())
    assert open_before, "the demo data raises alerts"
    async with console(demo_vault) as c:
        await c.wait_for_text(f"Open alerts ({open_before})")
        await c.press("A")
        await c.wait_for_text(f"{open_before} open alert(s)")
        await c.press("a")
        await c.wait_for_notification("acknowledged")
        await c.wait_for_text(f"{open_before - 1} open alert(s)")
        await c.press("A")  # show handled ones too
        await c.wait_for_text(f"{open_before} open and acknowledged alert(s)")
        await c.press("escape")
        await c.wait_for_text(f"Open alerts ({open_before - 1})")
    assert len(demo_vault.alerts()) == open_before - 1
    assert demo_vault.audit_entries(limit=1)[0]["action"] == "alert.acknowledge"


async def test_read_only_reviewers_cannot_acknowledge(demo_vault, reviewer, console):
    count = len(demo_vault.alerts())
    async with console(reviewer()) as c:
        await c.press("A")
        await c.wait_for_text(f"{count} open alert(s)")
        await c.press("a")
        await c.wait_for_notification("read-only")
        assert listed(c) == count
    assert len(demo_vault.alerts()) == count


async def test_an_empty_home_tells_a_new_operator_how_to_start(vault, console):
    async with console(vault) as c:
        await c.wait_for_text("No keys yet: press c to create one")


async def test_the_empty_home_hint_names_the_demo_command_in_full(vault, console):
    async with console(vault, size=(200, 40)) as c:
        await c.wait_for_text("No keys yet: press c to create one")
        await c.wait_for_text("keytui --demo", timeout=2)
