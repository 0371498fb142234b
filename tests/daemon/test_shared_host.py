"""A shared host: the daemon runs as a service account that alone can read the home; a viewer,
an operator, an admin and a user with no role reach it through its socket as separate OS users,
and the kernel, not the request, says who each one is."""

from __future__ import annotations

import json
import subprocess
import textwrap

import pytest

from tests.daemon.server import running_daemon

# the first test also builds the system-python venv (pip, ~1 min, longer on a busy machine)
pytestmark = pytest.mark.timeout(900)

HAND_WRITTEN = textwrap.dedent("""
    import http.client, json, socket, sys
    class C(http.client.HTTPConnection):
        def connect(self):
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.connect(sys.argv[1])
    c = C("keytui")
    c.request("POST", "/v1/call/" + sys.argv[2], body=sys.argv[3],
              headers={"Content-Type": "application/json", "X-Keytui-Operator": sys.argv[4],
                       "X-Keytui-Session": sys.argv[5] if len(sys.argv) > 5 else ""})
    r = c.getresponse()
    print(json.dumps({"status": r.status, "body": json.loads(r.read())}))
""")


@pytest.fixture(scope="module")
def host(shared_host):
    """The daemon as the service account, its home 0700; roles granted by the service account."""
    svc = shared_host.users["svc"]
    home, run = shared_host.base / "home", shared_host.base / "run"
    for path in (home, run):
        path.mkdir()
        subprocess.run(["chown", f"{svc}:{svc}", str(path)], check=True)
    home.chmod(0o700)
    daemon = ["setpriv", f"--reuid={svc}", f"--regid={svc}", "--init-groups", *shared_host.env(),
              str(shared_host.python), "-m", "keytui"]
    with running_daemon(home, command=daemon, sock=run / "keytui.sock") as (sock, _):
        shared_host.sock, shared_host.home = sock, home
        for who in ("viewer", "operator", "admin"):
            granted = shared_host.as_user("svc", "--socket", str(sock), "roles", "grant", shared_host.users[who], who)
            assert granted.returncode == 0, granted.stderr
        yield shared_host


def kt(host, who: str, *args: str, input: str | None = None):
    return host.as_user(who, "--socket", str(host.sock), *args, input=input)


def hand_written(host, who: str, method: str, body: dict, claim: str = "", session: str = "") -> dict:
    found = host.as_user(who, "-c", HAND_WRITTEN, str(host.sock), method, json.dumps(body), claim or "x", session)
    assert found.returncode == 0, found.stderr
    return json.loads(found.stdout)


@pytest.fixture(scope="module")
def key_id(host):
    made = kt(host, "operator", "keys", "create", "--name", "Shared Host Key", "--scope", "agents",
              "--permission", "read", "--environment", "sandbox", "--expires-in", "30", "--json")
    assert made.returncode == 0, made.stderr
    return json.loads(made.stdout)["key"]["key_id"]


def audit(host) -> list[dict]:
    found = kt(host, "svc", "audit", "list", "--json")
    assert found.returncode == 0, found.stderr
    return json.loads(found.stdout)


def test_the_home_is_the_service_accounts_alone(host, key_id):
    for path in (host.home / "master.key", host.home / "keytui.db"):
        assert path.stat().st_mode & 0o777 == 0o600
        for who in ("viewer", "operator", "admin"):
            assert host.as_user(who, "-c", f"open({str(path)!r}, 'rb').read(1)").returncode != 0
    assert host.home.stat().st_mode & 0o777 == 0o700
    assert host.sock.stat().st_mode & 0o777 == 0o666


def test_whoami_is_the_kernels_word(host):
    for who in ("viewer", "operator", "admin"):
        found = kt(host, who, "whoami", "--json")
        assert json.loads(found.stdout) == {"user": host.users[who], "role": who, "read_only": False,
                                            "home_kind": None}


def test_a_viewer_reads_the_registry_and_the_activity_log(host, key_id):
    listed = kt(host, "viewer", "keys", "list", "--json")
    assert listed.returncode == 0 and key_id in [k["key_id"] for k in json.loads(listed.stdout)]
    events = host.as_user("viewer", "-c", "import sys; from keytui.daemon.client import RemoteVault; "
                                         "v = RemoteVault(sys.argv[1]); print(v.count_events(), v.events(limit=1) is not None)",
                          str(host.sock))
    assert events.returncode == 0 and events.stdout.split()[1] == "True", events.stderr
    assert kt(host, "viewer", "keys", "show", key_id).returncode == 0
    assert kt(host, "viewer", "keys", "export", "--format", "json").returncode == 0


@pytest.mark.parametrize("args, what", [
    (("keys", "rotate", "{key}"), "rotate"),
    (("keys", "revoke", "{key}"), "revoke"),
    (("keys", "copy", "{key}"), "copy token"),
    (("policy", "set", "auto_rotation", "off"), "change a policy"),
])
def test_a_viewer_cannot_change_anything_or_copy_a_token(host, key_id, args, what):
    found = kt(host, "viewer", *[a.format(key=key_id) for a in args])
    viewer = host.users["viewer"]
    assert found.returncode == 2
    assert found.stderr == f"keytui: {what} needs the {'admin' if what == 'change a policy' else 'operator'} role; " \
                           f"{viewer} is a viewer\n"
    assert found.stdout == ""
    assert kt(host, "svc", "keys", "show", key_id, "--json").returncode == 0
    assert json.loads(kt(host, "svc", "keys", "show", key_id, "--json").stdout)["status"] == "active"


