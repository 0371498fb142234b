"""Escape sequences from HTTP callers never reach the activity log as an address, nor the
gateway's log as control bytes."""

from __future__ import annotations

import re

import httpx

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
