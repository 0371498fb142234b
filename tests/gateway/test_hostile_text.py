"""Escape sequences from HTTP callers never reach the activity log as an address, nor the
gateway's log as control bytes."""

from __future__ import annotations

import re

import httpx

from tests.pg import run_statements

CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")
ZONE_OSC52 = "2001:db8::9%\x1b]52;c;ZWNobyBwd25lZA==\x07\x1b[2J"


def test_a_forwarded_zone_id_with_escapes_is_not_stored_or_logged_raw(fresh_server):
    server = fresh_server("--trusted-proxy", "127.0.0.1/32", "--access-log", "--fail-limit", "2")
    with httpx.Client(base_url=server.url, timeout=10) as http:
        for _ in range(4):
            http.post("/v1/keys/verify", json={"token": "kt_sbx_x", "environment": "sandbox"},
                      headers={"X-Forwarded-For": ZONE_OSC52.encode("latin-1")})
            http.post("/v1/keys/verify", json={"token": "kt_sbx_x", "environment": "sandbox",
                                               "module": "ci\x1b[2J"})
    assert server.stop() == 0
    assert not any("\x1b" in (ip or "") or "%" in (ip or "") for _, ip, _, _ in server.events())
    assert not CONTROL.search(server.logs().replace("\n", ""))


def test_a_revoked_key_revived_in_the_database_is_refused_over_http(fresh_server):
    server = fresh_server()
    run_statements(server.home, [
        "UPDATE api_key SET status = 'active', revoked_at = NULL WHERE name = 'GitHub Sync Key'",
        "UPDATE key_secret SET ended_by = NULL, valid_until = NULL"])
    with httpx.Client(base_url=server.url, timeout=10) as http:
        answer = http.post("/v1/keys/verify", json={"token": server.tokens["revoked"], "environment": "development"})
        assert answer.status_code == 200 and answer.json()["code"] == "NOT_FOUND" and answer.json()["key_id"] is None
        auth = http.get("/v1/auth", params={"environment": "development"},
                        headers={"Authorization": f"Bearer {server.tokens['revoked']}"})
        assert auth.status_code == 401
        fine = http.post("/v1/keys/verify", json={"token": server.tokens["sandbox"], "environment": "sandbox"})
        assert fine.json()["code"] == "VALID"
    assert server.stop() == 0
    assert ("TAMPERED",) in {(code,) for code, _, _, _ in server.events()}
