"""`keytui verify`: each code with its exit status, and the activity event each call leaves."""

from __future__ import annotations

import pytest

from keytui import tokens
from keytui.domain import Environment


@pytest.fixture
def ci_key(vault):
    return vault.create("GitHub Sync Key", "integrations", ["read", "write"], "staging", expires_in_days=90,
                        ip_allowlist=["203.0.113.0/24"])


CASES = {
    "valid": (["--permission", "write", "--scope", "integrations", "--ip", "203.0.113.9"], 0, "VALID"),
    "wrong environment": (["--environment", "production", "--ip", "203.0.113.9"], 1, "WRONG_ENVIRONMENT"),
    "ip not allowed": (["--ip", "198.51.100.1"], 1, "IP_NOT_ALLOWED"),
    "insufficient permission": (["--permission", "execute", "--ip", "203.0.113.9"], 1, "INSUFFICIENT_PERMISSION"),
    "scope mismatch": (["--scope", "agents", "--ip", "203.0.113.9"], 1, "SCOPE_MISMATCH"),
}


@pytest.mark.parametrize("options, exit_code, code", CASES.values(), ids=CASES.keys())
def test_each_code_has_its_exit_status_and_leaves_an_event(kt, raw_sql, ci_key, clock, options, exit_code, code):
    options = options if "--environment" in options else ["--environment", "stg", *options]
    result = kt("verify", ci_key.token, *options, "--module", "ci", "--json")
    assert (result.code, result.json()["code"], result.json()["valid"]) == (exit_code, code, exit_code == 0)
    ip = options[options.index("--ip") + 1]
    action = "execution" if "execute" in options else "access"
    status = "success" if exit_code == 0 else "failed"
    assert raw_sql("SELECT key_id, module, action, status, code, ip FROM activity_event") == [
        (ci_key.key.key_id, "ci", action, status, code, ip)]
    used = int(clock.now().timestamp() * 1000) if exit_code == 0 else None  # last successful use
    assert raw_sql("SELECT last_used_at FROM api_key") == [(used,)]


def test_an_unknown_token_is_not_found_and_recorded_without_a_key(kt, raw_sql, ci_key):
    result = kt("verify", tokens.generate(Environment.STAGING), "--environment", "staging", "--ip", "203.0.113.9")
    assert (result.code, result.out.strip()) == (1, "NOT_FOUND")
    assert raw_sql("SELECT key_id, module, status, code FROM activity_event") == [(None, "unknown", "failed",
                                                                                   "NOT_FOUND")]
    assert raw_sql("SELECT last_used_at FROM api_key") == [(None,)]


def test_expired_and_revoked_keys(kt, vault, ci_key, clock):
    revoked = vault.create("Revoked", "agents", ["read"], "staging", expires_in_days=30)
    vault.revoke(revoked.key.key_id)
    assert kt("verify", revoked.token, "--environment", "staging").out.strip() == f"REVOKED {revoked.key.key_id}"
    clock.advance(days=90)
    result = kt("verify", ci_key.token, "--environment", "staging", "--ip", "203.0.113.9")
    assert (result.code, result.out.strip()) == (1, f"EXPIRED {ci_key.key.key_id}")
