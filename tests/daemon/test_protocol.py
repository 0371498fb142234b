"""The daemon's contract as its own user sees it: every Vault method is reachable remotely with
the same values and the same exceptions, the wire format builds only what it lists, and
malformed or hostile requests get a one-line JSON refusal."""

from __future__ import annotations

import collections
import http.client
import inspect
import io
import json
import signal
import socket
import subprocess
import sys
import time
from datetime import datetime, timezone

import pytest

from keytui.daemon import codec
from keytui.domain import Environment, InputError, NotFoundError, Permission, RoleRefused, RuleError, Scope, Status
from keytui.service import KeyFilter, Vault, roles
from keytui.service.mfa import MfaRequired


class UnixHTTPConnection(http.client.HTTPConnection):
    """A hand-written client: nothing of keytui's between the test and the socket."""

    def __init__(self, path):
        super().__init__("keytui")
        self.path = str(path)

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.path)


def raw_call(path, method: str, body: bytes | str, headers: dict | None = None) -> tuple[int, dict]:
    conn = UnixHTTPConnection(path)
    conn.request("POST", f"/v1/call/{method}", body=body, headers={"Content-Type": "application/json", **(headers or {})})
    answer = conn.getresponse()
    data = json.loads(answer.read())
    conn.close()
    return answer.status, data


def test_every_vault_method_is_decided_for_remote_callers():
    public = {name for name, _ in inspect.getmembers(Vault, callable) if not name.startswith("_")}
    undecided = public - set(roles.REQUIRED) - roles.EMBEDDED_ONLY
    assert not undecided, f"add these to keytui.service.roles.REQUIRED or EMBEDDED_ONLY: {sorted(undecided)}"
    assert not set(roles.REQUIRED) - public


def test_the_remote_vault_has_the_vault_interface():
    from keytui.daemon.client import RemoteVault

    for name in set(roles.REQUIRED) | roles.EMBEDDED_ONLY - {"open"}:
        assert callable(getattr(RemoteVault, name)), name
        if name in roles.REQUIRED:
            assert inspect.signature(getattr(RemoteVault, name)) == inspect.signature(getattr(Vault, name)), name


def test_the_codec_round_trips_the_service_values_and_refuses_others():
    when = datetime(2026, 11, 27, 9, 0, tzinfo=timezone.utc)
    value = {"t": (1, "a"), "s": frozenset({Permission.READ}), Environment.PRODUCTION: [when, None, 1.5, True],
             "f": KeyFilter(Status.ACTIVE, None, Scope.AGENTS, "x", False)}
    wire = json.loads(json.dumps(codec.encode(value)))
    assert codec.decode(wire, codec.ARGUMENT_TYPES) == value
    with pytest.raises(codec.CodecError):
        codec.encode(object())
    with pytest.raises(codec.CodecError):  # a result type is not an argument the daemon builds
        codec.decode({"$": "KeyView", "v": {}}, codec.ARGUMENT_TYPES)
    for forged in ({"$": "Context", "v": {}}, {"$": "enum", "t": "Role", "v": 3}, {"$": "dict", "v": [[[1], 2]]},
                   {"$": "KeyFilter", "v": {"search": ["not", "text"]}}, {"$": "KeyFilter", "v": {"evil": 1}},
                   {"no": "tag"}):
        with pytest.raises((codec.CodecError, InputError)):
            codec.decode(forged, codec.ARGUMENT_TYPES)


def test_remote_calls_return_the_same_views_as_embedded(home, remote):
    issued = remote.create("Remote Key", "agents", ["read"], "sandbox", expires_in_days=30)
    local = Vault.open(home)
    try:
        assert remote.get(issued.key.key_id) == local.get(issued.key.key_id)
        assert remote.list_keys(KeyFilter.parse(search="Remote")) == local.list_keys(KeyFilter.parse(search="Remote"))
        assert remote.overview() == local.overview()
        assert remote.usage("24h") == local.usage("24h")
        assert remote.policy_views() == local.policy_views()
        assert remote.verify_audit().ok
        assert remote.verify(issued.token, "sandbox").valid
        assert remote.events(limit=5) == local.events(limit=5)
    finally:
        local.close()


