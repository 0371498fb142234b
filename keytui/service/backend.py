"""The service as a server needs it: verification batches on the event loop's own connection,
health and checkpoints on a maintenance thread off the request path.

The gateway's group commit checks and records each batch through `on_loop` (see
keytui.store.connections for why on the loop), so a face serving HTTP never handles a
connection or SQL itself.
"""

from __future__ import annotations

from keytui.service.context import Context
from keytui.service.verification import Verifier
from keytui.store.connections import DatabaseThreads, OnLoop, checkpoint

CHECKPOINT_INTERVAL_S = 1.0


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

    async def health(self) -> None:
        """Raises if the database cannot answer a query."""
        await self._maintenance.run(lambda: self.ctx.db.execute_sql("SELECT 1").fetchone())

    async def checkpoint(self) -> None:
        await self._maintenance.run(checkpoint, self.ctx.db)

    def close(self) -> None:
        self._maintenance.close()
        self._loop.close()
