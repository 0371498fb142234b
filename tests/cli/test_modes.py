"""The clock, read-only and MFA replacement, attacked from a shell: KEYTUI_NOW moves the clock of
demo and test homes only, --read-only and the demo never touch a real home, and replacing an
authenticator needs a code from the old one."""

from __future__ import annotations

import secrets
import subprocess
import sys

import pyotp
import pytest

from keytui import totp as totp_math

FUTURE = {"KEYTUI_NOW": "2099-01-01T00:00:00+00:00"}
PROD_KEY = ["keys", "create", "--name", "Forever", "--scope", "agents", "--permission", "read",
            "--environment", "production", "--expires-in", "30"]


def test_keytui_now_is_refused_in_a_real_home(cli, counts):
    cli("policy", "set", "expiry_alert_days", "14")  # a home in real use
    before = counts()
    result = cli(*PROD_KEY, env=FUTURE)
    assert result.code == 2 and result.err == "keytui: KEYTUI_NOW: keytui's clock can be pinned only in a demo home; unset it\n"
    assert counts() == before
    assert cli("keys", "list", env=FUTURE).code == 2
    assert cli("audit", "verify").code == 0


def test_keytui_now_is_refused_by_the_gateway_in_a_real_home(home, cli):
    cli("policy", "set", "expiry_alert_days", "14")
    env = {k: v for k, v in __import__("os").environ.items() if k != "KEYTUI_MASTER_KEY"}
    proc = subprocess.run([sys.executable, "-m", "keytui", "--home", str(home), "serve", "--port", "1"],
                          capture_output=True, text=True, env={**env, **FUTURE}, timeout=60)
    assert proc.returncode == 2 and "KEYTUI_NOW" in proc.stderr


def test_a_planted_demo_mark_does_not_unlock_the_clock(cli, raw_sql):
    cli("policy", "set", "expiry_alert_days", "14")
    raw_sql(f"INSERT INTO meta (name, value) VALUES ('home_kind', 'demo:{secrets.token_hex(32).upper()}')")
    assert cli(*PROD_KEY, env=FUTURE).code == 2


def test_keytui_now_cannot_step_past_an_mfa_lock_out(cli, raw_sql):
    secret = cli("mfa", "enroll", "--json").json()["secret"]
    exec_key = [*PROD_KEY[:PROD_KEY.index("read")], "execute", *PROD_KEY[PROD_KEY.index("read") + 1:]]
    for _ in range(totp_math.MAX_FAILURES):
        assert cli(*exec_key, "--totp", "000000").code == 2
    locked = cli(*exec_key, "--totp", pyotp.TOTP(secret).now())
    assert locked.code == 2 and "too many wrong codes" in locked.err
    later = pyotp.TOTP(secret).at(4_070_908_800)  # the code for 2099-01-01
    assert cli(*exec_key, "--totp", later, env=FUTURE).code == 2
    assert raw_sql("SELECT count(*) FROM api_key") == [(0,)]


def test_a_demo_home_honours_keytui_now_and_says_so(cli):
    built = cli("demo", "--keys", "3", "--events", "10", "--json", env={"KEYTUI_NOW": "2026-11-27T09:00:00+00:00"})
    assert built.code == 0, built
    listed = cli("keys", "list", "--json", env={"KEYTUI_NOW": "2026-11-27T09:00:00+00:00"})
    assert listed.code == 0 and len(listed.json()) == 3


def test_the_demo_never_goes_into_a_home_in_real_use(cli, vault, raw_sql):
    vault.create("Real Key", "agents", ["read"], "production", expires_in_days=30)
    vault.set_policy("ip_locking.production", "required")
    audit_before = raw_sql("SELECT count(*), max(ts) FROM audit_entry")
    for extra in ([], ["--force"]):
        result = cli("demo", "--keys", "3", "--events", "10", *extra)
        assert result.code == 2 and "not a demo home" in result.err, result
    assert raw_sql("SELECT count(*), max(ts) FROM audit_entry") == audit_before
    assert raw_sql("SELECT value FROM policy_setting WHERE name = 'ip_locking.production'") == [('"required"',)]
    assert raw_sql("SELECT count(*) FROM operator") == [(0,)]


@pytest.mark.parametrize("flags", [["--read-only"], ["--read-only", "--force"]])
def test_read_only_refuses_the_demo(cli, home, flags):
    result = cli("demo", "--keys", "3", "--events", "10", *flags)
    assert result.code == 2 and "read-only" in result.err
    assert not (home / "keytui.db").exists()  # a read-only run writes nothing, not even a new database


def test_replacing_an_authenticator_needs_a_code_from_the_old_one(kt, totp, raw_sql, clock):
    secret_before = raw_sql("SELECT totp_secret FROM operator WHERE name = 'alice'")
    for extra in ([], ["--totp", "000000"]):
        result = kt("mfa", "enroll", "--replace", *extra)
        assert result.code == 2 and result.err.startswith("keytui: totp:"), result
        assert "Secret" not in result.out
    assert raw_sql("SELECT totp_secret FROM operator WHERE name = 'alice'") == secret_before
    replaced = kt("mfa", "enroll", "--replace", "--totp", totp(), "--json")
    assert replaced.code == 0, replaced
    assert raw_sql("SELECT totp_secret FROM operator WHERE name = 'alice'") != secret_before
    assert kt("audit", "list", "--json").json()[0]["details"] == {"operator": "alice", "replaced": True}


def test_replacing_does_not_clear_a_lock_out(kt, totp, clock):
    good = totp()
    for _ in range(totp_math.MAX_FAILURES):
        kt("mfa", "enroll", "--replace", "--totp", "000000")
    result = kt("mfa", "enroll", "--replace", "--totp", good)
    assert result.code == 2 and "too many wrong codes" in result.err
