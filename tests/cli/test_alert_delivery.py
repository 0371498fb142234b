"""Alert delivery through channels: a signed webhook to a real local HTTP receiver (down for a
while, keytui restarted in between, killed mid-send), syslog to a local socket and over UDP,
channel secrets kept encrypted, and the org policy's required channels."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

SECRET = b"0123456789abcdef0123456789abcdef-receiver"
SYSLOG_RE = re.compile(rb"^<(\d+)>1 (\S+) (\S+) keytui (\d+) (\S+) \[keytui@32473 ([^\]]*)\] \xef\xbb\xbf(.*)$", re.S)


class Receiver:
    """A webhook receiver on a real socket: checks each signature like a receiver should."""

    def __init__(self, port: int = 0, *, hold: bool = False):
        self.requests: list[dict] = []
        self.arrived = threading.Event()
        self.release = threading.Event()
        if not hold:
            self.release.set()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.requests.append({"headers": dict(self.headers), "body": body, "valid": outer.valid(
                    self.headers.get("X-Keytui-Signature", ""), body)})
                outer.arrived.set()
                outer.release.wait(30)
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @staticmethod
    def valid(header: str, body: bytes, tolerance_s: int = 300) -> bool:
        fields = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
        if "t" not in fields or "v1" not in fields or abs(time.time() - int(fields["t"])) > tolerance_s:
            return False
        expected = hmac.new(SECRET, fields["t"].encode() + b"." + body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, fields["v1"])

    def payloads(self) -> list[dict]:
        return [json.loads(r["body"]) for r in self.requests]

    def close(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def secret_file(tmp_path):
    path = tmp_path / "webhook.secret"
    path.write_bytes(SECRET + b"\n")
    return str(path)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def leak_keys(kt, tmp_path, count: int) -> list[str]:
    """`count` keys revoked as leaked by a scan: one high key-leaked alert each."""
    folder = tmp_path / "leaked"
    folder.mkdir(exist_ok=True)
    ids = []
    for n in range(count):
        made = kt("keys", "create", "--name", f"Leaky {n}", "--scope", "agents", "--permission", "read",
                  "--environment", "sandbox", "--expires-in", "30", "--json").json()
        (folder / f"f{n}.txt").write_text(made["token"])
        ids.append(made["key"]["key_id"])
    assert kt("scan", str(folder), "--revoke").code == 1
    return ids


def deliveries(kt) -> dict[int, list[dict]]:
    return {a["id"]: a["deliveries"] for a in kt("alerts", "--all", "--json").json()}


def test_test_alert_reaches_a_webhook_with_a_valid_signature(kt, secret_file):
    receiver = Receiver()
    try:
        added = kt("alerts", "channel", "add", "oncall", "webhook", f"http://127.0.0.1:{receiver.port}/hook",
                   "--secret-file", secret_file)
        assert added.code == 0, added.err
        sent = kt("alerts", "test", "oncall")
        assert sent.code == 0 and "delivered" in sent.out
        [request] = receiver.requests
        assert request["valid"] and request["headers"]["X-Keytui-Delivery"].startswith("dlv_test_")
        body = json.loads(request["body"])
        assert body["type"] == "test" and body["alert"]["kind"] == "test"
        assert not Receiver.valid(request["headers"]["X-Keytui-Signature"], request["body"] + b" ")  # tampered
    finally:
        receiver.close()
    down = kt("alerts", "test", "oncall")
    assert down.code == 1 and "NOT delivered" in down.out and "unreachable" in down.out


def test_alerts_survive_a_receiver_down_and_a_restart_of_keytui(kt, clock, tmp_path, secret_file):
    port = free_port()  # nothing listens yet
    kt("alerts", "channel", "add", "oncall", "webhook", f"http://127.0.0.1:{port}/hook", "--secret-file", secret_file)
    leak_keys(kt, tmp_path, 2)
    watcher = subprocess.Popen([sys.executable, "-m", "keytui", "--operator", "alice", "watch", "--interval", "0.2"],
                               env=dict(os.environ, KEYTUI_HOME=str(tmp_path / "home"),
                                        KEYTUI_NOW=clock.now().isoformat()),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not all(
                d and d[0]["attempts"] for d in deliveries(kt).values()):
            time.sleep(0.2)
        time.sleep(1)  # a few more passes: nothing is due again before its backoff
    finally:
        watcher.send_signal(signal.SIGKILL)  # keytui dies while the receiver is down
        watcher.wait()
    pending = deliveries(kt)
    assert len(pending) == 2 and all(d[0]["status"] == "pending" and d[0]["attempts"] == 1 for d in pending.values())
    assert all("unreachable" in d[0]["last_error"] for d in pending.values())

    receiver = Receiver(port)
    try:
        clock.advance(hours=1)
        assert kt("watch", "--once").code == 0  # a new keytui process
        done = deliveries(kt)
        assert all(d[0]["status"] == "delivered" and d[0]["attempts"] == 2 for d in done.values())
        assert sorted(p["alert"]["id"] for p in receiver.payloads()) == sorted(done)
        assert all(r["valid"] for r in receiver.requests)
        assert {r["headers"]["X-Keytui-Delivery"] for r in receiver.requests} == {d[0]["delivery_id"]
                                                                                  for d in done.values()}
        assert kt("watch", "--once").code == 0 and len(receiver.requests) == 2  # delivered once is enough
    finally:
        receiver.close()


def test_a_send_cut_short_by_a_crash_is_sent_again_with_the_same_id(kt, clock, tmp_path, secret_file):
    receiver = Receiver(hold=True)
    kt("alerts", "channel", "add", "oncall", "webhook", f"http://127.0.0.1:{receiver.port}/", "--secret-file",
       secret_file)
    leak_keys(kt, tmp_path, 1)
    watcher = subprocess.Popen([sys.executable, "-m", "keytui", "watch", "--once"], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, env=dict(os.environ, KEYTUI_HOME=str(tmp_path / "home"),
                                                                   KEYTUI_NOW=clock.now().isoformat()))
    try:
        assert receiver.arrived.wait(30)
        watcher.kill()  # the alert reached the receiver; keytui never learnt it did
        watcher.wait()
        receiver.release.set()
        clock.advance(minutes=1)
        kt("watch", "--once")
        assert len(receiver.requests) == 1  # claimed by the dead process: not sent again yet
        clock.advance(minutes=5)  # its lease has run out
        kt("watch", "--once")
        first, second = receiver.payloads()
        assert first["delivery_id"] == second["delivery_id"] and first["alert"]["id"] == second["alert"]["id"]
        [state] = deliveries(kt).values()
        assert state[0]["status"] == "delivered"
    finally:
        receiver.close()


@pytest.fixture
def syslog_socket():
    folder = tempfile.mkdtemp(prefix="kt-log-", dir="/tmp")  # socket paths must stay short
    path = os.path.join(folder, "log")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(10)
    yield path, sock
    sock.close()
    os.unlink(path)
    os.rmdir(folder)


def test_syslog_delivery_to_a_local_socket(kt, tmp_path, syslog_socket):
    path, sock = syslog_socket
    assert kt("alerts", "channel", "add", "local", "syslog", "--address", path, "--min-severity", "high").code == 0
    assert kt("alerts", "test", "local").code == 0
    pri, _, host, _, msgid, params, text = SYSLOG_RE.match(sock.recv(4096)).groups()
    assert (int(pri), msgid) == (4 * 8 + 5, b"test") and b"test alert from keytui" in text
    [key_id] = leak_keys(kt, tmp_path, 1)
    kt("watch", "--once")
    pri, _, _, _, msgid, params, text = SYSLOG_RE.match(sock.recv(4096)).groups()
    assert (int(pri), msgid) == (4 * 8 + 2, b"key-leaked")  # facility auth, severity critical
    assert f'key_id="{key_id}"'.encode() in params and b'severity="high"' in params
    assert b"Leaky 0" in text and b"revoked" in text
    assert [d["status"] for ds in deliveries(kt).values() for d in ds] == ["delivered"]


def test_syslog_over_udp_and_minimum_severity(kt, clock, tmp_path):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(10)
        port = sock.getsockname()[1]
        kt("alerts", "channel", "add", "udp", "syslog", "--address", f"127.0.0.1:{port}")
        kt("alerts", "channel", "add", "pager", "syslog", "--address", f"127.0.0.1:{port}", "--min-severity", "high")
        kt("keys", "create", "--name", "Soon", "--scope", "agents", "--permission", "read", "--environment",
           "sandbox", "--expires-in", "30")
        clock.advance(days=25)  # auto-rotated: a low alert
        kt("watch", "--once")
        channels = [d["channel"] for ds in deliveries(kt).values() for d in ds]
        assert channels == ["udp"]  # the high-only channel does not get it
        pri, *_, msgid, _, text = SYSLOG_RE.match(sock.recv(4096)).groups()
        assert (int(pri), msgid) == (4 * 8 + 5, b"auto-rotated") and b"Soon" in text


def test_a_webhook_secret_is_stored_encrypted_and_never_shown(kt, home, secret_file):
    kt("alerts", "channel", "add", "oncall", "webhook", "https://hooks.example.com/keytui", "--secret-file",
       secret_file, "--min-severity", "medium")
    listed = kt("alerts", "channel", "list", "--json")
    assert listed.json() == [{"name": "oncall", "kind": "webhook", "target": "https://hooks.example.com/keytui",
                              "min_severity": "medium", "created_at": listed.json()[0]["created_at"],
                              "created_by": "alice", "signed": True, "exists": True}]
    stored = b"".join(p.read_bytes() for p in home.iterdir() if p.name.startswith("keytui.db"))
    assert SECRET not in stored and SECRET not in kt("audit", "list", "--json").out.encode()
    assert [e["action"] for e in kt("audit", "list", "--json").json()][:1] == ["alert.channel.add"]


@pytest.mark.parametrize("args, field", [
    (("x", "webhook", "ftp://example.com/", "--secret-file", "S"), "url"),
    (("x", "webhook", "https://user:pw@example.com/", "--secret-file", "S"), "url"),
    (("x", "webhook", "https://example.com/"), "secret-file"),
    (("x", "webhook", "https://example.com/", "--secret-file", "SHORT"), "secret-file"),
    (("x", "webhook", "https://example.com/", "--secret-file", "MISSING"), "secret-file"),
    (("Bad Name", "syslog"), "channel"),
    (("x", "syslog", "--address", "example.com"), "address"),
    (("x", "syslog", "--address", "::1:514"), "address"),
    (("x", "syslog", "--min-severity", "urgent"), "min-severity"),
])
def test_bad_channel_input_is_one_line_and_changes_nothing(kt, tmp_path, secret_file, args, field):
    short = tmp_path / "short"
    short.write_text("tooshort")
    files = {"S": secret_file, "SHORT": str(short), "MISSING": str(tmp_path / "missing")}
    result = kt("alerts", "channel", "add", *[files.get(a, a) for a in args])
    assert result.code == 2 and result.err.startswith(f"keytui: {field}:") and len(result.err.splitlines()) == 1
    assert kt("alerts", "channel", "list", "--json").json() == []


def test_the_org_policy_can_require_a_channel(kt, tmp_path, secret_file):
    policy = tmp_path / "policy.toml"
    policy.write_text('name = "alerts must reach on-call"\n[alerts]\nrequired_channels = ["oncall"]\n')
    assert kt("policy", "apply", str(policy)).code == 0
    listed = kt("alerts", "channel", "list")
    assert "oncall" in listed.out and "MISSING" in listed.out
    kt("alerts", "channel", "add", "oncall", "webhook", "https://hooks.example.com/", "--secret-file", secret_file)
    assert "MISSING" not in kt("alerts", "channel", "list").out
    refused = kt("alerts", "channel", "remove", "oncall")
    assert refused.code == 2 and "requires" in refused.err
    policy.write_text('name = "p"\n[alerts]\nrequired_channels = ["Not A Name"]\n')
    bad = kt("policy", "apply", str(policy))
    assert bad.code == 2 and "required_channels (line 3)" in bad.err


def test_removing_a_channel_fails_its_undelivered_alerts(kt, tmp_path, secret_file):
    kt("alerts", "channel", "add", "gone", "webhook", f"http://127.0.0.1:{free_port()}/", "--secret-file", secret_file)
    leak_keys(kt, tmp_path, 1)
    removed = kt("alerts", "channel", "remove", "gone")
    assert removed.code == 0 and "1 undelivered" in removed.out
    [state] = deliveries(kt).values()
    assert (state[0]["status"], state[0]["last_error"]) == ("failed", "channel removed")
    assert kt("alerts", "channel", "remove", "gone").code == 2
