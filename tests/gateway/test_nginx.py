"""The README's nginx `auth_request` snippet, run for real in front of `keytui serve` when nginx
is installed: the protected backend sees the key id and scope, bad tokens get 401/403, a
cooled-off address gets 429, and the client address keytui sees is the one nginx saw."""

from __future__ import annotations

import shutil
import subprocess
import time

import httpx
import pytest

from tests.gateway.server import free_port, start_seeded

NGINX = shutil.which("nginx") or (shutil.which("nginx", path="/usr/sbin"))
pytestmark = pytest.mark.skipif(NGINX is None, reason="nginx is not installed")

# The part between the markers is what the README shows.
CONFIG = """
daemon off;
master_process off;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log;
events {{ worker_connections 64; }}
http {{
  access_log off;
  client_body_temp_path {tmp}/body; proxy_temp_path {tmp}/proxy; fastcgi_temp_path {tmp}/fcgi;
  uwsgi_temp_path {tmp}/uwsgi; scgi_temp_path {tmp}/scgi;

  server {{  # the protected service: echoes what nginx tells it about the caller
    listen 127.0.0.1:{backend_port};
    location / {{ return 200 "key=$http_x_keytui_key_id scope=$http_x_keytui_scope\\n"; }}
  }}

  # --- README snippet begins
  upstream keytui {{ server 127.0.0.1:{keytui_port}; keepalive 8; }}

  server {{
    listen 127.0.0.1:{proxy_port};

    location /api/ {{
      auth_request /_keytui_auth;
      auth_request_set $keytui_key_id $upstream_http_x_keytui_key_id;
      auth_request_set $keytui_scope $upstream_http_x_keytui_scope;
      auth_request_set $keytui_status $upstream_status;
      error_page 500 = @keytui_refused;          # keytui's 429 arrives as 500 from auth_request
      proxy_set_header X-Keytui-Key-Id $keytui_key_id;
      proxy_set_header X-Keytui-Scope $keytui_scope;
      proxy_pass http://127.0.0.1:{backend_port};
    }}

    location = /_keytui_auth {{
      internal;
      proxy_pass http://keytui/v1/auth?environment=sandbox&permission=read&module=ci;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header X-Forwarded-For $remote_addr;  # replace, never append what the client sent
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }}

    location @keytui_refused {{
      if ($keytui_status = 429) {{ return 429 "too many bad tokens; retry later\\n"; }}
      return 500;
    }}
  }}
  # --- README snippet ends
}}
"""


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("nginx")
    server = start_seeded(tmp, "--trusted-proxy", "127.0.0.1/32", "--fail-limit", "3", "--cooldown", "30")
    proxy_port, backend_port = free_port(), free_port()
    conf = tmp / "nginx.conf"
    conf.write_text(CONFIG.format(tmp=tmp, keytui_port=server.port, proxy_port=proxy_port, backend_port=backend_port))
    nginx = subprocess.Popen([NGINX, "-p", str(tmp), "-c", str(conf)], stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{proxy_port}"
    for _ in range(100):
        try:
            httpx.get(base, timeout=1)
            break
        except httpx.TransportError:
            time.sleep(0.05)
    yield server, base
    nginx.terminate()
    nginx.wait(10)
    server.stop()


def test_nginx_passes_a_valid_key_with_its_id_and_scope(stack):
    server, base = stack
    response = httpx.get(f"{base}/api/run", headers={"Authorization": f"Bearer {server.tokens['sandbox']}",
                                                     "X-Forwarded-For": "203.0.113.99"})
    assert response.status_code == 200
    assert response.text.startswith("key=key_") and response.text.strip().endswith("scope=agents")
    assert server.events()[-1][:3] == ("VALID", "127.0.0.1", "ci")  # nginx's view of the client, not the header


def test_nginx_refuses_bad_tokens_then_cools_the_address_off(stack):
    server, base = stack
    assert httpx.get(f"{base}/api/run").status_code == 401
    expired = httpx.get(f"{base}/api/run", headers={"Authorization": f"Bearer {server.tokens['expired']}"})
    assert expired.status_code == 401
    assert httpx.get(f"{base}/api/run", headers={"X-API-Key": server.tokens["allowlisted"]}).status_code == 403
    for _ in range(3):
        httpx.get(f"{base}/api/run", headers={"Authorization": "Bearer kt_sbx_guess"})
    cooled = httpx.get(f"{base}/api/run", headers={"Authorization": f"Bearer {server.tokens['sandbox']}"})
    assert cooled.status_code == 429
