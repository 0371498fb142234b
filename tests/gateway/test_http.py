"""The gateway's HTTP contract, against one real server for the whole module.

The server trusts 127.0.0.1 as a proxy, so each test picks its own client address with
X-Forwarded-For and the brute-force counters of one test never touch another's; every test
sends the traffic it checks, so each passes alone and in any order. Requests from 127.0.0.2
come from an untrusted peer. The cooling period is long (no check races it); its end, the
failure window and the 503s are shown by servers of their own in test_timing.py.
"""

from __future__ import annotations

import httpx
import pytest

from tests.gateway.server import UNKNOWN_TOKEN, start_seeded, verify
from tests.support import wait_until

FAIL_LIMIT = 4
COOLDOWN_S = 600
pytestmark = pytest.mark.usefixtures("on_module_database")


@pytest.fixture(scope="module")
def server(tmp_path_factory, module_database):
    server = start_seeded(tmp_path_factory.mktemp("gateway"), "--trusted-proxy", "127.0.0.1/32",
                          "--fail-limit", str(FAIL_LIMIT), "--fail-window", "60", "--cooldown", str(COOLDOWN_S),
                          "--access-log")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def http(server):
    with httpx.Client(base_url=server.url, timeout=10) as client:
        yield client


def auth(http, token=None, ip="192.0.2.20", header="Authorization", **params):
    headers = {"X-Forwarded-For": ip}
    if token is not None:
        headers[header] = f"Bearer {token}" if header == "Authorization" else token
    return http.get("/v1/auth", params=params, headers=headers)


CASES = [
    ("sandbox", dict(environment="sandbox", permission="write", scope="agents", module="ci"), "VALID"),
    ("unknown", dict(environment="sandbox"), "NOT_FOUND"),
    ("expired", dict(environment="development"), "EXPIRED"),
    ("revoked", dict(environment="development"), "REVOKED"),
    ("sandbox", dict(environment="production"), "WRONG_ENVIRONMENT"),
    ("allowlisted", dict(environment="sandbox"), "IP_NOT_ALLOWED"),
    ("sandbox", dict(environment="sandbox", permission="execute"), "INSUFFICIENT_PERMISSION"),
    ("sandbox", dict(environment="sandbox", scope="workflows"), "SCOPE_MISMATCH"),
]


def token_for(server, name):
    return server.tokens.get(name, UNKNOWN_TOKEN)


@pytest.mark.parametrize("key, fields, code", CASES, ids=[c[2] for c in CASES])
def test_verify_answers_every_code_and_records_the_event(server, http, key, fields, code):
    ip = f"198.51.100.{CASES.index((key, fields, code)) + 1}"
    before = len(server.events())
    response = verify(http, token_for(server, key), ip=ip, **fields)
    assert response.status_code == 200
    body = response.json()
    assert body["code"] == code
    assert body["valid"] is (code == "VALID")
    assert set(body) == {"valid", "code", "key_id", "scope", "environment", "permissions", "expires_at"}
    if code == "VALID":
        assert body["scope"] == "agents" and body["environment"] == "sandbox"
        assert body["permissions"] == ["read", "write"] and body["expires_at"]
    events = server.events()
    assert len(events) == before + 1
    assert events[-1][:2] == (code, ip)


def test_token_may_come_as_bearer_header(server, http):
    response = http.post("/v1/keys/verify", json={"environment": "sandbox"},
                         headers={"Authorization": f"Bearer {server.tokens['sandbox']}"})
    assert response.json()["code"] == "VALID"


FORWARD_AUTH = [
    ("sandbox", dict(environment="sandbox", permission="read"), 200, "VALID"),
    ("unknown", dict(environment="sandbox"), 401, "NOT_FOUND"),
    ("expired", dict(environment="development"), 401, "EXPIRED"),
    ("revoked", dict(environment="development"), 401, "REVOKED"),
    ("sandbox", dict(environment="staging"), 403, "WRONG_ENVIRONMENT"),
    ("allowlisted", dict(environment="sandbox"), 403, "IP_NOT_ALLOWED"),
    ("sandbox", dict(environment="sandbox", permission="admin"), 403, "INSUFFICIENT_PERMISSION"),
    ("sandbox", dict(environment="sandbox", scope="monitoring"), 403, "SCOPE_MISMATCH"),
]


