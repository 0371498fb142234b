"""uvicorn's HTTP protocol (httptools when installed, else h11) with TCP_NODELAY and limits on
slow and idle clients.

asyncio sets TCP_NODELAY only on sockets whose protocol number says TCP; the listening
socket uvicorn binds itself for --workers N > 1 has protocol 0, so its connections kept
Nagle's algorithm on, and a response written as headers then body waited for the client's
delayed ACK: 40 ms on every request.

uvicorn closes an idle keep-alive connection, but any byte restarts that timer, and nothing
limits a connection that never finishes its request head or its body: 300 idle connections
against a 256-file limit stopped verification and /healthz. Here each connection has one
deadline at a time, never moved by trickled bytes: a complete request head within
`request_timeout_s` of connecting (or of its previous answer), then its body within
`request_timeout_s`; and a worker holds at most `max_connections` connections, kept below its
file limit. A new connection beyond the cap takes the place of the oldest one that is idle or
still sending a request (whose client is slow, or gone); only if every connection has a request
in progress is the new one closed.
"""

from __future__ import annotations

import resource
import socket
from collections import Counter

from uvicorn.protocols.http.auto import AutoHTTPProtocol

ACCEPT_SPARE = 32  # file descriptors the worker needs besides its connections (database, logs, loop)


def accept_batch(fd_limit: int) -> int:
    """uvicorn's `backlog`: asyncio accepts up to this many connections per loop turn, before any
    of them reaches the cap below, so it is kept small beside a small file limit."""
    return max(16, min(2048, fd_limit // 8))


def connection_cap(wanted: int, fd_limit: int) -> int:
    room = fd_limit - ACCEPT_SPARE - 3 * accept_batch(fd_limit)
    return max(1, min(wanted, room))


def fd_limit() -> int:
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def raise_fd_limit() -> int:
    """Use the hard file limit (often far above the soft one) and return the limit in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = max(soft, 65536) if hard == resource.RLIM_INFINITY else hard
    if soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError):
            pass
    return fd_limit()


class Guard:
    """The worker's connections, oldest first, and why the gateway closed any."""

    def __init__(self):
        self.request_timeout_s = 10.0
        self.max_connections = 1000
        self.open: dict["GuardedHTTPProtocol", None] = {}
        self.closed: Counter = Counter()

    def configure(self, *, request_timeout_s: float, max_connections: int) -> None:
        self.request_timeout_s = request_timeout_s
        self.max_connections = connection_cap(max_connections, fd_limit())

    def admit(self, conn: "GuardedHTTPProtocol") -> bool:
        if len(self.open) >= self.max_connections:
            victim = self._victim()
            if victim is None:
                self.closed["refused"] += 1
                return False
            victim.drop("evicted")
        self.open[conn] = None
        return True

    def _victim(self) -> "GuardedHTTPProtocol | None":
        waiting_body = None
        for conn in self.open:
            phase = conn.phase()
            if phase == "head":
                return conn
            if phase == "body" and waiting_body is None:
                waiting_body = conn
        return waiting_body

    def stats(self) -> dict[str, int]:
        return {"open": len(self.open), **self.closed}


GUARD = Guard()


class GuardedHTTPProtocol(AutoHTTPProtocol):  # type: ignore[misc, valid-type]
    def connection_made(self, transport) -> None:
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._deadline = None
        self._watching: tuple | None = None
        super().connection_made(transport)
        if not GUARD.admit(self):
            transport.close()
            return
        self._track()

    def connection_lost(self, exc) -> None:
        GUARD.open.pop(self, None)
        self._cancel()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._track()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._track()

    def phase(self) -> str:
        """'head' (waiting for a request head: idle, or a slow client), 'body' (a request whose
        body is still arriving) or 'app' (the gateway is answering)."""
        cycle = self.cycle
        if cycle is None or cycle.response_complete:
            return "head"
        if cycle.more_body and not cycle.response_started:
            return "body"
        return "app"

    def _track(self) -> None:
        """One deadline per wait: set when a wait starts, never moved by the bytes that arrive."""
        if self.transport is None or self.transport.is_closing():
            return
        watching = (self.phase(), self.cycle, getattr(self.cycle, "response_complete", None))
        if watching == self._watching:
            return
        self._watching = watching
        self._cancel()
        if watching[0] != "app":
            reason = "slow_head" if watching[0] == "head" else "slow_body"
            self._deadline = self.loop.call_later(GUARD.request_timeout_s, self.drop, reason)

    def _cancel(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def drop(self, reason: str) -> None:
        GUARD.open.pop(self, None)
        self._cancel()
        if not self.transport.is_closing():
            GUARD.closed[reason] += 1
            self.transport.close()
