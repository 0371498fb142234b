"""POST /v1/leaks against the real `keytui serve`: reports signed like GitHub's secret scanning
partner program (ECDSA P-256, keys generated here) revoke the leaked keys and get GitHub's
labels back; unsigned, badly signed and replayed reports are refused and counted."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from keytui.clock import Clock
from keytui.service import KeyFilter, Vault
from tests.gateway.server import start_seeded, start_server
from tests.support import Token

KEY_ID = "kid-current"
UNKNOWN = Token("kt_sbx_" + "A" * 33 + "_ZZZZZZ")


def public_pem(private) -> str:
    return private.public_key().public_bytes(serialization.Encoding.PEM,
                                              serialization.PublicFormat.SubjectPublicKeyInfo).decode()


@pytest.fixture(scope="module")
def signer(tmp_path_factory):
    current, old = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    path = tmp_path_factory.mktemp("keys") / "github-keys.json"
    path.write_text(json.dumps({"public_keys": [
        {"key_identifier": "kid-old", "key": public_pem(old), "is_current": False},
        {"key_identifier": KEY_ID, "key": public_pem(current), "is_current": True}]}))
    return current, str(path)


def signed(private, body: bytes, key_id: str = KEY_ID) -> dict:
    signature = base64.b64encode(private.sign(body, ec.ECDSA(hashes.SHA256()))).decode()
    return {"Github-Public-Key-Identifier": key_id, "Github-Public-Key-Signature": signature,
            "Content-Type": "application/json"}


def report(*tokens: str, url: str = "https://github.com/octo/app/blob/abc123/config.py") -> bytes:
    return json.dumps([{"token": t, "type": "keytui_api_token", "url": url, "source": "content"}
                       for t in tokens]).encode()


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory, signer, module_database):
    server = start_seeded(tmp_path_factory.mktemp("gateway"), "--leak-report-keys", signer[1])
    yield server
    server.stop()


@pytest.fixture
def server(shared_server, on_module_database):
    """The module's server, its database the test's (tests with a `fresh_server` have their own)."""
    return shared_server


def vault_on(server) -> Vault:
    return Vault.open(server.home, operator="alice", clock=Clock())


def verify(server, token) -> str:
    return httpx.post(f"{server.url}/v1/keys/verify", json={"token": token, "environment": "sandbox"}).json()["code"]


def leak_counts(server) -> dict[str, int]:
    text = httpx.get(f"{server.url}/metrics").text
    return {line.split('"')[1]: int(float(line.rsplit(" ", 1)[1])) for line in text.splitlines()
            if line.startswith("keytui_gateway_leak_reports_total{")}


def test_a_signed_report_revokes_the_key_and_answers_githubs_labels(server, signer):
    tokens = server.tokens
    body = report(tokens["sandbox"], UNKNOWN, tokens["revoked"])
    answer = httpx.post(f"{server.url}/v1/leaks", content=body, headers=signed(signer[0], body))
    assert answer.status_code == 200
    assert answer.json() == [
        {"token_hash": hashlib.sha256(t.encode()).hexdigest(), "token_type": "keytui_api_token", "label": label}
        for t, label in ((tokens["sandbox"], "true_positive"), (UNKNOWN, "false_positive"),
                         (tokens["revoked"], "true_positive"))]
    assert not any(t in answer.text for t in tokens.values())
    assert verify(server, tokens["sandbox"]) == "REVOKED"
    vault = vault_on(server)
    try:
        [key] = vault.list_keys(KeyFilter.parse(search="Agents Execution Key"))
        assert key.revoke_reason == "leaked: https://github.com/octo/app/blob/abc123/config.py"
        assert [(a.kind, a.severity) for a in vault.alerts(key_id=key.key_id)] == [("key-leaked", "high")]
        assert {e["operator"] for e in vault.audit_entries(key.key_id)[:2]} == {"leak-report"}
    finally:
        vault.close()
    assert leak_counts(server)["accepted"] >= 1


def test_unsigned_and_badly_signed_reports_are_refused_and_counted(server, signer):
    vault = vault_on(server)
    try:
        victim = vault.create("Victim Key", "agents", ["read"], "sandbox", expires_in_days=30).token
    finally:
        vault.close()
    before = leak_counts(server)
    body = report(victim)
    other = ec.generate_private_key(ec.SECP256R1())
    attempts = {
        "unsigned": {"Content-Type": "application/json"},
        "unknown_key": signed(signer[0], body, key_id="kid-nobody"),
        "forged": signed(other, body),
        "tampered": signed(signer[0], report(victim, url="https://elsewhere")),
        "garbage": {**signed(signer[0], body), "Github-Public-Key-Signature": "not base64!"},
        "old key, wrong signer": signed(signer[0], body, key_id="kid-old"),
    }
    for what, headers in attempts.items():
        refused = httpx.post(f"{server.url}/v1/leaks", content=body, headers=headers)
        assert refused.status_code == 401, what
        assert victim not in refused.text
    assert verify(server, victim) == "VALID"
    after = leak_counts(server)
    assert after["unsigned"] - before["unsigned"] == 1 and after["unknown_key"] - before["unknown_key"] == 1
    assert after["bad_signature"] - before["bad_signature"] == 4 and after["accepted"] == before["accepted"]


def test_a_signed_report_that_is_not_a_report_is_bad_input(server, signer):
    for body in (b"{not json", b'{"token": "x"}', b"[]", json.dumps([{"type": "x"}]).encode()):
        answer = httpx.post(f"{server.url}/v1/leaks", content=body, headers=signed(signer[0], body))
        assert answer.status_code == 400 and "error" in answer.json()


def test_alert_only_policy_leaves_the_key_working(server, signer):
    vault = vault_on(server)
    try:
        vault.set_policy("leak_response", "alert")
        made = vault.create("Alert Only Key", "agents", ["read"], "sandbox", expires_in_days=30)
        body = report(made.token, url="https://gist.github.com/x")
        answer = httpx.post(f"{server.url}/v1/leaks", content=body, headers=signed(signer[0], body))
        assert answer.status_code == 200 and answer.json()[0]["label"] == "true_positive"
        assert verify(server, made.token) == "VALID"
        assert [a.kind for a in vault.alerts(key_id=made.key.key_id)] == ["key-leaked"]
    finally:
        vault.set_policy("leak_response", "revoke")
        vault.close()


def test_a_replay_is_refused_also_after_a_restart(fresh_server, signer):
    server = fresh_server("--leak-report-keys", signer[1])
    body = report(server.tokens["allowlisted"])
    headers = signed(signer[0], body)
    assert httpx.post(f"{server.url}/v1/leaks", content=body, headers=headers).status_code == 200
    again = httpx.post(f"{server.url}/v1/leaks", content=body, headers=headers)
    assert again.status_code == 409 and leak_counts(server)["replayed"] == 1
    assert server.stop() == 0
    restarted = start_server(server.home, "--leak-report-keys", signer[1])
    try:
        assert httpx.post(f"{restarted.url}/v1/leaks", content=body, headers=headers).status_code == 409
        assert leak_counts(restarted)["replayed"] == 1
    finally:
        restarted.stop()


def test_leak_reports_are_off_unless_keys_are_given(fresh_server):
    server = fresh_server()
    assert httpx.post(f"{server.url}/v1/leaks", content=b"[]").status_code == 404


@pytest.mark.parametrize("content", ['{"public_keys": []}', "not json", '{"public_keys": [{"key_identifier": "a", '
                                                                       '"key": "-----BEGIN PUBLIC KEY-----\\nAA==\\n'
                                                                       '-----END PUBLIC KEY-----"}]}'])
def test_a_bad_key_file_stops_serve_with_one_line(tmp_path, content):
    path = tmp_path / "keys.json"
    path.write_text(content)
    proc = subprocess.run([sys.executable, "-m", "keytui", "--home", str(tmp_path / "home"), "serve",
                           "--leak-report-keys", str(path)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and proc.stderr.startswith("keytui: leak-report-keys:")
    assert len(proc.stderr.splitlines()) == 1
