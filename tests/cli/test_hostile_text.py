"""Hostile text against the CLI: refused on the way in where it can never be legitimate, shown
literally with control characters made visible where it is stored (or was planted in the
database behind keytui's back), and JSON output that stays valid and carries no control byte."""

from __future__ import annotations

import json
import re

import pytest

from tests.pg import database_rows

ESC_OSC52 = "\x1b]52;c;ZWNobyBwd25lZA==\x07\x1b[2J"
CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]")
CREATE = ["keys", "create", "--scope", "agents", "--permission", "read", "--environment", "sandbox",
          "--expires-in", "30"]

REFUSED = {
    "name with OSC 52": (["--name", f"Key{ESC_OSC52}"], "name"),
    "name with C1 CSI": (["--name", "Key\x9b2J"], "name"),
    "name with BEL": (["--name", "Key\x07"], "name"),
    "name with RTL override": (["--name", "Key\u202egnp.exe"], "name"),
    "owner with markup": (["--name", "K", "--owner", "team[/]"], "owner"),
    "owner with click action": (["--name", "K", "--owner", "[@click=app.quit]x"], "owner"),
    "owner with escape": (["--name", "K", "--owner", f"ops{ESC_OSC52}"], "owner"),
    "owner as a formula": (["--name", "K", "--owner", "=HYPERLINK(\"http://x\")"], "owner"),
}


@pytest.mark.parametrize("extra, field", REFUSED.values(), ids=REFUSED.keys())
def test_control_and_markup_in_identifiers_are_refused_on_create(cli, counts, extra, field):
    result = cli(*CREATE, *extra)
    assert result.code == 2 and result.err.startswith(f"keytui: {field}:"), result
    assert not CONTROL.search(result.err) and result.err.count("\n") == 1
    assert counts()[0] == 0


OTHER_WAYS_IN = {
    "operator with escape": (["--operator", f"eve{ESC_OSC52}", "keys", "list"], "operator"),
    "operator with markup": (["--operator", "[@click=app.quit]", "keys", "list"], "operator"),
    "revoke reason with escape": (["keys", "revoke", "{key_id}", "--reason", f"bye{ESC_OSC52}"], "reason"),
    "module with escape": (["verify", "{token}", "--environment", "sandbox", "--module", f"ci{ESC_OSC52}"], "module"),
    "ip with a zone id": (["verify", "{token}", "--environment", "sandbox", "--ip", f"2001:db8::9%{ESC_OSC52}"],
                          "ip"),
    "edit owner with markup": (["keys", "edit", "{key_id}", "--owner", "team[/]"], "owner"),
    "edit name with escape": (["keys", "edit", "{key_id}", "--name", f"x{ESC_OSC52}"], "name"),
}


@pytest.mark.parametrize("args, field", OTHER_WAYS_IN.values(), ids=OTHER_WAYS_IN.keys())
def test_control_characters_are_refused_through_every_other_way_in(cli, vault, counts, raw_sql, args, field):
    issued = vault.create("Target", "agents", ["read"], "sandbox", expires_in_days=30)
    values = {"{key_id}": issued.key.key_id, "{token}": issued.token}
    before = counts()
    result = cli(*[values.get(a, a) for a in args])
    assert result.code == 2 and result.err.startswith(f"keytui: {field}:"), result
    assert not CONTROL.search(result.err)
    assert counts() == before
    assert raw_sql("SELECT status FROM api_key") == [("active",)]


TOO_LONG = {  # one past each column's length: PostgreSQL's varchar would refuse it with an error of its own
    "operator": (["--operator", "o" * 65, "keys", "list"], "operator"),
    "owner": ([*CREATE, "--name", "K", "--owner", "o" * 65], "owner"),
    "module": (["verify", "{token}", "--environment", "sandbox", "--module", "m" * 33], "module"),
    "reason": (["keys", "revoke", "{key_id}", "--reason", "r" * 501], "reason"),
}


@pytest.mark.parametrize("args, field", TOO_LONG.values(), ids=TOO_LONG.keys())
def test_over_long_text_is_refused_on_the_way_in_on_either_engine(cli, vault, counts, args, field):
    issued = vault.create("Target", "agents", ["read"], "sandbox", expires_in_days=30)
    values = {"{key_id}": issued.key.key_id, "{token}": issued.token}
    before = counts()
    result = cli(*[values.get(a, a) for a in args])
    assert result.code == 2 and result.err.startswith(f"keytui: {field}:") and result.err.count("\n") == 1, result
    assert counts() == before


