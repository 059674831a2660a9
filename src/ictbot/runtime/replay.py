"""The replay adapter: candle files replayed by the local exchange in this process, reached over HTTP and WebSocket
as Binance is, on the replayed market time."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ictbot.data.frame import iso
from ictbot.data.loaders import load_candles
from ictbot.domain import Timeframe
from ictbot.exchange.lockstep import Delivered, LockstepTimeout
from ictbot.exchange.server import LocalExchange
from ictbot.runtime.supervisor import StageContext, StageFactory
from ictbot.venues.binance import VenueConnection

if TYPE_CHECKING:
    from ictbot.runtime.engine import Engine

log = logging.getLogger("ictbot.engine")
END_CHECK_S = 0.5  # wall seconds between looks at whether the replay has ended
CAUGHT_UP_CHECK_S = 0.1  # wall seconds between looks at whether the pipeline has taken the last candle
BASE = Timeframe.M1
GATE_SPINS = 50  # loop turns a lockstep gate looks again at once (loopback answers come within a few) ...
GATE_POLL_S = 0.001  # ... before it looks once a wall millisecond


class ReplayClock:
    """Market time of an in-process replay: ``now_ms`` is the replayed time, ``sleep`` lasts market seconds (the
    replay's speed makes them shorter in real time). The composition builds it and hands it to the engine and the
    replay source; the source attaches the exchange once it runs (until then the time is the wall clock's)."""

    def __init__(self, speed: float) -> None:
        self._exchange: LocalExchange | None = None
        self._speed = speed

    def attach(self, exchange: LocalExchange) -> None:
        """From now on, time is what ``exchange`` replays."""
        self._exchange = exchange

    def now_ms(self) -> int:
        if self._exchange is None:
            return time.time_ns() // 1_000_000
        return int(self._exchange.replay.now)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds / self._speed)


class ReplaySource:
    """Market data from candle files (the bundled sample when none is given), served by the local exchange."""

    name = "local exchange"

    def __init__(
        self, paths: list[Path], warmup: int, balance: Decimal, speed: float, stop_at_end: bool,
        clock: ReplayClock, lockstep: bool = False, lockstep_timeout_s: float = 60.0, slippage_ticks: int = 0,
    ) -> None:  # fmt: skip
        """``slippage_ticks``: price steps the exchange's market fills are worse (the backtest's assumption, so that
        both book a market order alike)."""
        self._paths = paths
        self._balance = balance
        self._stop_at_end = stop_at_end
        self._lockstep, self._lockstep_timeout_s = lockstep, lockstep_timeout_s
        self._slippage_ticks = slippage_ticks
        self._engine: Engine | None = None
        self._stop: asyncio.Event | None = None
        self._watcher: asyncio.Task[None] | None = None
        self.failure: Exception | None = None
        self.warmup_candles = warmup
        self.speed = speed
        self.clock = clock  # the engine's market clock: this source makes it run on the replayed time
        self.exchange: LocalExchange | None = None
        self.start_ms = 0

    async def open(self) -> VenueConnection:
        frames = [load_candles(path) for path in self._paths]
        self.exchange = await LocalExchange(
            frames, warmup=self.warmup_candles, balance=self._balance, slippage_ticks=self._slippage_ticks
        ).start()
        self.clock.attach(self.exchange)
        self.start_ms = int(self.exchange.replay.now)
        log.info("local exchange replaying %s on %s", ", ".join(f.symbol or "?" for f in frames),
                 self.exchange.rest_url)  # fmt: skip
        return VenueConnection(self.exchange.ccxt_config(), False, self.exchange.ws_url)

    def start(self) -> None:
        assert self.exchange is not None
        gate = self.bot_caught_up if self._lockstep else None
        self.exchange.start_clock(self.speed, gate, self._lockstep_timeout_s)
        if self._stop is not None:
            self._watcher = asyncio.create_task(self._watch_clock())

    async def bot_caught_up(self, delivered: Callable[[], Delivered]) -> None:
        """The lockstep gate: until the bot has taken every candle the exchange closed, acted on every user-stream
        event it sent, and has no order request or job in flight."""
        spins = 0
        while not self._caught_up(delivered()):
            spins += 1
            await asyncio.sleep(0 if spins < GATE_SPINS else GATE_POLL_S)

    def _caught_up(self, sent: Delivered) -> bool:
        engine = self._engine
        assert engine is not None and engine.pipeline is not None and engine.market is not None
        book, execution = engine.pipeline.book, engine.execution
        if execution.orders is not None and not sent.user_connections:
            return False
        for symbol in engine.settings.symbols:
            if f"{symbol.lower()}@kline_{BASE.binance}" not in sent.streams:
                return False
            last = book.last_open_time(symbol)
            if symbol in sent.closed and (last is None or last < sent.closed[symbol]):
                return False
        return engine.market.closed.empty() and execution.user_events_handled >= sent.user_events and execution.idle

    def progress(self) -> dict[str, Any] | None:
        """Market time, % of the replayed history done, wall seconds left at this speed."""
        if self.exchange is None:
            return None
        replay, speed = self.exchange.replay, self.speed
        now, span = int(replay.now), max(1, replay.end - self.start_ms)
        done = min(100.0, max(0.0, 100 * (now - self.start_ms) / span))
        return {
            "market_time": iso(now),
            "progress_pct": round(done, 1),
            "eta_seconds": round(max(0, replay.end - now) / 1000 / speed, 1),
            "speed": speed,
        }

    def end_stage(self, engine: Engine, stop: asyncio.Event) -> StageFactory | None:
        self._engine, self._stop = engine, stop
        if not self._stop_at_end:
            return None

        async def replay_end(ctx: StageContext) -> None:
            """Stop the bot once the replay has delivered its last candle and the pipeline has taken it."""
            assert self.exchange is not None and engine.pipeline is not None
            replay, book = self.exchange.replay, engine.pipeline.book
            while not replay.finished:
                await self.clock.sleep(END_CHECK_S * self.speed)
                ctx.beat()
            last = {symbol: int(feed.frame.open_time[-1]) for symbol, feed in replay.feeds.items()}
            while any(book.last_open_time(symbol) != t for symbol, t in last.items()):
                await self.clock.sleep(CAUGHT_UP_CHECK_S * self.speed)
            log.info("replay finished: every candle of the replayed history has been traded; stopping")
            stop.set()
            await asyncio.Event().wait()

        return replay_end

    async def _watch_clock(self) -> None:
        """A lockstep clock that stopped because the bot did not answer stops the bot, with the reason."""
        assert self.exchange is not None and self._stop is not None
        try:
            await self.exchange.wait_finished()
        except LockstepTimeout as exc:
            log.error("%s", exc)
            self.failure = exc
            self._stop.set()

    async def close(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
        if self.exchange is not None:
            await self.exchange.stop()
