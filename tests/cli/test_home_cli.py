"""The home directory from the command line: private files, the master key from the environment,
a wrong master key refused, read-only mode, MFA enrolment."""

from __future__ import annotations

import base64
import stat

import pyotp

KEY_A = base64.b64encode(b"a" * 32).decode()
KEY_B = base64.b64encode(b"b" * 32).decode()
CREATE = ("keys", "create", "--name", "Demo Build Key", "--scope", "demo-builds", "--permission", "read",
          "--environment", "dev", "--no-expiry")


def test_first_run_creates_a_private_home_database_and_master_key(cli, home, tmp_path):
    fresh = tmp_path / "fresh" / "keytui"
    assert cli("--home", str(fresh), *CREATE).code == 0  # --home wins over $KEYTUI_HOME
    assert not (home / "keytui.db").exists()
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o700
    for name in ("keytui.db", "master.key"):
        assert stat.S_IMODE((fresh / name).stat().st_mode) == 0o600, name


def test_the_master_key_from_the_environment_and_a_wrong_one(cli, home, counts):
    made = cli(*CREATE, "--json", env={"KEYTUI_MASTER_KEY": KEY_A}).json()
    assert not (home / "master.key").exists()
    copied = cli("keys", "copy", made["key"]["key_id"], env={"KEYTUI_MASTER_KEY": KEY_A})
    assert copied.out.strip() == made["token"]
    before = counts()
    for args in (("keys", "copy", made["key"]["key_id"]), ("verify", made["token"], "--environment", "dev"), CREATE):
        refused = cli(*args, env={"KEYTUI_MASTER_KEY": KEY_B})
        assert refused.code == 2 and "different master key" in refused.err, (args, refused)
        assert made["token"] not in refused.out + refused.err
    malformed = cli("keys", "list", env={"KEYTUI_MASTER_KEY": "short"})
    assert malformed.code == 2 and malformed.err.startswith("keytui: KEYTUI_MASTER_KEY"), malformed
    assert counts() == before


def test_read_only_refuses_changes(kt, counts):
    key_id = kt(*CREATE, "--json").json()["key"]["key_id"]
    before = counts()
    for args in (CREATE, ("keys", "revoke", key_id), ("keys", "rotate", key_id), ("keys", "copy", key_id)):
        refused = kt("--read-only", *args)
        assert refused.code == 2 and "read-only" in refused.err, (args, refused)
    assert kt("keys", "list", "--read-only", "--json").code == 0
    assert counts() == before


def test_mfa_enrol_prints_the_secret_once_and_status_reports_it(kt):
    assert kt("mfa", "status").code == 2
    enrolled = kt("mfa", "enroll", "--json").json()
    assert enrolled["operator"] == "alice"
    assert enrolled["uri"] == pyotp.TOTP(enrolled["secret"]).provisioning_uri(name="alice", issuer_name="keytui")
    again = kt("mfa", "enroll")
    assert again.code == 2 and "already enrolled" in again.err and enrolled["secret"] not in again.out
    assert kt("mfa", "status", "--json").json() == {"operator": "alice", "enrolled": True}
