"""Two gateways (two hosts' homes, two ports) on one PostgreSQL database: every answered
verification is recorded exactly once, and a revocation made on one host is refused by both
gateways within a second (each verification reads the key's row; nothing is cached)."""

from __future__ import annotations

import asyncio
import time

import httpx

from tests.gateway.server import start_server

ANSWERS = 120


async def _verify_many(urls: list[str], token: str, n: int) -> list[int]:
    async with httpx.AsyncClient(timeout=30) as client:
        async def one(i: int) -> int:
            body = {"token": token, "environment": "sandbox"}
            return (await client.post(f"{urls[i % len(urls)]}/v1/keys/verify", json=body)).status_code

        return await asyncio.gather(*(one(i) for i in range(n)))


def test_two_gateways_record_every_answer_once_and_see_a_revocation_within_a_second(vault, shared):
    issued = vault.create("Shared Key", "agents", ["read"], "sandbox", expires_in_days=30)
    servers = [start_server(shared.home(n)) for n in (0, 1)]
    try:
        statuses = asyncio.run(_verify_many([s.url for s in servers], issued.token, ANSWERS))
        assert statuses == [200] * ANSWERS
        assert len(servers[0].events("key_id = ?", (issued.key.key_id,))) == ANSWERS
        assert vault.get(issued.key.key_id).last_used_at is not None
        vault.revoke(issued.key.key_id, reason="leaked")
        revoked_at = time.monotonic()
        for server in servers:
            while True:
                body = httpx.post(f"{server.url}/v1/keys/verify", json={"token": issued.token,
                                                                       "environment": "sandbox"}).json()
                if not body["valid"]:
                    break
                assert time.monotonic() - revoked_at < 1.0, "a gateway still accepts the revoked key"
            assert body["code"] == "REVOKED"
        assert [s.stop() for s in servers] == [0, 0]
        assert len(servers[1].events("key_id = ?", (issued.key.key_id,))) == ANSWERS + 2
    finally:
        for server in servers:
            if server.proc.poll() is None:
                server.proc.kill()
