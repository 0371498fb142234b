"""The home directory from the command line: private files, the master key from the environment,
a wrong master key refused, read-only mode, MFA enrolment."""

from __future__ import annotations

import base64
import stat

import pyotp
import pytest

KEY_A = base64.b64encode(b"a" * 32).decode()
KEY_B = base64.b64encode(b"b" * 32).decode()
CREATE = ("keys", "create", "--name", "Demo Build Key", "--scope", "demo-builds", "--permission", "read",
          "--environment", "dev", "--no-expiry")


def test_first_run_creates_a_private_home_database_and_master_key(cli, home, tmp_path, database_url):
    fresh = tmp_path / "fresh" / "keytui"
    assert cli("--home", str(fresh), *CREATE).code == 0  # --home wins over $KEYTUI_HOME
    assert list(home.iterdir()) == []
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o700
    assert (fresh / "keytui.db").exists() == (database_url is None)  # on PostgreSQL the database is the server's
    for name in ("master.key",) if database_url else ("keytui.db", "master.key"):
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


WRITING_COMMANDS = {
    "keys create": CREATE,
    "keys rotate": ("keys", "rotate", "{live}"),
    "keys regenerate": ("keys", "regenerate", "{live}"),
    "keys revoke": ("keys", "revoke", "{live}"),
    "keys restore": ("keys", "restore", "{revoked}"),
    "keys edit": ("keys", "edit", "{live}", "--name", "Renamed"),
    "keys edit --clear-ip": ("keys", "edit", "{live}", "--clear-ip"),
    "keys copy": ("keys", "copy", "{live}"),
    "keys export": ("keys", "export"),
    "keys export --output": ("keys", "export", "--output", "{export}"),
    "mfa enroll": ("mfa", "enroll"),
    "policy set": ("policy", "set", "auto_rotation", "off"),
    "policy apply": ("policy", "apply", "{policy}"),
    "watch --once": ("watch", "--once"),
    "watch": ("watch", "--interval", "1"),
    "alerts --ack": ("alerts", "--ack", "{alert}"),
    "demo --force": ("demo", "--force", "--keys", "3", "--events", "10"),
    "serve": ("serve", "--port", "1"),
}


@pytest.mark.parametrize("args", WRITING_COMMANDS.values(), ids=WRITING_COMMANDS.keys())
def test_read_only_refuses_every_writing_command_and_writes_nothing(kt, populated, db_dump, tmp_path, args):
    before, files = db_dump(), sorted(tmp_path.rglob("*"))
    refused = kt("--read-only", *[a.format(**populated) for a in args])
    assert refused.code == 2, refused
    assert len(refused.err.strip().splitlines()) == 1 and refused.out == "", refused
    if args[:2] != ("keys", "restore"):  # restoring is refused anyway: revoked is final
        assert "read-only" in refused.err, refused
    assert db_dump() == before
    assert sorted(tmp_path.rglob("*")) == files


def test_read_only_still_reads(kt, populated):
    for args in (("keys", "list"), ("keys", "show", populated["live"]), ("audit", "list"), ("audit", "verify"),
                 ("alerts",), ("policy", "show"),
                 ("policy", "apply", populated["policy"], "--dry-run")):
        assert kt("--read-only", *args, "--json").code == 0, args


def test_mfa_enrol_prints_the_secret_once_and_status_reports_it(kt):
    assert kt("mfa", "status").code == 2
    enrolled = kt("mfa", "enroll", "--json").json()
    assert enrolled["operator"] == "alice"
    assert enrolled["uri"] == pyotp.TOTP(enrolled["secret"]).provisioning_uri(name="alice", issuer_name="keytui")
    again = kt("mfa", "enroll")
    assert again.code == 2 and "already enrolled" in again.err and enrolled["secret"] not in again.out
    assert kt("mfa", "status", "--json").json() == {"operator": "alice", "enrolled": True}


def test_demo_refuses_a_home_in_real_use_and_leaves_it_as_it_was(cli, db_dump, monkeypatch):
    monkeypatch.delenv("KEYTUI_DATABASE_URL", raising=False)  # the demo is embedded: --demo refuses a server's
    assert cli(*CREATE).code == 0
    before = db_dump()
    refused = cli("--demo")  # the home given by KEYTUI_HOME holds a real key
    assert refused.code == 2 and refused.err.count("\n") == 1 and "holds keys in real use" in refused.err, refused
    assert db_dump() == before