def test_an_org_policy_name_with_control_characters_is_refused(cli, tmp_path):
    path = tmp_path / "policy.toml"
    path.write_text('name = "corp\\u001b]52;c;eA==\\u0007"\n')
    result = cli("policy", "apply", str(path))
    assert result.code == 2 and result.err.startswith("keytui: name (line 1):"), result
    assert not CONTROL.search(result.err)


MARKUP_NAMES = ["Ops [/] key", "[@click=app.quit]Quit", "[link=https://evil.example]x[/link]",
                "=cmd|' /C calc'!A0", "n" * 64]


@pytest.fixture
def planted(vault, home):
    """Keys whose names are markup (allowed: they are shown literally), and hostile text planted
    straight into the database where keytui itself would never store it."""
    ids = [vault.create(name, "agents", ["read"], "sandbox", expires_in_days=30).key.key_id for name in MARKUP_NAMES]
    vault.revoke(ids[0], "leaked [/] in a [@click=app.quit] ticket")
    database_rows(home, "UPDATE api_key SET name = ?, owner = ? WHERE key_id = ?",
                  ("Key\x1b]52;c;ZWNobyBwd25lZA==\x07\x9b2J", "ops\x1b[2J", ids[1]))
    database_rows(home, "INSERT INTO alert (created_at, kind, severity, key_id, ip, message, evidence, dedupe_key) "
                  "VALUES (1795770000000, 'ip-not-allowed', 'high', ?, ?, ?, '[]', 'planted')",
                  (ids[1], "2001:db8::9%\x1b]52;c;eA==\x07", "from \x1b[2J\u202e"))
    return ids


READS = [["keys", "list"], ["keys", "show", "{key_id}"], ["alerts"], ["alerts", "--all"], ["audit", "list"],
         ["policy", "show"]]


@pytest.mark.parametrize("args", READS, ids=[" ".join(a) for a in READS])
def test_reads_show_hostile_text_literally_without_control_bytes(cli, planted, args):
    args = [planted[1] if a == "{key_id}" else a for a in args]
    human = cli(*args)
    assert human.code == 0, human
    assert not CONTROL.search(human.out + human.err)
    as_json = cli(*args, "--json")
    assert as_json.code == 0 and not CONTROL.search(as_json.out)
    json.loads(as_json.out)
    if args[0] == "keys":
        assert "␛]52;c;ZWNobyBwd25lZA==␇\\u009b2J" in human.out
        assert "Key\x1b]52;c;ZWNobyBwd25lZA==\x07\x9b2J" in as_json.out.encode().decode("unicode_escape")
    if args == ["keys", "list"]:
        for name in MARKUP_NAMES[2:]:
            assert name in human.out
    if args[0] == "alerts":
        assert "2001:db8::9%␛]52;c;eA==␇" in human.out and "from ␛[2J\\u202e" in human.out


def test_exports_carry_no_control_bytes_and_json_stays_valid(cli, planted, tmp_path):
    for fmt in ("csv", "json"):
        result = cli("keys", "export", "--format", fmt)
        assert result.code == 0, result
        if fmt == "json":
            assert not CONTROL.search(result.out)
            names = {r["name"] for r in json.loads(result.out)}
            assert "Key\x1b]52;c;ZWNobyBwd25lZA==\x07\x9b2J" in names


def test_csv_export_neutralises_formulas_as_owasp_recommends(cli, vault, tmp_path):
    formulas = ["=1+1", "+SUM(A1)", "-2+3", "@SUM(A1)"]
    for name in formulas:
        vault.create(name, "agents", ["read"], "sandbox", expires_in_days=30, owner="ops")
    out = tmp_path / "keys.csv"
    result = cli("keys", "export", "--format", "csv", "--output", str(out))
    assert result.code == 0, result
    import csv

    names = {row["name"] for row in csv.DictReader(out.open(encoding="utf-8"))}
    assert names == {"'" + name for name in formulas}
    assert not any(line.startswith(tuple("=+-@")) for line in out.read_text().splitlines())
