"""The key lifecycle through the real `keytui` command, its output shapes and exit codes."""

from __future__ import annotations

import json
import re
import sqlite3
from contextlib import closing
from datetime import timedelta

import pytest

TOKEN_RE = re.compile(r"^kt_sbx_[0-9A-Za-z]{33}_[0-9A-Za-z]{6}$")
REGISTRY_FIELDS = {"key_id", "name", "scope", "owner", "created_at", "expires_at", "status", "last_used_at",
                   "environment", "permissions", "ip_allowlist", "hint", "policy_violation", "revoked_at",
                   "revoke_reason", "created_by", "canary"}
CREATE = ("keys", "create", "--name", "Sandbox Runner Key", "--scope", "sandbox", "--permission", "read",
          "--permission", "write", "--environment", "sandbox")


def create(kt, *extra: str) -> dict:
    made = kt(*CREATE, *extra, "--json")
    assert made.code == 0, made
    return made.json()


def verify_code(kt, token: str, *extra: str) -> tuple[int, str]:
    result = kt("verify", token, "--environment", "sandbox", *extra, "--json")
    return result.code, result.json()["code"]


def test_create_prints_the_key_and_its_token_once(kt):
    made = kt(*CREATE, "--expires-in", "60", "--ip", "10.0.0.0/8", "--owner", "ci-bot")
    assert made.code == 0, made
    key_id = re.search(r"\bkey_[a-z2-7]{16}\b", made.out).group(0)
    token = made.out.strip().splitlines()[-1]
    assert TOKEN_RE.match(token)
    shown = kt("keys", "show", key_id, "--json").json()
    assert REGISTRY_FIELDS <= shown.keys()
    assert (shown["name"], shown["owner"], shown["permissions"], shown["ip_allowlist"], shown["status"]) == (
        "Sandbox Runner Key", "ci-bot", ["read", "write"], ["10.0.0.0/8"], "active")
    assert [s["origin"] for s in shown["secrets"]] == ["create"]
    assert [h["action"] for h in shown["history"]] == ["key.create"]
    assert token not in kt("keys", "show", key_id).out


def test_list_json_is_the_registry_without_secrets(kt):
    made = create(kt, "--expires-in", "30")
    assert made.keys() == {"key", "token"} and REGISTRY_FIELDS == made["key"].keys()
    listed = kt("keys", "list", "--json", "--environment", "sbx", "--status", "active").json()
    assert listed == [made["key"]]
    assert kt("keys", "list", "--json", "--scope", "agents").json() == []
    assert kt("keys", "list", "--json", "--search", "Runner").json() == [made["key"]]
    assert kt("keys", "list", "--json", "--search", "GitHub").json() == []
    human = kt("keys", "list")
    assert "Sandbox Runner Key" in human.out and made["token"] not in human.out


def test_rotate_with_grace_then_regenerate_then_revoke(kt, clock):
    first = create(kt, "--expires-in", "30")
    key_id = first["key"]["key_id"]
    rotated = kt("keys", "rotate", key_id, "--grace-hours", "1", "--json").json()
    assert TOKEN_RE.match(rotated["token"]) and rotated["token"] != first["token"]
    assert verify_code(kt, first["token"]) == (0, "VALID")
    clock.advance(hours=1)
    assert verify_code(kt, first["token"]) == (1, "EXPIRED")
    assert verify_code(kt, rotated["token"]) == (0, "VALID")

    regenerated = kt("keys", "regenerate", key_id, "--json").json()
    assert verify_code(kt, rotated["token"]) == (1, "REVOKED")
    assert verify_code(kt, regenerated["token"]) == (0, "VALID")

    revoked = kt("keys", "revoke", key_id, "--reason", "leaked", "--json").json()
    assert (revoked["status"], revoked["revoke_reason"]) == ("revoked", "leaked")
    assert verify_code(kt, regenerated["token"]) == (1, "REVOKED")
    history = [h["action"] for h in kt("keys", "show", key_id, "--json").json()["history"]]
    assert history == ["key.revoke", "key.regenerate", "key.rotate", "key.create"]


def test_a_revoked_key_refuses_rotate_regenerate_edit_restore_and_copy(kt, counts):
    key_id = create(kt, "--expires-in", "30")["key"]["key_id"]
    assert kt("keys", "revoke", key_id).code == 0
    before = counts()
    for action in (("rotate",), ("regenerate",), ("edit", "--name", "Back again"), ("restore",), ("copy",)):
        refused = kt("keys", action[0], key_id, *action[1:])
        assert refused.code == 2, (action, refused)
        assert len(refused.err.strip().splitlines()) == 1 and "revoked" in refused.err, (action, refused)
        assert refused.out == ""
    assert counts() == before


