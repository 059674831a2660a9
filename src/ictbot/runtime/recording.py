"""What the running bot writes down: each decision, fill, position and trade, on one writer thread in arrival order.

The pipeline reports to it as a listener; the order manager queues its own records through ``persist``, ahead of the
routine ones. Recording never stops trading: a failed write is logged.

Equity snapshots (one per candle: hundreds a second in a fast replay) are buffered and written together: the first
point queues one routine write, and the points that arrive before it runs join it, all in one transaction
(``Recorder.record_equity_many``). A point may so be written ahead of routine records queued before it, never after
a write queued after it: whatever waits for the writer (``Engine.records_written``, shutdown's drain) sees it.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from typing import Any

from ictbot.domain import Fill, OrderIntent, Position, Rejection, Signal
from ictbot.kernel.pipeline import Pipeline
from ictbot.kernel.samples import Samples
from ictbot.portfolio.ledger import Trade
from ictbot.runtime.counters import Counters
from ictbot.storage import OrderState, Recorder
from ictbot.storage.writer import RecordWriter

log = logging.getLogger("ictbot.engine")


class Recording:
    """Pipeline listener that counts and records decisions and fills, writing from one thread in arrival order."""

    def __init__(self, recorder: Recorder | None, counters: Counters, latencies: Samples) -> None:
        self.pipeline: Pipeline | None = None
        self._recorder = recorder
        self._counters = counters
        self._latencies = latencies
        # queued routine records share a commit; an order's write is always its own
        self.writer = RecordWriter(group=recorder.grouped if recorder is not None else None)
        self.arrived_ns = 0
        # The simulated account: fills are recorded and order latency measured here. On the venue the order manager
        # records fills (with the venue's trade ids) and measures latency when the request leaves.
        self.simulated_broker = True
        self._equity_lock = threading.Lock()
        self._equity: list[tuple[int, Decimal]] = []  # points not yet taken by the queued equity write
        self._equity_queued = False

    def on_decision(self, signal: Signal, decision: OrderIntent | Rejection) -> None:
        self._counters.signal()
        if isinstance(decision, Rejection):
            self._counters.rejection(decision.reason)
            log.info(
                "signal %s %s rejected: %s (%s)", signal.symbol, signal.side.value, decision.reason, decision.detail
            )
        else:
            self._counters.order()
            if self.simulated_broker:
                self._latencies.append(time.perf_counter_ns() - self.arrived_ns)
            log.info(
                "order %s %s %s %s @ %s stop %s target %s — %s",
                decision.client_order_id,
                decision.symbol,
                decision.side.value,
                decision.quantity,
                decision.price,
                decision.stop,
                decision.target,
                signal.reason,
            )
        self.record(self._record_decision, signal, decision)

    def on_fill(self, fill: Fill) -> None:
        self._counters.fill()
        log.info("fill %s %s %s %s @ %s (%s)", fill.client_order_id, fill.symbol, fill.side.value, fill.quantity,
                 fill.price, fill.reason)  # fmt: skip
        assert self.pipeline is not None
        if self.simulated_broker:
            self.record(self._record_fill, fill, self.pipeline.last_realized)
        position = replace(self.pipeline.portfolio.position(fill.symbol))
        self.record(self._record_position, position, fill.time)
        if self.pipeline.last_closed is not None:
            self.record(self._record_trade, self.pipeline.last_closed)

    def persist(self, method: Callable[..., Any], *args: Any, **kwargs: Any) -> asyncio.Future[Any]:
        """Queue an order manager's recorder call on the writer thread, ahead of queued routine records; awaiting the
        answer waits for it to be on disk and raises its failure, never swallows it."""
        return asyncio.wrap_future(self.writer.submit(method, *args, urgent=True, **kwargs))

    def record_equity(self, time: int, equity: Decimal) -> None:
        """An equity snapshot, written with the others that arrive before the writer gets to it; from any thread."""
        if self._recorder is None:
            return
        with self._equity_lock:  # queued under the lock: no write queued after this call can run before the point
            if not self._equity_queued:
                self.record(self._record_equity)  # raises if the writer is closed, before the point is kept
                self._equity_queued = True
            self._equity.append((time, equity))

    def close(self) -> None:
        """Write everything queued, buffered equity included, then stop the writer."""
        self.writer.close()

    def _record_equity(self) -> None:
        with self._equity_lock:
            points, self._equity, self._equity_queued = self._equity, [], False
        assert self._recorder is not None
        self._recorder.record_equity_many(points)

    def _record_position(self, position: Position, time: int) -> None:
        assert self._recorder is not None
        self._recorder.record_position(position, time)

    def _record_trade(self, trade: Trade) -> None:
        assert self._recorder is not None
        self._recorder.record_trade(trade)

    def record_cancelled(self, intents: list[OrderIntent]) -> None:
        """Simulated entries cancelled unfilled (their time ran out, or an operator closed the symbol)."""
        for intent in intents:
            self.record(self._record_cancelled, intent.client_order_id)

    def _record_cancelled(self, client_order_id: str) -> None:
        assert self._recorder is not None
        self._recorder.record_order_transition(client_order_id, OrderState.CANCELLED, {"reason": "cancelled unfilled"})

    def record(self, method: Callable[..., object], *args: object) -> None:
        """Run a recorder call on the writer thread; a no-op without a recorder."""
        if self._recorder is not None:
            self.writer.submit(_logged, method, *args)

    def _record_decision(self, signal: Signal, decision: OrderIntent | Rejection) -> None:
        assert self._recorder is not None
        self._recorder.record_signal(signal, decision)
        if not self.simulated_broker:
            return  # the order manager records the intent itself, before it sends it
        if isinstance(decision, OrderIntent):
            self._recorder.record_intent(decision)
            self._recorder.record_order_transition(decision.client_order_id, OrderState.ACKNOWLEDGED)

    def _record_fill(self, fill: Fill, realized: Decimal) -> None:
        """A simulated fill: the order it filled (an exit's intent is recorded as it happens) and the fill."""
        assert self._recorder is not None
        if fill.reason == "entry":
            self._recorder.record_order_transition(fill.client_order_id, OrderState.FILLED, at=fill.time)
        else:
            exit_id = f"{fill.client_order_id}-{fill.reason}"
            order_type = {"target": "LIMIT", "stop": "STOP_MARKET"}.get(fill.reason, "MARKET")
            purpose = {"target": "take_profit", "stop": "stop_loss"}.get(fill.reason, "exit")
            self._recorder.record_exit_intent(
                exit_id, fill.symbol, fill.side, order_type, purpose=purpose, quantity=fill.quantity,
                parent_client_order_id=fill.client_order_id, at=fill.time,
            )  # fmt: skip
            fill = replace(fill, client_order_id=exit_id)
            self._recorder.record_order_transition(exit_id, OrderState.FILLED, at=fill.time)
        self._recorder.record_fill(fill, realized_pnl=realized)


def _logged(method: Callable[..., object], *args: object) -> None:
    try:
        method(*args)
    except Exception:
        log.exception("recording %s failed; trading continues", getattr(method, "__name__", method))