def test_a_hand_written_request_cannot_claim_another_identity(host, key_id):
    for method, body in (("rotate", {"args": [key_id]}), ("revoke", {"args": [key_id]}),
                         ("revoke_many", {"args": [[key_id]]}),
                         ("copy_token", {"args": [key_id]}),
                         ("set_policy", {"args": ["auto_rotation", False]}),
                         ("grant_role", {"args": [host.users["viewer"], "admin"]})):
        answer = hand_written(host, "viewer", method, body, claim=host.users["svc"])
        assert answer["status"] == 403 and answer["body"]["error"]["type"] == "RoleRefused", method
    assert json.loads(kt(host, "viewer", "whoami", "--json").stdout)["role"] == "viewer"


def test_a_session_opened_by_one_user_is_worthless_to_another(host):
    opened = host.as_user("operator", "-c", "import sys; from keytui.daemon.client import RemoteVault; "
                                           "print(RemoteVault(sys.argv[1], mfa_window_seconds=300).session)",
                          str(host.sock))
    session = opened.stdout.strip()
    assert opened.returncode == 0 and len(session) > 30
    answer = hand_written(host, "viewer", "whoami", {}, session=session)
    assert answer["body"]["error"]["type"] == "SessionExpired"


def test_an_operator_runs_the_lifecycle(host):
    made = kt(host, "operator", "keys", "create", "--name", "Operator Key", "--scope", "workflows",
              "--permission", "write", "--environment", "staging", "--expires-in", "60", "--json")
    assert made.returncode == 0, made.stderr
    new = json.loads(made.stdout)["key"]["key_id"]
    assert kt(host, "operator", "keys", "rotate", new, "--grace-hours", "0").returncode == 0
    assert kt(host, "operator", "keys", "copy", new).stdout.startswith("kt_stg_")
    assert kt(host, "operator", "keys", "revoke", new, "--reason", "test").returncode == 0
    refused = kt(host, "operator", "policy", "set", "auto_rotation", "off")
    assert refused.returncode == 2 and "needs the admin role" in refused.stderr
    history = [e for e in audit(host) if e["key_id"] == new]
    assert {e["operator"] for e in history} == {host.users["operator"]}
    assert {"key.create", "key.rotate", "key.copy", "key.revoke"} <= {e["action"] for e in history}


def test_a_user_with_no_role_gets_one_line(host):
    nobody = host.users["nobody"]
    for args in (("keys", "list"), ("whoami",), ("audit", "list")):
        found = kt(host, "nobody", *args)
        assert found.returncode == 2 and found.stdout == ""
        assert found.stderr == (f"keytui: {nobody} has no keytui role; an admin can grant one with "
                                f"`keytui roles grant {nobody} viewer`\n")


def test_operator_and_read_only_cannot_change_who_you_are(host, key_id):
    found = kt(host, "viewer", "--operator", host.users["admin"], "keys", "rotate", key_id)
    assert found.returncode == 2 and "--operator is refused" in found.stderr
    found = kt(host, "admin", "--read-only", "keys", "rotate", key_id)
    assert found.returncode == 2 and f"{host.users['admin']} is a viewer" in found.stderr


def test_mfa_follows_identity(host):
    operator, viewer = host.users["operator"], host.users["viewer"]
    enrolled = kt(host, "operator", "mfa", "enroll", "--json")
    assert enrolled.returncode == 0 and json.loads(enrolled.stdout)["operator"] == operator
    answer = hand_written(host, "viewer", "enroll_mfa", {"args": [operator]})
    assert answer["body"]["error"]["type"] == "RoleRefused"
    assert "someone else" in answer["body"]["error"]["message"]
    refused = kt(host, "operator", "mfa", "reset", viewer)
    assert refused.returncode == 2 and "reset MFA needs the admin role" in refused.stderr
    assert kt(host, "admin", "mfa", "reset", operator).returncode == 0
    status = kt(host, "operator", "mfa", "status", "--json")
    assert json.loads(status.stdout) == {"operator": operator, "enrolled": False}
    reset = [e for e in audit(host) if e["action"] == "mfa.reset"]
    assert reset and reset[0]["operator"] == host.users["admin"] and reset[0]["details"]["operator"] == operator


def test_roles_are_granted_by_admins_only_and_audited(host):
    viewer, nobody = host.users["viewer"], host.users["nobody"]
    refused = kt(host, "operator", "roles", "grant", nobody, "admin")
    assert refused.returncode == 2 and "grant a role needs the admin role" in refused.stderr
    assert kt(host, "admin", "roles", "grant", nobody, "viewer").returncode == 0
    assert kt(host, "nobody", "keys", "list").returncode == 0
    assert kt(host, "admin", "roles", "revoke", nobody).returncode == 0
    assert kt(host, "nobody", "keys", "list").returncode == 2
    listed = json.loads(kt(host, "viewer", "roles", "list", "--json").stdout)
    assert {r["user"]: r["role"] for r in listed}[viewer] == "viewer"
    actions = [(e["action"], e["operator"], e["details"].get("user")) for e in audit(host)]
    assert ("role.grant", host.users["admin"], nobody) in actions
    assert ("role.revoke", host.users["admin"], nobody) in actions


def test_every_refused_attempt_is_audited_with_the_real_user_name(host, key_id):
    before = len([e for e in audit(host) if e["action"] == "access.refused"])
    kt(host, "viewer", "keys", "rotate", key_id)
    hand_written(host, "viewer", "copy_token", {"args": [key_id]}, claim=host.users["svc"])
    kt(host, "nobody", "keys", "list")
    refused = [e for e in audit(host) if e["action"] == "access.refused"]
    assert len(refused) == before + 3
    newest = refused[:3]  # newest first
    assert [(e["operator"], e["details"]["call"]) for e in newest] == [
        (host.users["nobody"], "list_keys"), (host.users["viewer"], "copy_token"), (host.users["viewer"], "rotate")]
    assert kt(host, "svc", "audit", "verify").returncode == 0
