"""Overview extras: alerts can be reviewed and acknowledged from the keyboard; an empty home says how to start."""

from textual.widgets import DataTable

from keytui.service import alerts


async def test_acknowledging_an_alert_takes_it_off_the_open_list_and_is_audited(demo_vault, make_app):
    open_before = alerts.list_alerts(demo_vault.ctx)
    assert open_before, "the demo data raises alerts"
    app = make_app(demo_vault)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("A")
        await pilot.pause()
        table = app.screen.query_one("#alerts-table", DataTable)
        assert table.row_count == len(open_before)
        await pilot.press("a")
        await pilot.pause()
        assert table.row_count == len(open_before) - 1
        await pilot.press("A")  # show handled ones too
        await pilot.pause()
        assert table.row_count == len(open_before)
        await pilot.press("escape")
        await pilot.pause()
        assert f"Open alerts ({len(open_before) - 1})" in str(app.screen.query_one("#alerts").border_title)
    assert len(alerts.list_alerts(demo_vault.ctx)) == len(open_before) - 1
    assert demo_vault.audit_entries(limit=1)[0]["action"] == "alert.acknowledge"


async def test_read_only_reviewers_cannot_acknowledge(demo_vault, make_app):
    demo_vault.ctx.read_only = True
    count = len(alerts.list_alerts(demo_vault.ctx))
    app = make_app(demo_vault)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("A")
        await pilot.pause()
        await pilot.press("a")
        await pilot.pause()
    assert len(alerts.list_alerts(demo_vault.ctx)) == count
    assert any("read-only" in note.lower() for note in app.notes)


async def test_an_empty_home_tells_a_new_operator_how_to_start(vault, make_app):
    app = make_app(vault)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        text = str(app.screen.query_one("#environments").render())
        assert "No keys yet" in text and "keytui --demo" in text
