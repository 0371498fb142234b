"""PostgreSQL restarted under load, on a server of the test's own (tests/postgres/cluster.py): no
request hangs, every answer while the server is down is a 503 (and /healthz says why in one
word), the same `keytui serve` answers 200 again once it is back, and every verification
answered with a verdict has its event, exactly once. A CLI command run meanwhile prints one
line and exits 3. The URL carries a password, which no answer, log line or error shows."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from keytui.domain import UNAVAILABLE
from tests.gateway.server import UNKNOWN_TOKEN, start_server
from tests.postgres.cluster import Cluster, pg_bin
from tests.support import Token

PASSWORD = "Pw-not-to-be-shown-7f3a"  # trust authentication never asks for it; libpq keeps it
CLIENTS = 4
CLIENT_TIMEOUT_S = 5.0
DOWN_S = 2.0
BACK_WITHIN_S = 10.0


@pytest.fixture
def cluster(pg_url, monkeypatch):
    """A private PostgreSQL the test may stop (pg_url: this runs in the PostgreSQL run only)."""
    bin_dir = pg_bin()
    if bin_dir is None:
        pytest.skip("PostgreSQL's initdb is not installed (a private server to restart is needed)")
    base = Path(tempfile.mkdtemp(prefix="keytui-pgr."))  # short: a socket path has ~100 bytes
    server = Cluster(bin_dir, base)
    server.start()
    monkeypatch.setenv("KEYTUI_DATABASE_URL", server.url.replace("postgres@", f"postgres:{PASSWORD}@"))
    try:
        yield server
    finally:
        if server.running():
            server.stop("immediate")
        shutil.rmtree(base, ignore_errors=True)


@dataclass
class Answer:
    sent: float
    done: float
    status: int | str  # an HTTP status, or the transport error's name
    text: str


class Load:
    """CLIENTS threads verifying one after another (a valid token and an unknown one: each a 200
    with its verdict and an event), each answer kept with when it was sent and came."""

    def __init__(self, url: str, tokens: list[Token]):
        self.url, self.tokens = url, tokens
        self.answers: list[Answer] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._client, args=(n,)) for n in range(CLIENTS)]

    def __enter__(self) -> Load:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        for t in self._threads:
            t.join()

    def _client(self, n: int) -> None:
        with httpx.Client(base_url=self.url, timeout=CLIENT_TIMEOUT_S) as http:
            i = n
            while not self._stop.is_set():
                i += 1
                sent = time.monotonic()
                try:
                    r = http.post("/v1/keys/verify", json={"token": self.tokens[i % 2], "environment": "sandbox"})
                    status, text = r.status_code, r.text
                except httpx.TransportError as exc:
                    status, text = type(exc).__name__, ""
                self.answers.append(Answer(sent, time.monotonic(), status, text))
                time.sleep(0.005)

    def since(self, t: float) -> list[Answer]:
        return [a for a in list(self.answers) if a.sent >= t]


def _wait_for_200(load: Load, since: float) -> None:
    deadline = time.monotonic() + BACK_WITHIN_S
    while time.monotonic() < deadline:
        if any(a.status == 200 for a in load.since(since)):
            return
        time.sleep(0.05)
    pytest.fail(f"no verification answered 200 within {BACK_WITHIN_S} s of PostgreSQL starting again")


def test_a_restart_under_load_fails_fast_recovers_by_itself_and_loses_no_answered_event(cluster, home):
    from keytui.service import Vault

    vault = Vault.open(home, operator="alice")
    try:
        token = Token(vault.create("Agents Key", "agents", ["read"], "sandbox", expires_in_days=30).token)
    finally:
        vault.close()
    server = start_server(home, "--fail-limit", "0")  # the unknown token's 401s, again and again
    try:
        with Load(server.url, [token, UNKNOWN_TOKEN]) as load:
            time.sleep(1.0)
            cluster.stop("fast")
            down = time.monotonic()
            time.sleep(DOWN_S / 2)
            health = httpx.get(f"{server.url}/healthz", timeout=CLIENT_TIMEOUT_S)
            cli = subprocess.run([sys.executable, "-m", "keytui", "keys", "list"], capture_output=True, text=True,
                                 timeout=30, env={**os.environ, "KEYTUI_HOME": str(home)})
            time.sleep(DOWN_S / 2)
            up = time.monotonic()
            cluster.start()
            _wait_for_200(load, time.monotonic())
            time.sleep(1.0)
        assert httpx.get(f"{server.url}/healthz").json()["status"] == "ok"
        assert server.stop() == 0
    finally:
        if server.proc.poll() is None:
            server.proc.kill()

    answers = load.answers
    assert answers and all(a.status in (200, 503) for a in answers), \
        f"answers other than 200/503: {sorted({str(a.status) for a in answers} - {'200', '503'})}"
    assert max(a.done - a.sent for a in answers) < CLIENT_TIMEOUT_S
    while_down = [a for a in answers if a.sent >= down + 0.2 and a.done <= up]
    assert while_down and {a.status for a in while_down} == {503}
    assert not any(PASSWORD in a.text for a in answers)

    assert health.status_code == 503 and health.json()["status"] == "unreachable"
    assert cli.returncode == 3 and cli.stdout == ""
    assert len(cli.stderr.strip().splitlines()) == 1 and cli.stderr.startswith("keytui: ")
    assert PASSWORD not in cli.stderr and PASSWORD not in server.logs() and "Traceback" not in server.logs()

    verdicts = sum(a.status == 200 for a in answers)
    events = server.events()
    assert sum(code != UNAVAILABLE for code, *_ in events) == verdicts
    assert len(events) <= verdicts + sum(a.status == 503 for a in answers)


def test_a_running_watch_says_the_server_is_gone_in_one_line_and_goes_on_once_it_is_back(cluster, home, tmp_path):
    from keytui.service import Vault

    Vault.open(home, operator="alice").close()
    out, err = tmp_path / "watch.out", tmp_path / "watch.err"
    with open(out, "w") as stdout, open(err, "w") as stderr:
        watch = subprocess.Popen([sys.executable, "-m", "keytui", "watch", "--interval", "0.2"], stdout=stdout,
                                 stderr=stderr, env={**os.environ, "KEYTUI_HOME": str(home)})
    try:
        _wait_for(lambda: out.read_text().count("\n") >= 2, "the watch's first passes")
        cluster.stop("fast")
        _wait_for(lambda: "cannot be used" in err.read_text(), "the watch to say the server is gone")
        time.sleep(DOWN_S / 2)
        assert watch.poll() is None, err.read_text()[-500:]
        cluster.start()
        passes_before = out.read_text().count("\n")
        _wait_for(lambda: out.read_text().count("\n") >= passes_before + 2, "passes after the restart")
    finally:
        watch.terminate()
        assert watch.wait(30) == 0
    complaints = [line for line in err.read_text().splitlines() if not line.startswith("watch stopped after")]
    assert complaints and all(line.startswith("keytui: watch: the database server cannot be used")
                              for line in complaints)
    assert PASSWORD not in err.read_text() + out.read_text()


def _wait_for(condition, what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"waited {timeout:g} s for {what}")
        time.sleep(0.05)
