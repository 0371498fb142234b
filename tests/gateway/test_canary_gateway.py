"""A canary token over HTTP: answered exactly like an unknown token on both endpoints, recorded
as CANARY with the caller's address and module, and the caller is cooled off at once (unless
the canary_cooling policy is off)."""

from __future__ import annotations

import httpx
import pytest

from keytui.clock import Clock
from keytui.service import Vault
from tests.gateway.server import start_seeded
from tests.support import Token

UNKNOWN = Token("kt_sbx_" + "A" * 33 + "_ZZZZZZ")
pytestmark = pytest.mark.usefixtures("on_module_database")


@pytest.fixture(scope="module")
def server(tmp_path_factory, module_database):
    server = start_seeded(tmp_path_factory.mktemp("gateway"), "--trusted-proxy", "127.0.0.1/32",
                          "--fail-limit", "50", "--cooldown", "600")
    vault = Vault.open(server.home, operator="alice", clock=Clock())
    try:
        server.tokens["canary"] = Token(vault.create("Deploy Bot Key", "agents", ["read", "write"], "sandbox",
                                                     expires_in_days=30, canary=True).token)
    finally:
        vault.close()
    yield server
    server.stop()


def verify(server, token, ip, **fields):
    return httpx.post(f"{server.url}/v1/keys/verify", json={"token": token, "environment": "sandbox", **fields},
                      headers={"X-Forwarded-For": ip})


def auth(server, token, ip):
    return httpx.get(f"{server.url}/v1/auth", params={"environment": "sandbox"},
                     headers={"Authorization": f"Bearer {token}", "X-Forwarded-For": ip})


def test_a_canary_answers_like_an_unknown_token_and_cools_its_caller(server):
    unknown = verify(server, UNKNOWN, "198.51.100.1", module="ci")
    bait = verify(server, server.tokens["canary"], "198.51.100.2", module="ci")
    assert (bait.status_code, bait.json()) == (unknown.status_code, unknown.json())
    assert bait.json()["code"] == "NOT_FOUND" and bait.json()["key_id"] is None
    assert set(bait.headers) == set(unknown.headers)
    # at once, the caller that presented the canary gets 429, even with a valid token
    refused = verify(server, server.tokens["sandbox"], "198.51.100.2")
    assert refused.status_code == 429
    assert verify(server, UNKNOWN, "198.51.100.1").status_code == 200  # one unknown token cools nobody
    codes = server.events("ip = ?", ("198.51.100.2",))
    assert [c[0] for c in codes] == ["CANARY", "RATE_LIMITED"] and codes[0][2] == "ci"


def test_the_proxy_endpoint_answers_a_canary_like_an_unknown_token(server):
    unknown, bait = auth(server, UNKNOWN, "198.51.100.3"), auth(server, server.tokens["canary"], "198.51.100.4")
    assert (bait.status_code, bait.json()) == (unknown.status_code, unknown.json()) == (
        401, {"valid": False, "code": "NOT_FOUND", "key_id": None})
    assert {k: v for k, v in bait.headers.items() if k.startswith("x-keytui") or k == "www-authenticate"} == \
        {k: v for k, v in unknown.headers.items() if k.startswith("x-keytui") or k == "www-authenticate"}


def test_with_canary_cooling_off_the_caller_is_only_recorded(server):
    vault = Vault.open(server.home, operator="alice", clock=Clock())
    try:
        vault.set_policy("canary_cooling", "off")
        assert verify(server, server.tokens["canary"], "198.51.100.5").json()["code"] == "NOT_FOUND"
        assert verify(server, server.tokens["sandbox"], "198.51.100.5").json()["code"] == "VALID"
    finally:
        vault.set_policy("canary_cooling", "on")
        vault.close()