def test_rotate_with_zero_grace_and_rotate_of_an_expired_key(kt, clock, counts):
    first = create(kt, "--expires-in", "30")
    key_id = first["key"]["key_id"]
    rotated = kt("keys", "rotate", key_id, "--grace-hours", "0", "--json").json()
    assert verify_code(kt, first["token"]) == (1, "EXPIRED")
    clock.advance(days=30)
    assert verify_code(kt, rotated["token"]) == (1, "EXPIRED")
    before = counts()
    refused = kt("keys", "rotate", key_id)
    assert refused.code == 2 and "expired" in refused.err
    assert counts() == before


def test_grace_is_clipped_at_the_keys_expiry(kt, clock):
    expiry = clock.now() + timedelta(days=3)
    first = create(kt, "--expires-at", expiry.isoformat())
    clock.set(expiry - timedelta(hours=2))
    assert kt("keys", "rotate", first["key"]["key_id"], "--grace-hours", "24").code == 0
    secrets = kt("keys", "show", first["key"]["key_id"], "--json").json()["secrets"]
    assert [(s["origin"], s["valid_until"]) for s in secrets] == [("rotate", None), ("create", expiry.isoformat())]
    clock.set(expiry)
    assert verify_code(kt, first["token"]) == (1, "EXPIRED")


def test_copy_prints_the_current_token_and_is_audited(kt):
    made = create(kt, "--expires-in", "30")
    copied = kt("keys", "copy", made["key"]["key_id"])
    assert copied.code == 0 and copied.out.strip() == made["token"]
    assert kt("keys", "copy", made["key"]["key_id"], "--json").json() == {"key_id": made["key"]["key_id"],
                                                                        "token": made["token"]}
    actions = [e["action"] for e in kt("audit", "list", "--json").json()]
    assert actions == ["key.copy", "key.copy", "key.create"]


def test_export_never_contains_a_token_or_digest(kt, vault):
    made = create(kt, "--expires-in", "30")
    digest = vault.ctx.keyring.digest(made["token"])
    for fmt in ("csv", "json"):
        exported = kt("keys", "export", "--format", fmt)
        assert exported.code == 0 and made["key"]["key_id"] in exported.out
        leaked = made["token"].split("_")[2] in exported.out  # the random part, with or without its frame
        assert not leaked
        assert digest not in exported.out
    assert [e["action"] for e in kt("audit", "list", "--json").json()][:2] == ["registry.export"] * 2


def test_verify_reads_the_token_from_stdin(kt):
    made = create(kt, "--expires-in", "30")
    result = kt("verify", "-", "--environment", "sandbox", "--permission", "write", "--module", "ci",
                "--json", input=made["token"] + "\n")
    assert result.code == 0, result
    assert result.json() == {"valid": True, "code": "VALID", "key_id": made["key"]["key_id"], "scope": "sandbox",
                             "environment": "sandbox", "permissions": ["read", "write"],
                             "expires_at": made["key"]["expires_at"]}
    human = kt("verify", "-", "--environment", "production", input=made["token"])
    assert (human.code, human.out.strip()) == (1, f"WRONG_ENVIRONMENT {made['key']['key_id']}")


def test_execute_needs_a_fresh_totp_code_on_create_and_on_adding_it(kt, totp, counts):
    def executor(name: str, *extra: str):
        return kt("keys", "create", "--name", name, "--scope", "agents", "--permission", "execute",
                  "--environment", "sandbox", "--expires-in", "60", *extra)

    before = counts()
    refused = executor("Agents Pipeline Executor")
    assert refused.code == 2 and "totp" in refused.err and counts() == before
    code = totp()
    assert executor("Agents Pipeline Executor", "--totp", code).code == 0
    replayed = executor("Second Executor", "--totp", code)
    assert replayed.code == 2 and "already used" in replayed.err

    key_id = create(kt, "--expires-in", "30")["key"]["key_id"]
    refused = kt("keys", "edit", key_id, "--permission", "read", "--permission", "admin")
    assert refused.code == 2 and "totp" in refused.err
    edited = kt("keys", "edit", key_id, "--permission", "read", "--permission", "admin", "--totp", totp(), "--json")
    assert edited.json()["permissions"] == ["admin", "read"]


