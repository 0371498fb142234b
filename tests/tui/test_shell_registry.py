"""Registry page: columns, status words, environment tabs, filter as you type, sort, windowed paging."""

from __future__ import annotations

import re

from keytui.service import NewKey

STATUS = re.compile(r" (active|expired|revoked) ")
WIDE = (220, 40)  # every column visible


def rows(c) -> list[str]:
    """The table rows on screen (the lines under the header showing a status word), top to bottom."""
    lines = c.lines()
    header = next((i for i, line in enumerate(lines) if line.lstrip().startswith("Key Name")), len(lines))
    return [line for line in lines[header + 1:] if STATUS.search(line[:40]) and " keys  ·  " not in line]


def names(c) -> list[str]:
    """The Key Name column of the rows on screen (a policy violator's ⚑ kept)."""
    return [line[:28].strip() for line in rows(c)]


async def open_registry(c, total: int = 24):
    await c.press("2")
    await c.wait_for_text(f"of {total:,} keys")


async def filter_by(c, text: str, *, typed: bool = False) -> None:
    """Paste (or type, key by key) into the filter box, replacing what it held, and wait for the
    table to follow."""
    await c.press("slash")
    await c.clear_field()
    await (c.type(text) if typed else c.paste(text))
    await c.wait_for_text(f"filter: {text}")


async def test_registry_shows_every_key_with_all_columns_and_status_as_a_word(demo_vault, console):
    async with console(demo_vault, size=WIDE) as c:
        await open_registry(c)
        header = c.line_with("Key Name")
        labels = ["Key Name", "Status", "Environment", "Expiry", "Last Used", "Module Scope", "Permissions",
                  "Key ID", "Owner", "Created"]
        assert [label for label in labels if label in header] == labels
        assert [header.index(label) for label in labels] == sorted(header.index(label) for label in labels)
        assert len(rows(c)) == 24 and "1-24 of 24 keys" in c.text()
        assert "expired" in c.line_with("GitHub Sync Key")
        assert "revoked" in c.line_with("Governance Admin Key")
        assert re.search(r"Agents Execution Key\s+active\s+production\s+in \d+ d\s+\S+ \S+ ago\s+Agents Execution",
                         c.text())


async def test_environment_tabs_and_filter_narrow_the_table(demo_vault, console):
    async with console(demo_vault) as c:
        await open_registry(c)
        await c.press("e", "e", "e", "e")  # All -> Development -> Sandbox -> Staging -> Production
        await c.wait_for(lambda: len(rows(c)) == 8, "the 8 production keys")
        assert all(re.search(r"\bproduction\b", row) for row in rows(c))
        await filter_by(c, "sync", typed=True)  # filter as you type
        await c.wait_for(lambda: names(c) == ["Governance Policy Sync", "GitHub Sync Key"], "the two Sync keys")
        await c.press("enter")  # leaves the filter box for the table
        await c.press("e")  # back to All: the filter stays
        await c.wait_for(lambda: "filter: sync" in c.text() and len(rows(c)) == 2, "All, still filtered")
        assert sorted(names(c)) == ["GitHub Sync Key", "Governance Policy Sync"]


async def test_filter_matches_owner_key_id_and_scope_and_says_when_nothing_matches(demo_vault, console, demo_keys):
    async with console(demo_vault) as c:
        await open_registry(c)
        key_id = demo_keys["Demo Build Key"].key_id
        for text, expected in ((key_id, {"Demo Build Key"}), ("ci-bot", {"GitHub Sync Key", "CI Pipeline Key"}),
                               ("Monitoring", {k for k, v in demo_keys.items() if v.scope.value == "monitoring"}),
                               ("no such key", set())):
            await filter_by(c, text)
            await c.wait_for(lambda: set(names(c)) == expected, f"the keys matching {text!r}")
        await c.wait_for_text("0-0 of 0 keys")


