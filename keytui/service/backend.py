"""The service as a server needs it: verification batches on the event loop's own connection,
health and checkpoints on a maintenance thread off the request path.

The gateway's group commit checks and records each batch through `on_loop` (see
keytui.store.connections for why on the loop), so a face serving HTTP never handles a
connection or SQL itself.
"""

from __future__ import annotations

from keytui.domain import StoreUnavailable
from keytui.service import leaks, policies
from keytui.service.context import Context
from keytui.service.verification import Verifier
from keytui.store.connections import DatabaseThreads, OnLoop, checkpoint
from keytui.store.faults import classify

CHECKPOINT_INTERVAL_S = 1.0
LEAK_OPERATOR = "leak-report"  # who revokes a key after a signed leak report, in the audit log


class VerificationBackend:
    def __init__(self, home=None, *, operator: str):
        self.ctx = Context.open(home, operator=operator)
        self.ctx.close()  # reopened on the loop thread by OnLoop, with its own settings
        self.verifier = Verifier(self.ctx)
        self._loop = OnLoop(self.ctx.db)
        self._maintenance = DatabaseThreads(self.ctx.db, 1, "keytui-maintenance")

    def now_ms(self) -> int:
        return self.ctx.clock.now_ms()

    async def on_loop(self, fn, *args):
        """Run `fn(*args)` on the event loop's own connection (short lock waits; see OnLoop)."""
        return await self._loop.run(fn, *args)

    async def canary_cooling(self) -> bool:
        """Does the policy have the gateway cool off an address that presented a canary token?"""
        return await self._loop.run(lambda: bool(policies.read(self.ctx, "canary_cooling")))

    async def leak_report(self, data, body_digest: str) -> list[dict]:
        """Act on a leak report whose signature the gateway checked (leaks.handle_signed_report),
        on the maintenance thread, as the operator `leak-report`; ReplayedReport if seen before."""
        return await self._maintenance.run(leaks.handle_signed_report, self.ctx.as_operator(LEAK_OPERATOR), data,
                                           body_digest)
    def explain(self, exc: BaseException) -> StoreUnavailable | None:
        """The store fault behind `exc` (full, locked, damaged...), in the words every face uses."""
        return classify(exc, self.ctx.where)

    async def health(self) -> None:
        """Raises (StoreUnavailable when it is a store fault) if the database cannot answer a query."""
        try:
            await self._maintenance.run(lambda: self.ctx.db.execute_sql("SELECT 1").fetchone())
        except Exception as exc:
            raise self.explain(exc) or exc

    async def checkpoint(self) -> None:
        await self._maintenance.run(checkpoint, self.ctx.db)

    def close(self) -> None:
        self._maintenance.close()
        self._loop.close()
