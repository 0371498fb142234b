"""What a security-minded operator expects of the store: private files, no plaintext token on
disk, the master key outside the database, read-only mode, and no change without its audit entry."""

from __future__ import annotations

import base64
import stat
from pathlib import Path

import pytest

from keytui.service import audit
from keytui.config import ConfigError, load_master_key, load_settings
from keytui.domain import ReadOnlyError, RuleError, VerifyCode
from keytui.store.models import KeySecret
from keytui.tokens import Keyring
from keytui.service import Vault


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.sqlite_only
def test_database_and_master_key_files_are_private(vault, make_key, home):
    make_key()
    assert mode(home / "keytui.db") == 0o600
    assert mode(home / "master.key") == 0o600
    assert mode(home / "keytui.db-wal") == 0o600


@pytest.mark.sqlite_only
def test_no_token_or_its_random_part_is_ever_written_to_disk(vault, make_key, store_bytes, mfa_code):
    issued = make_key(permissions=("execute",), totp=mfa_code())
    rotated = vault.rotate(issued.key.key_id)
    copied = vault.copy_token(issued.key.key_id)
    for token in (issued.token, rotated.token):
        vault.verify(token, "sandbox", "execute", module="ci")
    regenerated = vault.regenerate(issued.key.key_id)
    in_wal = store_bytes()
    vault.ctx.db.execute_sql("PRAGMA wal_checkpoint(PASSIVE)")
    on_disk = in_wal + store_bytes()
    assert copied == rotated.token
    issued_tokens = (issued.token, rotated.token, regenerated.token)
    leaks = sum(token.split("_")[2].encode() in on_disk for token in issued_tokens)  # the random part
    assert leaks == 0, "token plaintext on disk"
    assert all(vault.ctx.keyring.digest(token).encode() in on_disk for token in issued_tokens)  # what is kept instead


def test_processes_starting_together_on_a_fresh_home_share_one_master_key(home, monkeypatch):
    settings = load_settings(home)
    first = load_master_key(settings)
    monkeypatch.setattr(Path, "exists", lambda self: False)  # as if it looked before the other process wrote
    assert load_master_key(settings) == first
    assert sorted(p.name for p in home.iterdir()) == ["master.key"]


def test_the_master_key_can_come_from_the_environment(home, clock, monkeypatch):
    monkeypatch.setenv("KEYTUI_MASTER_KEY", base64.b64encode(b"k" * 32).decode())
    vault = Vault.open(home, operator="alice", clock=clock)
    issued = vault.create("Env key", "agents", ["read"], "sandbox", expires_in_days=30)
    assert not (home / "master.key").exists()
    assert vault.copy_token(issued.key.key_id) == issued.token
    vault.close()


@pytest.mark.parametrize("bad", ["not base64!", base64.b64encode(b"short").decode()])
def test_a_malformed_master_key_is_a_config_error(home, monkeypatch, bad):
    monkeypatch.setenv("KEYTUI_MASTER_KEY", bad)
    with pytest.raises(ConfigError, match="KEYTUI_MASTER_KEY"):
        Vault.open(home, operator="alice")


def test_a_wrong_master_key_decrypts_nothing_and_is_refused_at_open(vault, store, make_key, home, clock, monkeypatch):
    issued = make_key()
    stored = KeySecret.get().ciphertext
    wrong = Keyring(b"w" * 32)
    with pytest.raises(RuleError, match="master key"):
        wrong.decrypt(stored, issued.key.key_id)
    assert wrong.digest(issued.token) != vault.ctx.keyring.digest(issued.token)
    monkeypatch.setenv("KEYTUI_MASTER_KEY", base64.b64encode(b"w" * 32).decode())
    with pytest.raises(ConfigError, match="different master key"):
        Vault.open(home, operator="alice", clock=clock)


def test_a_read_only_vault_refuses_every_change(vault, make_key, home, clock):
    key_id = make_key().key.key_id
    reader = Vault.open(home, operator="bob", clock=clock, read_only=True)
    for change in (lambda: reader.create("New", "agents", ["read"], "sandbox", expires_in_days=30),
                   lambda: reader.rotate(key_id), lambda: reader.regenerate(key_id), lambda: reader.revoke(key_id),
                   lambda: reader.update(key_id, name="Renamed"), lambda: reader.copy_token(key_id),
                   lambda: reader.enroll_mfa(), lambda: reader.set_policy("auto_rotation", "off"),
                   lambda: reader.expire_due()):
        with pytest.raises(ReadOnlyError):
            change()
    assert [k.name for k in reader.list_keys()] == ["Agents Execution Key"]
    assert len(reader.audit_entries()) == 1


def test_every_state_change_is_audited_with_operator_time_and_key(vault, make_key, mfa_code, clock):
    key_id = make_key(permissions=("read",)).key.key_id
    vault.rotate(key_id, grace_hours=0)
    vault.regenerate(key_id)
    vault.update(key_id, permissions=["read", "execute"], totp=mfa_code())
    vault.update(key_id, owner="platform-team")
    vault.copy_token(key_id)
    vault.set_policy("auto_rotation", "off")
    vault.revoke(key_id, reason="done")
    entries = vault.audit_entries()
    assert [e["action"] for e in reversed(entries)] == [
        "mfa.enroll", "key.create", "key.rotate", "key.regenerate", "key.permissions", "key.update", "key.copy",
        "policy.set", "key.revoke"]
    assert {e["operator"] for e in entries} == {"alice"}
    assert entries[0]["key_id"] == key_id and entries[0]["ts"] == clock.now().isoformat()
    assert vault.verify_audit().ok


def test_a_change_whose_audit_entry_cannot_be_written_does_not_happen(vault, make_key, monkeypatch):
    issued = make_key()

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(audit, "append", broken)
    monkeypatch.setattr(audit, "append_many", broken, raising=False)
    with pytest.raises(OSError):
        vault.create("Second", "agents", ["read"], "sandbox", expires_in_days=30)
    with pytest.raises(OSError):
        vault.revoke(issued.key.key_id)
    with pytest.raises(OSError):
        vault.rotate(issued.key.key_id, grace_hours=0)
    assert [k.name for k in vault.list_keys()] == ["Agents Execution Key"]
    assert vault.verify(issued.token, "sandbox").code is VerifyCode.VALID


def test_exceptions_never_carry_a_token(vault, make_key):
    issued = make_key()
    vault.revoke(issued.key.key_id)
    with pytest.raises(RuleError) as err:
        vault.copy_token(issued.key.key_id)
    assert issued.token not in str(err.value) and issued.token not in repr(issued)
