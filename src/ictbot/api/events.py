"""Bot events as JSON for the live stream and the notifiers: what the pipeline decided, fills, readiness changes,
task crashes, trading-state changes, control actions and newly closed candles.

Publishing never blocks and never raises into the caller: the pipeline calls in here on its hot path.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ictbot.api.serialize import candle_dict, fill_dict, money
from ictbot.domain import Fill, OrderIntent, Rejection, Signal
from ictbot.runtime.counters import stream_name
from ictbot.runtime.health import Readiness
from ictbot.runtime.supervisor import StageState

if TYPE_CHECKING:
    from ictbot.runtime.engine import Engine

log = logging.getLogger("ictbot.api")
Event = dict[str, Any]
Sink = Callable[[Event], None]


class EventHub:
    """Fan-out to WebSocket clients (bounded queues: a slow client loses its oldest events) and to sinks."""

    def __init__(self, client_queue: int = 500, recent: int = 200) -> None:
        self._client_queue = client_queue
        self._clients: set[asyncio.Queue[Event | None]] = set()
        self._sinks: list[Sink] = []
        self.recent: deque[Event] = deque(maxlen=recent)

    def add_sink(self, sink: Sink) -> None:
        self._sinks.append(sink)

    def subscribe(self) -> asyncio.Queue[Event | None]:
        """A client's queue of events; ``None`` marks the end of the stream."""
        queue: asyncio.Queue[Event | None] = asyncio.Queue(self._client_queue)
        self._clients.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[Event | None]) -> None:
        self._clients.discard(queue)

    def close(self) -> None:
        """Tell every client the stream ends (the server is stopping)."""
        for queue in self._clients:
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(None)

    def publish(self, kind: str, time_ms: int, **data: Any) -> Event:
        event = {"type": kind, "time": time_ms, "data": data}
        self.recent.append(event)
        for queue in self._clients:
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(event)
        for sink in self._sinks:
            try:
                sink(event)
            except Exception:
                log.exception("event sink %r failed; trading continues", sink)
        return event


class EngineWatcher:
    """Turns what the engine does into events: a pipeline listener, a readiness listener, and a ``poll`` for what
    has no callback (stage crashes, trading state, newly closed candles)."""

    def __init__(self, engine: Engine, hub: EventHub) -> None:
        self._engine = engine
        self._hub = hub
        self._crashes: dict[str, tuple[int, StageState]] = {}
        self._trading_state: str | None = None
        self._newest: dict[tuple[str, str], int] = {}

    def _now(self) -> int:
        return self._engine.clock.now_ms()

    def on_decision(self, signal: Signal, decision: OrderIntent | Rejection) -> None:
        base = {
            "symbol": signal.symbol,
            "side": signal.side.value,
            "entry": money(signal.entry),
            "stop": money(signal.stop),
            "target": money(signal.target),
            "reason": signal.reason,
        }
        if isinstance(decision, Rejection):
            self._hub.publish("rejection", decision.time, **base, rejection=decision.reason, detail=decision.detail)
        else:
            quantity = money(decision.quantity)
            self._hub.publish(
                "signal", signal.created_at, **base, client_order_id=decision.client_order_id, quantity=quantity
            )

    def on_fill(self, fill: Fill) -> None:
        self._hub.publish("fill", fill.time, **fill_dict(fill))

    def on_readiness(self, current: Readiness, previous: Readiness | None) -> None:
        if previous is None and current.ready:
            return
        self._hub.publish(
            "readiness",
            current.checked_at_ms,
            ready=current.ready,
            failing=list(current.failing),
            degraded=list(current.degraded),
            checks=[c.to_dict() for c in current.checks if not c.ok],
        )

    def control(self, action: str, source: str, detail: str) -> None:
        self._hub.publish("control", self._now(), action=action, source=source, detail=detail)

    def poll(self) -> None:
        self._poll_stages()
        self._poll_trading_state()
        self._poll_candles()

    def _poll_stages(self) -> None:
        assert self._engine.supervisor is not None
        for status in self._engine.supervisor.statuses(self._now()):
            seen = self._crashes.get(status.name, (0, StageState.PENDING))
            crashed = status.restarts > seen[0] or (
                status.state in (StageState.BACKING_OFF, StageState.FAILED) and status.state is not seen[1]
            )
            self._crashes[status.name] = (status.restarts, status.state)
            if crashed:
                self._hub.publish(
                    "task_crash",
                    self._now(),
                    task=status.name,
                    state=status.state.value,
                    restarts=status.restarts,
                    error=status.last_error,
                    critical=status.critical,
                )

    def _poll_trading_state(self) -> None:
        assert self._engine.pipeline is not None
        gate = self._engine.pipeline.gate
        state = gate.state.value
        if state != self._trading_state:
            if self._trading_state is not None:
                self._hub.publish("trading_state", self._now(), state=state, reason=gate.state_reason)
            self._trading_state = state

    def _poll_candles(self) -> None:
        assert self._engine.pipeline is not None
        book = self._engine.pipeline.book
        for symbol in self._engine.settings.symbols:
            for tf in book.timeframes:
                closed = book.closed(symbol, tf)
                if not closed.shape[1]:
                    continue
                newest = int(closed[0, -1])
                key = (symbol, tf.value)
                if self._newest.get(key) != newest:
                    self._newest[key] = newest
                    self._hub.publish(
                        "candle",
                        self._now(),
                        stream=stream_name((symbol, tf)),
                        symbol=symbol,
                        timeframe=tf.value,
                        candle=candle_dict(closed[:, -1]),
                    )
