"""A database server that cannot be reached is one line naming it, with the URL's password
never shown, for every face (the CLI's exit 3, the gateway's 503 "unreachable")."""

from __future__ import annotations

import os
import subprocess
import sys

import psycopg2

from keytui.store.faults import classify
from tests.gateway.server import free_port

PASSWORD = "Pw-never-shown-91c"


def test_a_server_error_quoting_a_url_has_its_password_blanked():
    error = psycopg2.OperationalError(f"could not use postgresql://keytui:{PASSWORD}@db.example:5432/keytui")
    fault = classify(error)
    assert fault is not None and fault.reason == "unreachable"
    assert PASSWORD not in fault.message and "postgresql://keytui:***@db.example" in fault.message


def test_a_cli_command_with_the_server_down_prints_one_line_and_exits_3(home):
    url = f"postgresql://keytui:{PASSWORD}@127.0.0.1:{free_port()}/keytui?sslmode=disable"  # nobody listens
    env = {**os.environ, "KEYTUI_HOME": str(home), "KEYTUI_DATABASE_URL": url}
    done = subprocess.run([sys.executable, "-m", "keytui", "keys", "list"], capture_output=True, text=True, env=env,
                          timeout=60)
    assert done.returncode == 3 and done.stdout == ""
    assert len(done.stderr.splitlines()) == 1
    assert done.stderr.startswith("keytui: the database server cannot be used (")
    assert PASSWORD not in done.stderr
