"""The gateway's promises about time, each against a server of its own: a cooling period ends, a
failure older than --fail-window no longer counts, and while the activity log cannot be written
/healthz says so and a verification is answered 503 after the commit timeout (never a verdict
without its event).

The rules themselves are checked with a test clock in test_cooling.py; here only the wiring
runs in real time, with margins of whole seconds. Waits are on conditions (a deadline, never a
fixed pause), except where the passing of time is itself the behaviour under test.
"""

from __future__ import annotations

import threading
import time

import httpx

from tests.gateway.server import UNKNOWN_TOKEN, activity_log_locked, verify
from tests.support import wait_until

COMMIT_TIMEOUT_S = 5  # the gateway's default (GatewayOptions.commit_timeout_s); no option changes it


def test_a_cooling_period_ends_after_cooldown_seconds(fresh_server):
    cooldown = 2
    server = fresh_server("--trusted-proxy", "127.0.0.1/32", "--fail-limit", "2", "--cooldown", str(cooldown))
    ip, good = "198.51.100.7", server.tokens["sandbox"]
    with httpx.Client(base_url=server.url, timeout=10) as http:
        assert verify(http, UNKNOWN_TOKEN, ip=ip).json()["code"] == "NOT_FOUND"
        started = time.monotonic()  # the cooling period starts after this, when the server counts the failure
        assert verify(http, UNKNOWN_TOKEN, ip=ip).json()["code"] == "NOT_FOUND"
        cooled = verify(http, good, ip=ip)
        assert cooled.status_code == 429 and 1 <= int(cooled.headers["Retry-After"]) <= cooldown
        answered = wait_until(lambda: verify(http, good, ip=ip).status_code == 200 and time.monotonic(),
                              cooldown + 20, "the cooling period to end", interval=0.1)
    assert answered - started >= cooldown, "the address was let through before its cooldown was over"


def test_failures_older_than_the_fail_window_do_not_count(fresh_server):
    window = 2
    server = fresh_server("--trusted-proxy", "127.0.0.1/32", "--fail-limit", "2", "--fail-window", str(window),
                          "--cooldown", "600")
    ip, good = "198.51.100.8", server.tokens["sandbox"]
    with httpx.Client(base_url=server.url, timeout=10) as http:
        assert verify(http, UNKNOWN_TOKEN, ip=ip).json()["code"] == "NOT_FOUND"
        counted_by = time.monotonic()  # the server counted the first failure before answering it
        time.sleep(window + 0.2)  # time passing is what is under test: the first failure leaves the window
        assert verify(http, UNKNOWN_TOKEN, ip=ip).json()["code"] == "NOT_FOUND"
        assert time.monotonic() - counted_by > window
        assert verify(http, good, ip=ip).json()["code"] == "VALID", "an expired failure was still counted"
        assert verify(http, UNKNOWN_TOKEN, ip=ip).json()["code"] == "NOT_FOUND"  # two within the window
        assert verify(http, good, ip=ip).status_code == 429


def test_while_the_log_cannot_be_written_healthz_is_503_and_a_verification_503_after_the_commit_timeout(
        fresh_server):
    server = fresh_server()
    answer: list[httpx.Response] = []
    with activity_log_locked(server.home):
        with httpx.Client(base_url=server.url, timeout=COMMIT_TIMEOUT_S + 30) as http:
            body = {"token": server.tokens["sandbox"], "environment": "sandbox"}
            asking = threading.Thread(target=lambda: answer.append(http.post("/v1/keys/verify", json=body)))
            started = time.monotonic()
            asking.start()
            unhealthy = wait_until(lambda: (r := http.get("/healthz")).status_code == 503 and r, 20,
                                   "/healthz to report the failing writes")
            assert "activity log" in unhealthy.json()["error"]
            asking.join(COMMIT_TIMEOUT_S + 30)
            assert answer, "the verification was never answered"
            [timed_out] = answer
            assert timed_out.status_code == 503 and timed_out.headers["Retry-After"] == "1"
            assert "activity log" in timed_out.json()["error"] and "valid" not in timed_out.json()
            assert time.monotonic() - started >= COMMIT_TIMEOUT_S
    with httpx.Client(base_url=server.url, timeout=10) as http:
        wait_until(lambda: http.get("/healthz").status_code == 200, 20, "/healthz to recover")
    wait_until(lambda: [e[:3] for e in server.events()] == [("UNAVAILABLE", "127.0.0.1", "agents")], 20,
               "the timed-out request's event to be written once the lock is gone")
