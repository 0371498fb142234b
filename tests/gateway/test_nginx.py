"""The README's nginx `auth_request` snippet, read from the README itself and run for real in front
of `keytui serve`: the protected backend sees the key id and scope, bad tokens get 401/403, a
cooled-off address gets 429, and the client address keytui sees is the one nginx saw.

Only what cannot run in a test is replaced, each exactly once (so a README edit that moves them
fails here rather than testing something else): TLS on 443 becomes a loopback port, and the two
upstream addresses become the test's keytui and backend. Each test connects from its own
loopback address, so one test's failures never cool another off.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest

from keytui.clock import FixedClock
from tests.gateway.server import free_port, start_server
from tests.support import Token, totp_code, wait_until

NGINX = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin")
pytestmark = [pytest.mark.skipif(NGINX is None, reason="nginx is not installed"),
              pytest.mark.usefixtures("on_module_database")]

README = Path(__file__).parents[2] / "README.md"
FAIL_LIMIT = 3

# What the test puts around the README's snippet: a pid and log in the test's folder, and the
# protected service, which echoes what nginx tells it about the caller.
WRAPPER = """
daemon off;
master_process off;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log;
events {{ worker_connections 64; }}
http {{
  access_log off;
  client_body_temp_path {tmp}/body; proxy_temp_path {tmp}/proxy; fastcgi_temp_path {tmp}/fcgi;
  uwsgi_temp_path {tmp}/uwsgi; scgi_temp_path {tmp}/scgi;
  server {{
    listen 127.0.0.1:{backend_port};
    location / {{ return 200 "key=$http_x_keytui_key_id scope=$http_x_keytui_scope\\n"; }}
  }}
{snippet}
}}
"""


def readme_snippet() -> str:
    blocks = re.findall(r"```nginx\n(.*?)```", README.read_text(), re.S)
    assert len(blocks) == 1, "the README should show exactly one nginx snippet"
    return blocks[0]


def replace_once(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"the README's nginx snippet no longer has {old!r} once"
    return text.replace(old, new)


def seed(home: Path) -> dict[str, Token]:
    """Keys for what the snippet asks (production, execute, module agents) and its refusals."""
    from keytui.service import Vault

    now = datetime.now(timezone.utc)
    tokens = {}
    vault = Vault.open(home, operator="alice", clock=FixedClock(now))
    try:
        secret, _ = vault.enroll_mfa()
        tokens["executor"] = vault.create("Agents Execution Key", "agents", ["execute"], "production",
                                          expires_in_days=30, totp=totp_code(secret, now)).token
        tokens["reader"] = vault.create("Agents Reader Key", "agents", ["read"], "production",
                                        expires_in_days=30).token
        tokens["sandbox"] = vault.create("Sandbox Runner Key", "sandbox", ["read"], "sandbox",
                                         expires_in_days=30).token
    finally:
        vault.close()
    past = Vault.open(home, operator="alice", clock=FixedClock(now - timedelta(days=40)))
    try:
        tokens["expired"] = past.create("Demo Build Key", "demo-builds", ["read"], "production",
                                        expires_in_days=30).token
    finally:
        past.close()
    return {name: Token(token) for name, token in tokens.items()}


@pytest.fixture(scope="module")
def stack(tmp_path_factory, module_database):
    tmp = tmp_path_factory.mktemp("nginx")
    home = tmp / "home"
    home.mkdir()
    tokens = seed(home)
    server = start_server(home, "--trusted-proxy", "127.0.0.1/32", "--fail-limit", str(FAIL_LIMIT),
                          "--cooldown", "600")
    server.tokens = tokens
    proxy_port, backend_port = free_port(), free_port()
    snippet = readme_snippet()
    snippet = replace_once(snippet, "server 127.0.0.1:8700;", f"server 127.0.0.1:{server.port};")
    snippet = replace_once(snippet, "listen 443 ssl;", f"listen 127.0.0.1:{proxy_port};")
    snippet = replace_once(snippet, "proxy_pass http://127.0.0.1:8080;", f"proxy_pass http://127.0.0.1:{backend_port};")
    conf = tmp / "nginx.conf"
    conf.write_text(WRAPPER.format(tmp=tmp, backend_port=backend_port, snippet=snippet))
    nginx = subprocess.Popen([NGINX, "-p", str(tmp), "-c", str(conf)], stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{proxy_port}"

    def listening() -> bool:
        if nginx.poll() is not None:
            raise AssertionError(f"nginx exited: {nginx.stderr.read().decode(errors='replace')[-2000:]}")
        try:
            httpx.get(f"{base}/", timeout=1)
        except httpx.TransportError:
            return False
        return True

    wait_until(listening, 20, "nginx to listen")
    yield server, base
    nginx.terminate()
    nginx.wait(10)
    server.stop()
    leaked = any(token in server.logs() for token in tokens.values())
    assert not leaked, "a token appeared in the server's output"


def client_from(address: str) -> httpx.Client:
    return httpx.Client(timeout=10, transport=httpx.HTTPTransport(local_address=address))


def test_nginx_passes_a_valid_key_with_its_id_and_scope_and_the_address_it_saw(stack):
    server, base = stack
    with client_from("127.0.0.2") as http:
        response = http.get(f"{base}/api/run", headers={"Authorization": f"Bearer {server.tokens['executor']}",
                                                        "X-Forwarded-For": "203.0.113.99"})
    assert response.status_code == 200
    assert re.fullmatch(r"key=key_[a-z2-7]{16} scope=agents\n", response.text)
    assert server.events("ip = '127.0.0.2'") == [("VALID", "127.0.0.2", "agents", response.text[4:24])]


@pytest.mark.parametrize("headers, status", [
    ({}, 401),
    ({"Authorization": "Bearer {expired}"}, 401),
    ({"X-API-Key": "{reader}"}, 403),
    ({"Authorization": "Bearer {sandbox}"}, 403),
], ids=["no token", "expired", "read-only key for execute", "another environment"])
def test_nginx_refuses_bad_tokens(stack, headers, status):
    server, base = stack
    with client_from("127.0.0.3") as http:
        response = http.get(f"{base}/api/run", headers={k: v.format(**server.tokens) for k, v in headers.items()})
    assert response.status_code == status


def test_nginx_answers_429_for_a_cooled_off_address(stack):
    server, base = stack
    with client_from("127.0.0.4") as http:
        for _ in range(FAIL_LIMIT):
            guessed = http.get(f"{base}/api/run", headers={"Authorization": "Bearer kt_prod_guess"})
            assert guessed.status_code == 401
        cooled = http.get(f"{base}/api/run", headers={"Authorization": f"Bearer {server.tokens['executor']}"})
    assert cooled.status_code == 429 and cooled.text == "too many bad tokens; retry later\n"
    with client_from("127.0.0.5") as http:  # another address is not cooled off
        assert http.get(f"{base}/api/run",
                        headers={"Authorization": f"Bearer {server.tokens['executor']}"}).status_code == 200
