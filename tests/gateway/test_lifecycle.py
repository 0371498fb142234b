"""What a killed, stopped or multi-process gateway does with answered requests.

Each test runs its own server: the point is to stop it.
"""

from __future__ import annotations

import asyncio
import signal

import httpx
import pytest

from tests.gateway.server import activity_log_locked

N = 200
CONNECTIONS = 64  # the test client's; so at most this many requests are in the server at once


async def fire(server, count: int, on_answer=None, answered: list | None = None) -> list[int]:
    """Send `count` verifications at once; statuses of those answered (transport errors are unanswered)."""
    limits = httpx.Limits(max_connections=CONNECTIONS)
    body = {"token": server.tokens["sandbox"], "environment": "sandbox", "permission": "read"}
    answered = [] if answered is None else answered
    async with httpx.AsyncClient(base_url=server.url, timeout=20, limits=limits) as client:
        async def one() -> None:
            try:
                response = await client.post("/v1/keys/verify", json=body)
            except httpx.TransportError:
                return
            answered.append(response.status_code)
            if on_answer:
                on_answer(len(answered))

        await asyncio.gather(*(one() for _ in range(count)))
    return answered


async def pending_events(client: httpx.AsyncClient) -> int:
    for line in (await client.get("/metrics")).text.splitlines():
        if line.startswith("keytui_gateway_pending_events "):
            return int(float(line.split()[1]))
    raise AssertionError("keytui_gateway_pending_events not in /metrics")


async def test_no_answer_before_its_event_commits_and_every_answered_event_survives_sigkill(fresh_server):
    server = fresh_server()
    answered: list[int] = []
    with activity_log_locked(server.home):
        burst = asyncio.create_task(fire(server, N, answered=answered))
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
            deadline = asyncio.get_running_loop().time() + 30
            while await pending_events(client) < CONNECTIONS:  # as many as can be sent wait in the group commit
                assert asyncio.get_running_loop().time() < deadline, "the burst never reached the server"
                await asyncio.sleep(0.05)
        assert answered == [], "requests were answered before their events could commit"
    await burst
    server.stop(signal.SIGKILL)
    assert answered == [200] * N
    assert len(server.events()) == N


async def test_sigkill_in_mid_burst_loses_no_answered_event(fresh_server):
    server = fresh_server()
    kill_at = N // 4

    def kill_after_some(count: int) -> None:
        if count == kill_at:
            server.proc.kill()

    answered = await fire(server, N * 2, kill_after_some)
    server.proc.wait(10)
    assert kill_at <= len(answered) < N * 2, "the kill should land in mid-burst"
    assert len(server.events()) >= len(answered)


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
async def test_a_stop_signal_finishes_requests_in_flight_and_exits_0(fresh_server, stop):
    server = fresh_server("--access-log")
    stop_at = N // 4
    loop = asyncio.get_running_loop()

    def stop_after_some(count: int) -> None:
        if count == stop_at:
            loop.call_soon(server.proc.send_signal, stop)

    answered = await fire(server, N, stop_after_some)
    assert server.proc.wait(20) == 0
    assert len(answered) >= stop_at and set(answered) == {200}
    assert len(server.events()) == len(answered)
    assert "Application shutdown complete" in server.logs()


async def test_several_workers_share_the_database(fresh_server):
    server = fresh_server("--workers", "2")
    answered = await fire(server, N)
    assert server.stop(signal.SIGTERM) == 0
    assert answered == [200] * N
    assert len(server.events()) == N
    assert "database is locked" not in server.logs()