@pytest.mark.parametrize("key, params, status, code", FORWARD_AUTH, ids=[c[3] for c in FORWARD_AUTH])
def test_forward_auth_statuses(server, http, key, params, status, code):
    ip = f"198.51.100.{FORWARD_AUTH.index((key, params, status, code)) + 101}"
    response = auth(http, token_for(server, key), ip=ip, **params)
    assert response.status_code == status
    assert response.headers["X-Keytui-Code"] == code
    if status == 200:
        assert response.headers["X-Keytui-Key-Id"].startswith("key_")
        assert response.headers["X-Keytui-Scope"] == "agents"
    else:
        assert "X-Keytui-Key-Id" not in response.headers
    if status == 401:
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_forward_auth_without_a_token_is_401_and_recorded_as_a_probe(server, http):
    before = len(server.events())
    response = auth(http, None, ip="192.0.2.21", environment="sandbox", module="workflows")
    assert response.status_code == 401
    assert response.headers["X-Keytui-Code"] == "MISSING_TOKEN"
    assert server.events()[before:] == [("MISSING_TOKEN", "192.0.2.21", "workflows", None)]
    assert auth(http, None, ip="192.0.2.21", environment="sandbox").status_code == 401
    assert server.events()[-1] == ("MISSING_TOKEN", "192.0.2.21", "unknown", None)


def test_forward_auth_reads_x_api_key_and_settings_from_headers(server, http):
    response = http.get("/v1/auth", headers={"X-API-Key": server.tokens["sandbox"], "X-Forwarded-For": "192.0.2.30",
                                             "X-Keytui-Environment": "sandbox", "X-Keytui-Permission": "write",
                                             "X-Keytui-Module": "workflows"})
    assert response.status_code == 200
    assert server.events()[-1] == ("VALID", "192.0.2.30", "workflows", response.headers["X-Keytui-Key-Id"])


def untrusted_client(server):
    return httpx.Client(base_url=server.url, timeout=10, transport=httpx.HTTPTransport(local_address="127.0.0.2"))


def test_forwarded_for_from_an_untrusted_peer_is_ignored(server):
    with untrusted_client(server) as spoofer:
        response = verify(spoofer, server.tokens["allowlisted"], ip="203.0.113.9",
                          headers={"X-Real-IP": "203.0.113.9"})
    assert response.json()["code"] == "IP_NOT_ALLOWED"
    assert server.events()[-1][:2] == ("IP_NOT_ALLOWED", "127.0.0.2")


def test_forwarded_for_from_a_trusted_proxy_is_honoured(server, http):
    # the rightmost address the trusted proxy appended wins; the client-written left part does not
    response = verify(http, server.tokens["allowlisted"], ip="10.9.9.9, 203.0.113.9")
    assert response.json()["code"] == "VALID"
    assert server.events()[-1][:2] == ("VALID", "203.0.113.9")
    spoofed_left = verify(http, server.tokens["allowlisted"], ip="203.0.113.9, 198.51.100.200")
    assert spoofed_left.json()["code"] == "IP_NOT_ALLOWED"


def test_x_real_ip_from_a_trusted_proxy_is_honoured(server, http):
    response = http.post("/v1/keys/verify", json={"token": server.tokens["allowlisted"], "environment": "sandbox"},
                         headers={"X-Real-IP": "203.0.113.44"})
    assert response.json()["code"] == "VALID"
    assert server.events()[-1][:2] == ("VALID", "203.0.113.44")


def test_a_burst_of_bad_tokens_is_cooled_off_with_429(server, http):
    ip = "198.51.100.250"
    limited_before = metric(http.get("/metrics").text, "keytui_gateway_rate_limited_total")
    for _ in range(FAIL_LIMIT):
        assert verify(http, UNKNOWN_TOKEN, ip=ip).json()["code"] == "NOT_FOUND"
    cooled = verify(http, server.tokens["sandbox"], ip=ip)  # even a good token waits out the cooling period
    assert cooled.status_code == 429
    assert COOLDOWN_S - 60 <= int(cooled.headers["Retry-After"]) <= COOLDOWN_S
    assert auth(http, server.tokens["sandbox"], ip=ip, environment="sandbox").status_code == 429
    assert verify(http, server.tokens["sandbox"], ip="198.51.100.251").json()["code"] == "VALID"
    assert server.events("ip = ? AND code = 'RATE_LIMITED'", (ip,))
    assert metric(http.get("/metrics").text, "keytui_gateway_rate_limited_total") - limited_before == 2


