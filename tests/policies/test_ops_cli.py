"""The ops commands from a shell: policy, watch, alerts, demo."""

import os
import signal
import subprocess
import sys

import pytest

from tests.support import read_line

NOW = {"KEYTUI_NOW": "2026-11-27T09:00:00+00:00"}


def test_policy_show_set_and_refusals(cli):
    assert cli("policy", "set", "expiry_alert_days", "14", "--json").json() == {"name": "expiry_alert_days",
                                                                               "value": 14}
    shown = cli("policy", "show", "--json").json()
    assert shown["settings"]["expiry_alert_days"] == 14 and shown["org_policy"] is None
    bad = cli("policy", "set", "expiry_alert_days", "soon")
    assert bad.code == 2 and bad.err.startswith("keytui: expiry_alert_days:") and bad.err.count("\n") == 1
    assert cli("policy", "set", "nope", "on").code == 2


def test_policy_apply_dry_run_then_apply(cli, tmp_path):
    cli("keys", "create", "--name", "Open", "--scope", "agents", "--permission", "read",
        "--environment", "production", "--expires-in", "30")
    policy = tmp_path / "org.toml"
    policy.write_text('name = "t"\n[environments.production]\nrequire_ip_restriction = true\n')
    dry = cli("policy", "apply", str(policy), "--dry-run", "--json").json()
    assert (dry["dry_run"], [v["name"] for v in dry["violations"]]) == (True, ["Open"])
    assert cli("policy", "show", "--json").json()["org_policy"] is None
    human = cli("policy", "apply", str(policy))
    assert human.code == 0 and "1 violate it (1 flagged, 0 cleared)" in human.out and "Open" in human.out
    assert cli("policy", "show", "--json").json()["org_policy"]["name"] == "t"
    policy.write_text('[environments.production]\nmax_expiry_days = "long"\n')
    bad = cli("policy", "apply", str(policy))
    assert bad.code == 2 and "environments.production.max_expiry_days (line 2)" in bad.err
    assert cli("policy", "apply", str(tmp_path / "missing.toml")).code == 2


def test_demo_then_watch_and_alerts(cli):
    built = cli("demo", "--json", env=NOW).json()
    assert (built["keys"], built["active"], built["expired"], built["revoked"]) == (24, 18, 4, 2)
    again = cli("demo", env=NOW)
    assert again.code == 2 and "already holds 24 keys" in again.err
    passed = cli("watch", "--once", "--json", env=NOW).json()
    assert passed["rotated"] == [] and passed["alerts"] == []  # the demo already ran a pass
    open_alerts = cli("alerts", "--json").json()
    assert len(open_alerts) == built["alerts"] > 0
    first = open_alerts[0]["id"]
    assert cli("alerts", "--ack", str(first)).out.startswith(f"Acknowledged alert {first}")
    assert len(cli("alerts", "--json").json()) == len(open_alerts) - 1
    assert len(cli("alerts", "--all", "--json").json()) == len(open_alerts)
    assert cli("alerts", "--ack", "999").code == 2


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_watch_loop_stops_cleanly_after_its_pass(home, stop):
    env = dict(os.environ, KEYTUI_HOME=str(home))
    proc = subprocess.Popen([sys.executable, "-m", "keytui", "watch", "--interval", "30"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = read_line(proc.stdout, 60, "the first pass's report")
        assert "expired 0, rotated 0" in line
        proc.send_signal(stop)  # while it waits for the next pass, 30 s away
        out, err = proc.communicate(timeout=20)
    finally:
        proc.kill()
    assert proc.returncode == 0 and "watch stopped after 1 passes" in err