def test_list_sorts_by_a_column_and_limits(kt):
    for name in ("Bravo Key", "Alpha Key", "Charlie Key"):
        assert kt("keys", "create", "--name", name, "--scope", "agents", "--permission", "read",
                  "--environment", "dev", "--expires-in", "30").code == 0
    by_name = [k["name"] for k in kt("keys", "list", "--sort", "name", "--json").json()]
    assert by_name in (["Alpha Key", "Bravo Key", "Charlie Key"], ["Charlie Key", "Bravo Key", "Alpha Key"])
    limited = [k["name"] for k in kt("keys", "list", "--sort", "name", "--limit", "2", "--json").json()]
    assert limited == by_name[:2]
    refused = kt("keys", "list", "--sort", "colour")
    assert refused.code == 2 and refused.err.startswith("keytui: sort") and "name" in refused.err, refused


def test_export_output_writes_the_file_not_stdout_and_audits_its_destination(kt, tmp_path):
    made = create(kt, "--expires-in", "30")
    target = tmp_path / "registry.json"
    exported = kt("keys", "export", "--format", "json", "--output", str(target))
    assert exported.code == 0 and exported.out == "", exported
    assert [k["key_id"] for k in json.loads(target.read_text())] == [made["key"]["key_id"]]
    assert made["token"].split("_")[2] not in target.read_text()
    entry = kt("audit", "list", "--json").json()[0]
    assert (entry["action"], entry["details"]["destination"]) == ("registry.export", str(target))


def test_edit_clear_ip_removes_the_allowlist(kt):
    made = create(kt, "--expires-in", "30", "--ip", "10.0.0.0/8")
    assert verify_code(kt, made["token"], "--ip", "192.0.2.1") == (1, "IP_NOT_ALLOWED")
    edited = kt("keys", "edit", made["key"]["key_id"], "--clear-ip", "--json")
    assert edited.code == 0 and edited.json()["ip_allowlist"] == [], edited
    assert verify_code(kt, made["token"], "--ip", "192.0.2.1") == (0, "VALID")


@pytest.mark.sqlite_only  # a second SQLite file beside the home's own
def test_keytui_database_url_puts_the_database_where_it_says(cli, home, tmp_path):
    # cli, not kt: the test-home mark that lets KEYTUI_NOW pin the clock is in the home's own database
    elsewhere = tmp_path / "elsewhere.db"
    url = {"KEYTUI_DATABASE_URL": f"sqlite:///{elsewhere}"}
    made = cli(*CREATE, "--expires-in", "30", "--json", env=url)
    assert made.code == 0, made
    assert not (home / "keytui.db").exists()
    with closing(sqlite3.connect(elsewhere)) as conn:
        assert conn.execute("SELECT key_id FROM api_key").fetchall() == [(made.json()["key"]["key_id"],)]
    assert [k["name"] for k in cli("keys", "list", "--json", env=url).json()] == ["Sandbox Runner Key"]
    alone = cli("keys", "list", "--json")  # without it: the home's master key is there, its database is not
    assert alone.code == 3 and "keytui.db is missing" in alone.err, alone
def test_list_status_expiring_is_live_keys_inside_the_expiry_alert_window(kt, clock):
    soon = create(kt, "--expires-at", (clock.now() + timedelta(days=5)).isoformat())["key"]
    kt("keys", "create", "--name", "Later", "--scope", "sandbox", "--permission", "read", "--environment",
       "sandbox", "--expires-in", "30")
    listed = kt("keys", "list", "--json", "--status", "expiring").json()
    assert [k["key_id"] for k in listed] == [soon["key_id"]]
    assert kt("policy", "set", "expiry_alert_days", "3").code == 0
    assert kt("keys", "list", "--json", "--status", "expiring").json() == []
    clock.advance(days=6)  # expired now: no longer "expiring"
    assert kt("keys", "list", "--json", "--status", "expiring").json() == []
    refused = kt("keys", "list", "--status", "soon")
    assert refused.code == 2 and "expiring" in refused.err


def test_rotate_with_a_new_expiry_policy(kt, clock):
    key_id = create(kt, "--expires-in", "90")["key"]["key_id"]
    rotated = kt("keys", "rotate", key_id, "--expires-in", "30", "--json").json()["key"]
    assert rotated["expires_at"] == (clock.now() + timedelta(days=30)).isoformat()
    refused = kt("keys", "rotate", key_id, "--expires-in", "45")
    assert refused.code == 2 and "30, 60, 90" in refused.err
