"""Counters for /metrics in the Prometheus text format (version 0.0.4).

Each worker process counts its own traffic; Prometheus adds them up when it scrapes each
worker, or sees one worker's share behind a shared port. Everything is updated on the event
loop thread, so no locks.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter

from keytui.domain import VerifyCode

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
BATCH_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)


class Histogram:
    def __init__(self, buckets: tuple):
        self.buckets = buckets
        self.counts = [0] * (len(buckets) + 1)
        self.total = 0.0
        self.count = 0

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.buckets, value)] += 1
        self.total += value
        self.count += 1

    def render(self, name: str) -> list[str]:
        lines, running = [], 0
        for bound, n in zip(self.buckets, self.counts):
            running += n
            lines.append(f'{name}_bucket{{le="{bound:g}"}} {running}')
        lines.append(f'{name}_bucket{{le="+Inf"}} {self.count}')
        lines.append(f"{name}_sum {self.total:.6f}")
        lines.append(f"{name}_count {self.count}")
        return lines


class Metrics:
    def __init__(self):
        self.verifications = Counter({code.value: 0 for code in VerifyCode})
        self.responses: Counter = Counter()
        self.latency = Histogram(LATENCY_BUCKETS)
        self.batch_size = Histogram(BATCH_BUCKETS)
        self.batch_retries = 0
        self.rate_limited = 0
        self.cooling_started = 0
        self.queue_full = 0

    def verified(self, code: str, seconds: float) -> None:
        self.verifications[code] += 1
        self.latency.observe(seconds)

    def responded(self, route: str, status: int) -> None:
        self.responses[(route, status)] += 1

    def render(self, *, pending_events: int, pending_limit: int, cooling_ips: int,
               connections: dict[str, int] | None = None) -> str:
        out: list[str] = []

        def family(name: str, kind: str, help_text: str, lines: list[str]) -> None:
            out.extend([f"# HELP {name} {help_text}", f"# TYPE {name} {kind}", *lines])

        family("keytui_gateway_verifications_total", "counter", "Verifications answered, by result code.",
               [f'keytui_gateway_verifications_total{{code="{c}"}} {n}' for c, n in sorted(self.verifications.items())])
        family("keytui_gateway_verification_duration_seconds", "histogram",
               "Time from request to answer for verifications, including the group commit.",
               self.latency.render("keytui_gateway_verification_duration_seconds"))
        family("keytui_gateway_responses_total", "counter", "HTTP responses by route and status.",
               [f'keytui_gateway_responses_total{{route="{r}",status="{s}"}} {n}'
                for (r, s), n in sorted(self.responses.items())])
        family("keytui_gateway_batch_size", "histogram", "Activity events written per transaction (group commit).",
               self.batch_size.render("keytui_gateway_batch_size"))
        family("keytui_gateway_batch_retries_total", "counter", "Activity batches that failed to write and were retried.",
               [f"keytui_gateway_batch_retries_total {self.batch_retries}"])
        family("keytui_gateway_rate_limited_total", "counter", "Requests answered 429 while their address was cooling off.",
               [f"keytui_gateway_rate_limited_total {self.rate_limited}"])
        family("keytui_gateway_cooling_started_total", "counter", "Cooling periods started after repeated bad tokens.",
               [f"keytui_gateway_cooling_started_total {self.cooling_started}"])
        family("keytui_gateway_cooling_addresses", "gauge", "Addresses cooling off now.",
               [f"keytui_gateway_cooling_addresses {cooling_ips}"])
        family("keytui_gateway_pending_events", "gauge", "Activity events waiting for their batch to commit.",
               [f"keytui_gateway_pending_events {pending_events}"])
        family("keytui_gateway_pending_limit", "gauge", "Requests that may wait for the activity log before 503.",
               [f"keytui_gateway_pending_limit {pending_limit}"])
        family("keytui_gateway_queue_full_total", "counter",
               "Requests answered 503 at once because the pending limit was reached.",
               [f"keytui_gateway_queue_full_total {self.queue_full}"])
        if connections is not None:
            family("keytui_gateway_connections", "gauge", "Open client connections (this worker).",
                   [f"keytui_gateway_connections {connections.pop('open', 0)}"])
            family("keytui_gateway_connections_closed_total", "counter",
                   "Connections closed by the gateway: slow headers or body, idle, or to make room.",
                   [f'keytui_gateway_connections_closed_total{{reason="{r}"}} {n}'
                    for r, n in sorted(connections.items())])
        return "\n".join(out) + "\n"
