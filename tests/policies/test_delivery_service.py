"""The delivery outbox with a clock the test controls: retries back off, a failing channel is
tried once per step (not once per alert), a delivered alert is not sent again, and an alert
that never gets through is marked failed after the last attempt."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from keytui.service import alerts, delivery


@pytest.fixture
def receiver():
    state = {"status": 500, "requests": []}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            state["requests"].append(self.headers["X-Keytui-Delivery"])
            self.send_response(state["status"])
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    state["url"] = f"http://127.0.0.1:{server.server_address[1]}/"
    yield state
    server.shutdown()
    server.server_close()


def raise_alerts(vault, n: int, severity: str = "high") -> list[int]:
    with vault.ctx.transaction():
        return [alerts.raise_alert(vault.ctx, kind="key-leaked", severity=severity, message=f"test {i}",
                                   dedupe_key=f"test:{severity}:{i}") for i in range(n)]


def states(vault) -> list[tuple[str, int]]:
    return [(d.status, d.attempts) for a in vault.alerts(include_acknowledged=True) for d in a.deliveries]


def test_retries_back_off_and_a_failing_channel_is_tried_once_per_step(vault, clock, receiver):
    vault.add_alert_channel("oncall", "webhook", url=receiver["url"], secret="s" * 32)
    raise_alerts(vault, 3)
    report = vault.deliver_alerts()
    assert (report.delivered, report.retrying, len(receiver["requests"])) == (0, 3, 1)
    assert "HTTP 500" in report.errors["oncall"]
    clock.advance(seconds=5)
    assert vault.deliver_alerts().retrying == 0 and len(receiver["requests"]) == 1  # not due before 10 s
    clock.advance(seconds=5)
    vault.deliver_alerts()
    assert states(vault) == [("pending", 2)] * 3 and len(receiver["requests"]) == 2
    receiver["status"] = 204
    clock.advance(seconds=30)
    assert vault.deliver_alerts().delivered == 3 and states(vault) == [("delivered", 3)] * 3
    assert len(set(receiver["requests"][2:])) == 3
    clock.advance(hours=2)
    assert vault.deliver_alerts().delivered == 0 and len(receiver["requests"]) == 5


def test_an_alert_that_never_gets_through_is_marked_failed(vault, clock, receiver):
    vault.add_alert_channel("oncall", "webhook", url=receiver["url"], secret="s" * 32)
    raise_alerts(vault, 1)
    for _ in range(delivery.MAX_ATTEMPTS):
        vault.deliver_alerts()
        clock.advance(hours=1)
    [d] = vault.alerts()[0].deliveries
    assert (d.status, d.attempts, d.last_error) == ("failed", delivery.MAX_ATTEMPTS, "webhook answered HTTP 500")
    assert vault.deliver_alerts().failed == 0 and len(receiver["requests"]) == delivery.MAX_ATTEMPTS


def test_channels_get_the_severities_they_asked_for(vault, receiver):
    vault.add_alert_channel("all", "webhook", url=receiver["url"], secret="s" * 32)
    vault.add_alert_channel("pager", "syslog", address="127.0.0.1:9", min_severity="high")
    raise_alerts(vault, 1, "low")
    raise_alerts(vault, 1, "high")
    by_severity = {a.severity: sorted(d.channel for d in a.deliveries) for a in vault.alerts()}
    assert by_severity == {"low": ["all"], "high": ["all", "pager"]}
