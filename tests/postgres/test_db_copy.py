"""`keytui db copy --to URL`: a demo home on SQLite copied to PostgreSQL and back arrives whole
(keys, secrets, events, rollups, alerts, settings, the audit chain), verifies with the same
master key, keeps working (new rows get new ids), and a non-empty target is refused."""

from __future__ import annotations

import stat

from tests.pg import database_rows

SQLITE = {"KEYTUI_DATABASE_URL": ""}  # the home's own file
NOW = {"KEYTUI_NOW": "2026-11-27T09:00:00+00:00"}
TABLES = ("api_key", "key_secret", "activity_event", "usage_rollup", "usage_daily", "audit_entry", "policy_setting",
          "alert", "meta", "operator")


def test_a_demo_home_goes_to_postgresql_and_back_intact(cli, home, pg_url, tmp_path):
    assert cli("demo", env={**SQLITE, **NOW}).code == 0
    at = {"sqlite": SQLITE, "pg": {"KEYTUI_DATABASE_URL": pg_url}}
    keys = cli("keys", "list", "--json", env=SQLITE).out
    up = cli("db", "copy", "--to", pg_url, "--json", env=SQLITE)
    assert up.code == 0, up
    rows = up.json()["rows"]
    assert all(rows[t] > 0 for t in TABLES if t != "operator"), rows
    assert cli("keys", "list", "--json", env=at["pg"]).out == keys
    checked = cli("audit", "verify", "--json", env=at["pg"])
    assert checked.code == 0 and checked.json()["ok"] and checked.json()["entries"] == rows["audit_entry"]
    assert database_rows(home, "SELECT count(*) FROM activity_event") == [(rows["activity_event"],)]

    again = cli("db", "copy", "--to", pg_url, env=SQLITE)
    assert again.code == 2 and "already holds keytui data" in again.err
    assert cli("audit", "verify", "--json", env=at["pg"]).json()["entries"] == rows["audit_entry"]

    back = tmp_path / "back.db"
    down = cli("db", "copy", "--to", f"sqlite:///{back}", "--json", env=at["pg"])
    assert down.code == 0, down
    assert stat.S_IMODE(back.stat().st_mode) == 0o600
    at["back"] = {"KEYTUI_DATABASE_URL": f"sqlite:///{back}"}
    assert cli("keys", "list", "--json", env=at["back"]).out == keys
    assert cli("audit", "verify", "--json", env=at["back"]).json()["ok"]
    for where in ("pg", "back"):  # each copy keeps working: new ids past the copied ones
        made = cli("keys", "create", "--name", "After", "--scope", "agents", "--permission", "read",
                   "--environment", "sandbox", "--expires-in", "30", env=at[where])
        assert made.code == 0, made
        assert cli("audit", "verify", "--json", env=at[where]).json()["ok"]


def test_credentials_in_the_url_are_never_printed(cli, pg_url):
    failed = cli("db", "copy", "--to", "postgresql://keytui:s3cr3t-pw@/nowhere?host=/nonexistent&port=1")
    assert failed.code != 0 and failed.err.count("\n") == 1
    assert "s3cr3t-pw" not in failed.err + failed.out