def test_three_bad_tokens_do_not_cool_an_address_off(server, http):
    ip = "198.51.100.249"
    for _ in range(FAIL_LIMIT - 1):
        assert verify(http, UNKNOWN_TOKEN, ip=ip).json()["code"] == "NOT_FOUND"
    assert verify(http, server.tokens["sandbox"], ip=ip).json()["code"] == "VALID"


def test_ipv6_addresses_of_one_64_block_are_cooled_off_together(server, http):
    for n in range(FAIL_LIMIT):
        verify(http, UNKNOWN_TOKEN, ip=f"2001:db8:7:7::{n + 1:x}")
    assert verify(http, server.tokens["sandbox"], ip="2001:db8:7:7::abcd").status_code == 429
    assert verify(http, server.tokens["sandbox"], ip="2001:db8:7:8::1").json()["code"] == "VALID"


def test_wrong_environment_and_scope_do_not_count_as_brute_force(server, http):
    ip = "198.51.100.240"
    for _ in range(FAIL_LIMIT + 2):
        assert verify(http, server.tokens["sandbox"], environment="production", ip=ip).status_code == 200


BAD_REQUESTS = [
    ("invalid JSON", b"{not json", "body"),
    ("not an object", b'["kt_x"]', "body"),
    ("missing token", b'{"environment": "sandbox"}', "token"),
    ("missing environment", b'{"token": "kt_sbx_x"}', "environment"),
    ("unknown environment", b'{"token": "kt_sbx_x", "environment": "moon"}', "environment"),
    ("unknown permission", b'{"token": "kt_sbx_x", "environment": "dev", "permission": "root"}', "permission"),
    ("unknown field", b'{"token": "kt_sbx_x", "environment": "dev", "permision": "read"}', "permision"),
    ("wrong type", b'{"token": 12, "environment": "dev"}', "token"),
    ("oversized body", b'{"token": "' + b"a" * 17000 + b'", "environment": "dev"}', "body"),
    ("nested too deeply", b"[" * 16000 + b"]" * 16000, "body"),
]


