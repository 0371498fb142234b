"""A verification-only gateway host: `keytui keyring export --verify-only FILE` on the home's
host, `keytui serve --keyring FILE` on a host with no master key. It verifies and records each
verification; copying a token and every change are refused; nothing in the file decrypts a token."""

from __future__ import annotations

import base64
import json
import os
import stat

import httpx
import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from tests.gateway.server import start_server
from tests.pg import database_rows

REFUSED = "verify-only keyring"


@pytest.fixture
def gateway_host(vault, home, tmp_path, cli, monkeypatch):
    """(keyring file, the gateway host's home: no master key, the same database)."""
    keyring = tmp_path / "verify.keyring"
    done = cli("keyring", "export", "--verify-only", str(keyring), "--json")
    assert done.code == 0, done
    other = tmp_path / "gateway-home"
    other.mkdir(mode=0o700)
    if not os.environ.get("KEYTUI_DATABASE_URL"):
        monkeypatch.setenv("KEYTUI_DATABASE_URL", f"sqlite:///{home / 'keytui.db'}")
    return keyring, other


def test_the_export_is_a_private_new_file_without_the_master_key_and_is_audited(vault, home, cli, gateway_host):
    keyring, _ = gateway_host
    assert stat.S_IMODE(keyring.stat().st_mode) == 0o600
    master = (home / "master.key").read_text().strip()
    text = keyring.read_text()
    assert master not in text and base64.b64decode(master).hex() not in text
    assert [e["details"]["kind"] for e in vault.audit_entries() if e["action"] == "keyring.export"] == ["verify-only"]
    again = cli("keyring", "export", "--verify-only", str(keyring))
    assert again.code == 2 and "exists already" in again.err and keyring.read_text() == text


def test_a_verify_only_gateway_verifies_and_records(vault, home, gateway_host):
    keyring, other = gateway_host
    issued = vault.create("Gateway Key", "agents", ["read"], "sandbox", expires_in_days=30)
    server = start_server(other, "--keyring", str(keyring))
    try:
        for _ in range(3):
            answer = httpx.post(f"{server.url}/v1/keys/verify", json={"token": issued.token, "environment": "sandbox"})
            assert answer.status_code == 200 and answer.json()["valid"]
        wrong = httpx.post(f"{server.url}/v1/keys/verify", json={"token": issued.token, "environment": "production"})
        assert wrong.status_code == 200 and not wrong.json()["valid"]
        assert server.stop() == 0
    finally:
        if server.proc.poll() is None:
            server.proc.kill()
    codes = database_rows(home, "SELECT code FROM activity_event WHERE key_id = ? ORDER BY id", (issued.key.key_id,))
    assert codes == [("VALID",)] * 3 + [("WRONG_ENVIRONMENT",)]
    assert not (other / "master.key").exists()


def test_copy_and_every_change_are_refused_on_a_verify_only_host(vault, gateway_host, cli, raw_sql):
    keyring, other = gateway_host
    key_id = vault.create("Kept Key", "agents", ["read"], "sandbox", expires_in_days=30).key.key_id
    before = raw_sql("SELECT count(*) FROM audit_entry")
    env = {"KEYTUI_HOME": str(other), "KEYTUI_KEYRING": str(keyring)}
    for args in (["keys", "copy", key_id], ["keys", "revoke", key_id], ["keys", "rotate", key_id],
                 ["keys", "create", "--name", "New", "--scope", "agents", "--permission", "read",
                  "--environment", "sandbox", "--expires-in", "30"], ["policy", "set", "expiry_alert_days", "3"],
                 ["watch", "--once"]):
        refused = cli(*args, env=env)
        assert refused.code == 2 and REFUSED in refused.err, args
        assert "kt_" not in refused.out + refused.err
    assert [k["key_id"] for k in json.loads(cli("keys", "list", "--json", env=env).out)] == [key_id]
    assert raw_sql("SELECT count(*) FROM audit_entry") == before
    assert vault.get(key_id).stored_status.value == "active"


def test_nothing_in_the_file_decrypts_a_stored_token(vault, gateway_host, raw_sql):
    keyring, _ = gateway_host
    issued = vault.create("Secret Key", "agents", ["read"], "sandbox", expires_in_days=30)
    [(blob,)] = raw_sql("SELECT ciphertext FROM key_secret")
    blob = bytes(blob)
    material = [base64.b64decode(v) for v in json.loads(keyring.read_text()).values()
                if isinstance(v, str) and len(v) == 44]
    material += [bytes.fromhex(json.loads(keyring.read_text())["check"])]
    assert len(material) == 3
    for secret in material:  # as the key itself, and as the master key it would have to be
        token_key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"keytui token encryption v1").derive(secret)
        for key in (secret, token_key):
            with pytest.raises(InvalidTag):
                AESGCM(key).decrypt(blob[:12], blob[12:], issued.key.key_id.encode())
    from keytui import keyfile  # and keytui's own loading of it refuses to decrypt
    from keytui.domain import RuleError

    with pytest.raises(RuleError, match=REFUSED):
        keyfile.read(keyring).decrypt(blob, issued.key.key_id)
