"""The market-data and pipeline stages: closed klines from the venue's WebSocket through the pipeline, at once
inside the WebSocket handler when possible, else queued; REST backfill of any gap; the warm-up before trading.

``market-data`` runs the kline stream; ``pipeline`` takes what the immediate path declined (klines after a gap, or
while it was busy or down) and re-raises the immediate path's failures so the supervisor sees them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ictbot.data.frame import iso
from ictbot.domain import Candle, Timeframe
from ictbot.runtime.supervisor import StageContext
from ictbot.runtime.waiting import wait_for
from ictbot.venues.binance import ClosedKline

if TYPE_CHECKING:
    from ictbot.runtime.engine import Engine

log = logging.getLogger("ictbot.engine")
BASE = Timeframe.M1
IDLE_POLL_S = 1.0  # wall seconds the pipeline stage waits for a queued kline before it beats anyway


@dataclass(frozen=True, slots=True)
class _Failed:
    """An exception of the immediate path, carried to the pipeline stage."""

    error: Exception


class CandleFeed:
    """Closed base candles of every symbol into the engine's pipeline, in order, none missed, none twice."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._pipeline_beat: Callable[[], None] = lambda: None
        self._stage_running = False
        self._stage_busy = False
        self._quiet_turn = False  # the writer holds routine records for the klines of this event-loop turn
        self._last_equity_time = -1

    async def warm_up(self) -> None:
        """Closed history through the candle book and the strategy (no trading), so detectors start informed."""
        e = self._engine
        assert e.market is not None and e.pipeline is not None
        for symbol in e.settings.symbols:
            candles = await e.market.closed_candles(symbol, BASE, None, e.source.warmup_candles)
            for candle in candles:
                e.pipeline.warm_up(symbol, candle)
            self._mark_fresh(symbol)
            log.info("%s: warmed up on %d closed %s candles", symbol, len(candles), BASE)

    def _mark_fresh(self, symbol: str) -> None:
        """Tell readiness about the newest closed candle of every stream of ``symbol`` the book holds."""
        e = self._engine
        assert e.pipeline is not None and e.health is not None
        now = e.clock.now_ms()
        for tf in {BASE, *e.settings.timeframes}:
            closed = e.pipeline.book.closed(symbol, tf)
            if closed.shape[1]:
                e.health.mark_candle(symbol, tf, int(closed[0, -1]), now)

    async def stream_stage(self, ctx: StageContext) -> None:
        """The ``market-data`` stage: the kline WebSocket of every symbol."""
        market = self._engine.market
        assert market is not None
        market.closed.put_nowait(None)  # wakes the pipeline stage, which then checks for a gap
        await market.stream(self._engine.settings.symbols, BASE, ctx.beat)

    async def pipeline_stage(self, ctx: StageContext) -> None:
        """The ``pipeline`` stage: queued klines (those after a gap, backfilled first, those that came while this
        stage was busy or down) and failures of the immediate path, re-raised here so the supervisor sees them."""
        e = self._engine
        assert e.market is not None and e.pipeline is not None
        self._stage_running = True
        self._pipeline_beat = ctx.beat
        try:
            while True:
                try:
                    item = await wait_for(e.market.closed.get(), e.clock, IDLE_POLL_S * e.source.speed)
                except TimeoutError:  # nothing arrived: still alive; a stale stream shows in readiness instead
                    ctx.beat()
                    continue
                ctx.beat()
                if isinstance(item, _Failed):
                    raise item.error
                if item is None:
                    continue
                self._stage_busy = True
                await self._backfill_gap(item)
                self._process(item.symbol, item.candle, item.arrived_ns)
                self._stage_busy = False
        finally:
            self._stage_running = self._stage_busy = False

    def take_now(self, kline: ClosedKline) -> bool:
        """Process a closed kline inside the WebSocket handler, so it never waits behind other symbols' messages.

        Declined (left to the pipeline stage) when that stage is down or busy, something is already queued (order
        must hold), or the kline follows a gap (REST backfill first)."""
        e = self._engine
        assert e.market is not None and e.pipeline is not None
        if not self._stage_running or self._stage_busy or not e.market.closed.empty():
            return False
        if not self._quiet_turn:  # routine records wait until this turn's klines (and their entries) are done
            self._quiet_turn = True
            e.recording.writer.quiet()
            asyncio.get_running_loop().call_soon(self._end_quiet_turn)
        last = e.pipeline.book.last_open_time(kline.symbol)
        if last is not None and kline.candle.open_time > last + BASE.ms:
            return False
        try:
            self._process(kline.symbol, kline.candle, kline.arrived_ns)
        except Exception as exc:  # handed to the pipeline stage, whose crash the supervisor handles
            e.market.closed.put_nowait(_Failed(exc))
        else:
            self._pipeline_beat()  # the stage's work, done on its behalf
        if e.execution.leaving:
            e.market.hold()  # orders before data: the rest of this burst waits until the entry's request is out
        return True

    def _end_quiet_turn(self) -> None:
        self._quiet_turn = False
        self._engine.recording.writer.resume()

    async def _backfill_gap(self, kline: ClosedKline) -> None:
        """Fetch by REST any base candle missed before this one (a reconnect, a stall), oldest first."""
        e = self._engine
        assert e.market is not None and e.pipeline is not None
        last = e.pipeline.book.last_open_time(kline.symbol)
        if last is None or kline.candle.open_time <= last + BASE.ms:
            return
        missed = (kline.candle.open_time - last) // BASE.ms - 1
        # Exactly the missed candles: Binance (and ccxt's throttle) weigh a klines request by its limit, so asking
        # for a full page after a one-candle gap would cost ten times the weight and hold the next symbol's backfill.
        missing = await e.market.closed_candles(kline.symbol, BASE, last + BASE.ms, missed)
        recovered = [c for c in missing if last < c.open_time < kline.candle.open_time]
        log.warning(
            "%s: %d candle(s) missed before %s, %d recovered by REST",
            kline.symbol,
            missed,
            iso(kline.candle.open_time),
            len(recovered),
        )
        for candle in recovered:
            self._process(kline.symbol, candle, time.perf_counter_ns())

    def _process(self, symbol: str, candle: Candle, arrived_ns: int) -> None:
        e = self._engine
        assert e.pipeline is not None and e.health is not None
        e.recording.arrived_ns = arrived_ns
        closed = e.pipeline.on_base_candle(symbol, candle)
        self.note_cancelled()
        if not closed:
            return
        e.processing.append(time.perf_counter_ns() - arrived_ns)
        now = e.clock.now_ms()
        entry = e.settings.strategy.entry_timeframe
        for tf, closed_candle in closed:
            e.counters.candle(symbol, tf)
            e.health.mark_candle(symbol, tf, closed_candle.open_time, now)
            if tf is entry:
                log.info("%s %s candle %s closed at %s", symbol, tf, iso(closed_candle.open_time), closed_candle.close)
        if candle.open_time != self._last_equity_time and e.recorder is not None:
            self._last_equity_time = candle.open_time
            e.recording.record_equity(candle.open_time + BASE.ms, e.pipeline.equity())

    def note_cancelled(self) -> None:
        """Record the entries the broker cancelled unfilled since the last look."""
        e = self._engine
        assert e.pipeline is not None
        cancelled = e.pipeline.broker.take_cancelled()
        if cancelled:
            e.recording.record_cancelled(cancelled)