@pytest.mark.parametrize("body, field", [c[1:] for c in BAD_REQUESTS], ids=[c[0] for c in BAD_REQUESTS])
def test_bad_requests_get_400_naming_the_field(server, http, body, field):
    before = len(server.events())
    response = http.post("/v1/keys/verify", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    error = response.json()
    assert error["field"] == field and error["error"].startswith(f"{field}:")
    assert len(server.events()) == before


def test_oversized_chunked_body_is_refused(server, http):
    def chunks():
        for _ in range(20):
            yield b" " * 1024

    response = http.post("/v1/keys/verify", content=chunks())
    assert response.status_code == 400 and response.json()["field"] == "body"


def test_forward_auth_bad_requests(server, http):
    token = server.tokens["sandbox"]
    assert auth(http, token).json()["field"] == "environment"
    assert auth(http, token, environment="moon").status_code == 400
    in_url = http.get("/v1/auth", params={"environment": "sandbox", "token": token})
    assert in_url.status_code == 400 and in_url.json()["field"] == "token"
    echoed = token in in_url.text
    assert not echoed, "the token was repeated in the error"


@pytest.mark.parametrize("query", ["token", "api_key"])
def test_a_token_in_the_url_of_verify_is_refused_and_not_repeated(server, http, query):
    token = server.tokens["sandbox"]
    before = len(server.events())
    response = http.post("/v1/keys/verify", params={query: token}, json={"token": token, "environment": "sandbox"},
                         headers={"X-Forwarded-For": "192.0.2.40"})
    assert response.status_code == 400 and response.json()["field"] == "token"
    echoed = token in response.text
    assert not echoed, "the token was repeated in the error"
    assert len(server.events()) == before


def test_errors_never_repeat_a_token(server, http):
    token = server.tokens["sandbox"]
    for text in (token, token.upper(), "KT_" + token[3:]):  # a token typed in capitals is still a token
        for body in ({"token": "x", "environment": text}, {"token": "x", "environment": "dev", "module": text},
                     {"token": "x", "environment": "dev", text: 1}):
            response = http.post("/v1/keys/verify", json=body)
            assert response.status_code == 400
            echoed = text[7:20].lower() in response.text.lower()
            assert not echoed, "the token was repeated in the error"


@pytest.mark.parametrize("hop, stored", [("203.0.113.9:51234", "203.0.113.9"),
                                         ("[2001:db8::9]:443", "2001:db8::9"),
                                         ("[2001:db8::9]", "2001:db8::9")])
def test_forwarded_addresses_with_a_port_are_read(server, http, hop, stored):
    verify(http, UNKNOWN_TOKEN, ip=hop)
    assert server.events()[-1][:2] == ("NOT_FOUND", stored)


@pytest.mark.parametrize("hop", ["2001:db8::9%\x1b]52;c;aGk=\x07", "fe80::1%eth0", "203.0.113.9 (proxy)", "<b>x</b>"])
def test_a_forwarded_zone_id_or_text_is_never_stored_as_an_address(server, hop):
    """The walk stops at the last trusted hop (the proxy itself), never at the text."""
    import json
    import socket

    body = json.dumps({"token": server.tokens["sandbox"], "environment": "production"}).encode()
    request = (b"POST /v1/keys/verify HTTP/1.1\r\nHost: keytui\r\nContent-Type: application/json\r\n"
               b"X-Forwarded-For: " + hop.encode() + b"\r\nContent-Length: " + str(len(body)).encode()
               + b"\r\nConnection: close\r\n\r\n" + body)
    recorded = len(server.events())
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(4096):
            answer += chunk
    if any(ord(c) < 32 for c in hop):  # httptools (uvicorn[standard]) refuses control bytes in a header
        assert answer.startswith(b"HTTP/1.1 400") and len(server.events()) == recorded  # nothing stored
        return
    assert answer.startswith(b"HTTP/1.1 200")
    assert server.events()[-1][:2] == ("WRONG_ENVIRONMENT", "127.0.0.1")  # does not count toward cooling


def test_unknown_routes_and_methods_answer_json(http):
    missing = http.get("/v2/nothing")
    assert missing.status_code == 404 and missing.json()["error"]
    wrong_method = http.get("/v1/keys/verify")
    assert wrong_method.status_code == 405 and wrong_method.json()["error"]


def metric(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    raise AssertionError(f"{name} not in /metrics")


def test_healthz_and_metrics_count_verifications(server, http):
    assert http.get("/healthz").json()["status"] == "ok"
    before = http.get("/metrics").text
    verify(http, server.tokens["sandbox"], ip="192.0.2.77")
    verify(http, server.tokens["sandbox"], environment="production", ip="192.0.2.77")
    after = http.get("/metrics")
    assert after.headers["content-type"].startswith("text/plain")
    for name, delta in (('keytui_gateway_verifications_total{code="VALID"}', 1),
                        ('keytui_gateway_verifications_total{code="WRONG_ENVIRONMENT"}', 1),
                        ("keytui_gateway_verification_duration_seconds_count", 2),
                        ("keytui_gateway_batch_size_count", 2)):
        assert metric(after.text, name) - metric(before, name) == delta, name
    assert metric(after.text, 'keytui_gateway_verification_duration_seconds_bucket{le="+Inf"}') == \
        metric(after.text, "keytui_gateway_verification_duration_seconds_count")


def test_server_output_holds_no_token_but_an_access_line(server, http):
    verify(http, server.tokens["sandbox"], ip="192.0.2.90")
    verify(http, UNKNOWN_TOKEN, ip="192.0.2.90")
    auth(http, server.tokens["sandbox"], ip="192.0.2.90", environment="sandbox")
    http.get("/v1/auth", params={"environment": "sandbox", "token": server.tokens["sandbox"]})
    wait_until(lambda: '192.0.2.90 "POST /v1/keys/verify" 200 VALID' in server.logs(), 10, "the access line")
    logs = server.logs()
    assert '192.0.2.90 "POST /v1/keys/verify" 200 NOT_FOUND' in logs
    assert '192.0.2.90 "GET /v1/auth" 200 VALID' in logs
    leaked = any(token in logs for token in [*server.tokens.values(), UNKNOWN_TOKEN])
    assert not leaked, "a token appeared in the server's output"
    assert "Traceback" not in logs


def test_ping_answers_without_the_database_and_post_checks_its_body(server, http):
    before = len(server.events())
    assert http.get("/v1/ping").json() == {"pong": True}
    assert http.post("/v1/ping", json={"token": "x", "environment": "sandbox"}).json() == {"pong": True}
    bad = http.post("/v1/ping", content=b"{not json", headers={"Content-Type": "application/json"})
    assert bad.status_code == 400 and bad.json()["field"] == "body"
    assert len(server.events()) == before
