"""The replay adapter: candle files replayed by the local exchange in this process, reached over HTTP and WebSocket
as Binance is, on the replayed market time."""

from __future__ import annotations

import asyncio
import logging
import time
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ictbot.data.frame import iso
from ictbot.data.loaders import load_candles
from ictbot.exchange.server import LocalExchange
from ictbot.runtime.supervisor import StageContext, StageFactory
from ictbot.venues.binance import VenueConnection

if TYPE_CHECKING:
    from ictbot.runtime.engine import Engine

log = logging.getLogger("ictbot.engine")
END_CHECK_S = 0.5  # wall seconds between looks at whether the replay has ended
CAUGHT_UP_CHECK_S = 0.1  # wall seconds between looks at whether the pipeline has taken the last candle


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
        self, paths: list[Path], warmup: int, balance: Decimal, speed: float, stop_at_end: bool, clock: ReplayClock
    ) -> None:
        self._paths = paths
        self._balance = balance
        self._stop_at_end = stop_at_end
        self.warmup_candles = warmup
        self.speed = speed
        self.clock = clock  # the engine's market clock: this source makes it run on the replayed time
        self.exchange: LocalExchange | None = None
        self.start_ms = 0

    async def open(self) -> VenueConnection:
        frames = [load_candles(path) for path in self._paths]
        self.exchange = await LocalExchange(frames, warmup=self.warmup_candles, balance=self._balance).start()
        self.clock.attach(self.exchange)
        self.start_ms = int(self.exchange.replay.now)
        log.info("local exchange replaying %s on %s", ", ".join(f.symbol or "?" for f in frames),
                 self.exchange.rest_url)  # fmt: skip
        return VenueConnection(self.exchange.ccxt_config(), False, self.exchange.ws_url)

    def start(self) -> None:
        assert self.exchange is not None
        self.exchange.start_clock(self.speed)

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

    async def close(self) -> None:
        if self.exchange is not None:
            await self.exchange.stop()