async def sort_by(c, column: str, arrow: str) -> None:
    """Press s until the registry says it is sorted by `column`, then S until the arrow is `arrow`."""
    for _ in range(12):
        if f"sorted by {column} " in c.text():
            break
        await c.press("s")
    if f"sorted by {column} {arrow}" not in c.text():
        await c.press("S")
    await c.wait_for_text(f"sorted by {column} {arrow}")


async def test_sort_cycles_columns_and_reverses(demo_vault, console):
    async with console(demo_vault) as c:
        await open_registry(c)
        assert "sorted by Created ▼" in c.text()
        await c.press("s")  # Created is out of sight at 120 columns: the first column in sight
        await c.wait_for_text("sorted by Key Name ▲")
        await sort_by(c, "Key Name", "▲")
        ascending = names(c)
        assert ascending == sorted(ascending) and len(ascending) == 24
        await c.press("S")
        await c.wait_for_text("sorted by Key Name ▼")
        await c.wait_for(lambda: names(c) == sorted(ascending, reverse=True), "the names in reverse")
        assert "Key Name ▼" in c.line_with("Status")


async def test_enter_opens_the_highlighted_key_and_escape_comes_back(demo_vault, console):
    async with console(demo_vault) as c:
        await open_registry(c)
        await filter_by(c, "GitHub Sync")
        await c.press("enter", "enter")  # out of the filter box, then open the highlighted row
        await c.wait_for(lambda: "Key: GitHub Sync Key" in c.title, "the key's detail")
        await c.press("escape")
        await c.wait_for_text("filter: GitHub Sync")


async def highlighted(c) -> str:
    """The name of the highlighted key, as its detail screen shows it (enter, read, escape)."""
    await c.press("enter")
    title = await c.wait_for(lambda: "Key: " in c.title and c.title, "the highlighted key's detail")
    await c.press("escape")
    await c.wait_for(lambda: "Key: " not in c.title, "the registry again")
    return title.split("Key: ")[1].split(" — ")[0].strip()


async def test_a_large_registry_is_paged_in_windows_of_100_rows_not_loaded_whole(vault, console):
    total = 250
    vault.create_many([NewKey(name=f"bulk key {i:04d}", scope="monitoring", permissions=("read",),
                              environment="development", expires_in_days=30) for i in range(total)])
    async with console(vault) as c:
        await open_registry(c, total)
        assert f"1-100 of {total} keys" in c.text()
        await sort_by(c, "Key Name", "▲")
        for _ in range(10):  # page down to the window's last row, then once more past it
            if not re.search(r"\b1-100 of", c.text()):
                break
            await c.press("pagedown")
        await c.wait_for(lambda: not re.search(r"\b1-100 of", c.text()), "the next window")
        assert await highlighted(c) == "bulk key 0100"  # the key after the first window's last
        await c.press("k")
        assert await highlighted(c) == "bulk key 0099"
        await c.press(*["pagedown"] * 8)  # paging down brings in later windows too
        await c.wait_for(lambda: re.search(r"\b(\d+)-\d+ of", c.text()) and
                         int(re.search(r"\b(\d+)-\d+ of", c.text()).group(1)) > 51, "a later window")
        await c.press("G")
        await c.wait_for_text(f"{total - 99}-{total} of {total} keys")
        assert await highlighted(c) == f"bulk key {total - 1:04d}"
        await c.press("g")
        await c.wait_for_text(f"1-100 of {total} keys")
        assert names(c)[0] == "bulk key 0000" and await highlighted(c) == "bulk key 0000"


async def test_org_policy_violators_are_flagged_in_the_registry(demo_vault, console):
    demo_vault.apply_org_policy("[environments.staging]\nrequire_ip_restriction = true\n")
    async with console(demo_vault) as c:
        await open_registry(c)
        flagged = {row[:28].strip() for row in rows(c) if row.lstrip().startswith("⚑ ")}
        live_staging = {row[:28].strip() for row in rows(c) if re.search(r"\bactive\s+staging\b", row)}
        assert len(live_staging) == 5 and flagged == live_staging  # every live staging key lacks an allowlist