def test_refusals_arrive_as_the_same_exceptions(remote):
    with pytest.raises(InputError) as bad:
        remote.create("X", "nope", ["read"], "sandbox", expires_in_days=30)
    assert bad.value.field == "scope"
    with pytest.raises(NotFoundError):
        remote.get("key_doesnotexist00000")
    with pytest.raises(MfaRequired):
        remote.create("Exec", "agents", ["execute"], "sandbox", expires_in_days=30)
    key_id = remote.create("Kept", "agents", ["read"], "sandbox", expires_in_days=30).key.key_id
    with pytest.raises(RuleError, match="revoked|restore"):
        remote.restore(key_id)


def test_export_is_written_by_the_client(remote, tmp_path):
    remote.create("Exported Key", "agents", ["read"], "sandbox", expires_in_days=30)
    out = io.StringIO()
    assert remote.export_registry("json", out, destination="memory") == 1
    assert json.loads(out.getvalue())[0]["name"] == "Exported Key"
    assert remote.audit_entries(limit=1)[0]["action"] == "registry.export"


def test_the_client_is_never_told_another_identity(daemon):
    path = daemon[0]
    status, data = raw_call(path, "as_operator", json.dumps({"args": ["mallory"]}))
    assert status == 403 and data["error"]["type"] == "RoleRefused"
    status, data = raw_call(path, "whoami", "{}", headers={"X-Keytui-Operator": "mallory", "X-Remote-User": "x"})
    assert data["result"]["v"][0][1] != "mallory"


@pytest.mark.parametrize("method, body, field", [
    ("get", "not json", "request"),
    ("get", "[]", "request"),
    ("get", json.dumps({"args": [], "kwargs": {"$": "dict", "v": [["nope", 1]]}}), "request"),
    ("get", json.dumps({"args": [{"$": "Context", "v": {}}]}), "request"),
    ("Get", "{}", "method"),
    ("_private", "{}", "method"),
])
def test_malformed_requests_get_one_line_and_change_nothing(daemon, method, body, field):
    status, data = raw_call(daemon[0], method, body)
    assert status == 400 and data["error"]["type"] == "InputError" and data["error"]["field"] == field


def test_an_oversized_body_is_refused(daemon):
    status, data = raw_call(daemon[0], "get", b"{" + b" " * (9 * 1024 * 1024) + b"}")
    assert status == 400 and "MiB" in data["error"]["message"]


def test_a_session_keeps_the_mfa_window_and_belongs_to_its_uid(daemon):
    from keytui.daemon.client import RemoteVault

    console = RemoteVault(str(daemon[0]), mfa_window_seconds=300)
    try:
        assert console.session and not console.mfa_window_open()
        status, data = raw_call(daemon[0], "mfa_window_open", "{}", headers={"X-Keytui-Session": "forged"})
        assert data["error"]["type"] == "SessionExpired"
    finally:
        console.close()


def test_read_only_makes_the_client_a_viewer(daemon):
    from keytui.daemon.client import RemoteVault

    reviewer = RemoteVault(str(daemon[0]), read_only=True)
    try:
        assert reviewer.role == "viewer"
        with pytest.raises(RoleRefused, match="create needs the operator role; .* is a viewer"):
            reviewer.create("X", "agents", ["read"], "sandbox", expires_in_days=30)
        assert reviewer.audit_entries(limit=1)[0]["action"] == "access.refused"
    finally:
        reviewer.close()


