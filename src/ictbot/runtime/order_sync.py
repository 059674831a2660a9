"""Reconciliation with the venue: at start, after a user-stream reconnect or a failed order job, and every
``ORDER_SYNC_S`` seconds, so drift between the account and the bot never lasts. Trading runs only while the last
reconciliation succeeded."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from ictbot.errors import VenueError
from ictbot.execution.orders import OrderManager
from ictbot.execution.reconcile import reconcile
from ictbot.kernel.clock import Clock
from ictbot.kernel.pipeline import Pipeline
from ictbot.runtime.halts import AutoHalts
from ictbot.runtime.health import Health
from ictbot.runtime.supervisor import StageContext, StageFactory
from ictbot.runtime.waiting import wait_for
from ictbot.storage import EventKind

log = logging.getLogger("ictbot.engine")
ORDER_SYNC_S = 60.0  # wall seconds between periodic reconciliations


class Reconciler:
    """Compares the venue's account with the bot's, repairs, and halts trading while they disagree."""

    def __init__(
        self,
        orders: OrderManager,
        symbols: list[str],
        pipeline: Pipeline,
        health: Health,
        halts: AutoHalts,
        clock: Clock,
        record_event: Callable[[EventKind, str], None],
    ) -> None:
        self._orders = orders
        self._symbols = symbols
        self._pipeline = pipeline
        self._health = health
        self._halts = halts
        self._clock = clock
        self._record_event = record_event
        self.soon = asyncio.Event()  # set to reconcile at once (a failed order job)

    async def reconcile(self, *, apply_fills: bool) -> bool:
        """Compare with the venue and repair; True when the account and the bot agree."""
        try:
            report = await reconcile(self._orders, self._symbols, apply_fills=apply_fills)
        except VenueError as exc:
            problem = f"reconciliation failed: {exc}"
        else:
            self._pipeline.portfolio.adopt(report.wallet, report.positions, self._clock.now_ms())
            problem = "" if report.ok else "reconciliation: " + "; ".join(report.problems)
            log.log(logging.INFO if report.ok else logging.ERROR, "reconciled with the venue: %s", report.summary())
            self._record_event(EventKind.RECONCILIATION, report.summary())
        if problem:
            self._health.mark_unreconciled(problem)
            self._halts.halt("reconciliation", problem)
            log.error("trading HALTED until reconciliation succeeds: %s", problem)
            return False
        self._health.mark_reconciled(self._clock.now_ms())
        self._halts.lift("reconciliation", "reconciliation succeeded")
        return True

    def stage(self, period_s: float) -> StageFactory:
        """The ``order-sync`` stage: a reconciliation every ``period_s`` seconds of the clock, and at once when
        ``soon`` is set."""

        async def order_sync(ctx: StageContext) -> None:
            while True:
                with contextlib.suppress(TimeoutError):
                    await wait_for(self.soon.wait(), self._clock, period_s)
                self.soon.clear()
                await self.reconcile(apply_fills=True)
                ctx.beat()

        return order_sync