def test_a_caller_refused_in_a_loop_fills_no_audit_log_and_every_attempt_is_counted(daemon, home):
    from keytui.daemon.client import RemoteVault
    from keytui.service.roles import AUDITED_REFUSALS

    attempts = AUDITED_REFUSALS + 15
    reviewer = RemoteVault(str(daemon[0]), read_only=True)
    try:
        for _ in range(attempts):
            with pytest.raises(RoleRefused, match="create needs the operator role"):
                reviewer.create("X", "agents", ["read"], "sandbox", expires_in_days=30)
        assert reviewer.list_keys() is not None  # what the role allows still works
    finally:
        reviewer.close()
    daemon[1].send_signal(signal.SIGTERM)  # the daemon audits the last minute's unwritten count as it stops
    assert daemon[1].wait(timeout=30) == 0
    vault = Vault.open(home)
    try:
        entries = vault.audit_entries()
    finally:
        vault.close()
    written = [e for e in entries if e["action"] == "access.refused"]
    per_minute = collections.Counter(e["ts"][:16] for e in written)  # the loop may cross a minute
    assert max(per_minute.values()) <= AUDITED_REFUSALS and len(per_minute) <= 2
    told = sum(e["details"].get("unwritten_before", 0) for e in written)
    told += sum(e["details"]["count"] for e in entries if e["action"] == "access.refused.unwritten")
    assert len(written) + told == attempts


def _keytui(*args, env=None):
    return subprocess.run([sys.executable, "-m", "keytui", *args], capture_output=True, text=True, timeout=60,
                          env=env)


def test_cli_refuses_operator_when_connected_and_says_when_the_daemon_is_away(daemon, tmp_path):
    found = _keytui("--socket", str(daemon[0]), "--operator", "mallory", "keys", "list")
    assert found.returncode == 2 and "--operator is refused" in found.stderr and found.stderr.count("\n") == 1
    away = _keytui("--socket", str(tmp_path / "nothing.sock"), "keys", "list")
    assert away.returncode == 3 and "cannot reach the keytui daemon" in away.stderr
    assert "Traceback" not in away.stderr and away.stderr.count("\n") == 1


def test_a_second_daemon_never_takes_over_a_live_socket(daemon, home):
    second = _keytui("serve", "--socket", str(daemon[0]), "--home", str(home))
    assert second.returncode == 2 and "already answers" in second.stderr
    assert _keytui("--socket", str(daemon[0]), "whoami").returncode == 0


def test_one_process_serves_the_socket_and_the_gateway_and_stops_cleanly(home):
    import httpx

    from tests.daemon.server import running_daemon

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with running_daemon(home, extra=("--port", str(port))) as (sock, proc):
        issued = Vault.open(home).create("Both Key", "agents", ["read"], "sandbox", expires_in_days=30)
        for _ in range(100):
            try:
                answer = httpx.post(f"http://127.0.0.1:{port}/v1/keys/verify",
                                    json={"token": issued.token, "environment": "sandbox"})
                break
            except httpx.TransportError:
                time.sleep(0.05)
        assert answer.json()["valid"] is True
        status, data = raw_call(sock, "count_keys", "{}")
        assert status == 200 and data["result"] == 1
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    assert not sock.exists()


def test_clients_calling_at_once_from_threads_and_processes_all_land(daemon, remote, home):
    from concurrent.futures import ThreadPoolExecutor

    def make(i: int) -> str:
        return remote.create(f"Concurrent {i}", "agents", ["read"], "sandbox", expires_in_days=30).key.key_id

    other = subprocess.Popen([sys.executable, "-m", "keytui", "--socket", str(daemon[0]), "keys", "create", "--name",
                              "From Another Process", "--scope", "agents", "--permission", "read", "--environment",
                              "sandbox", "--expires-in", "30"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                             text=True)
    with ThreadPoolExecutor(8) as pool:
        made = list(pool.map(make, range(40)))
    assert other.wait(timeout=60) == 0, other.stderr.read()
    other.stderr.close()
    assert len(set(made)) == 40 and remote.count_keys() == 41
    assert remote.verify_audit().ok and remote.verify_audit().entries == 41


def test_a_stalled_client_holds_up_nobody(daemon, remote):
    stalled = [socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) for _ in range(8)]
    try:
        for s in stalled:
            s.connect(str(daemon[0]))
            s.sendall(b"POST /v1/call/count_keys HTTP/1.1\r\nHost: k\r\nContent-Length: 100\r\n\r\n{")
        started = time.monotonic()
        assert remote.count_keys() == 0
        assert time.monotonic() - started < 5
    finally:
        for s in stalled:
            s.close()
