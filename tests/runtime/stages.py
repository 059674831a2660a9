"""Stage helpers for the runtime tests; they only ever wait on the test's clock or forever, never in real time."""

from __future__ import annotations

import asyncio

from ictbot.domain import Timeframe
from ictbot.runtime import Health, StageContext

START_MS = 1_709_251_200_000  # 2024-03-01 00:00:00 UTC


def beating_every(seconds: float):
    """A stage that beats, then waits ``seconds`` on the clock, forever."""

    async def stage(ctx: StageContext) -> None:
        while True:
            ctx.beat()
            await ctx.clock.sleep(seconds)

    return stage


async def wait_forever(ctx: StageContext) -> None:
    """A stage that starts, never beats and never finishes: a hung task."""
    await asyncio.Event().wait()


class Feed:
    """A 1m kline feed: a second after each minute closes it reports the closed candle, unless stalled."""

    def __init__(self, health: Health, symbols: list[str]) -> None:
        self.health = health
        self.symbols = symbols
        self.stalled = False
        self.last_close_ms: int | None = None

    async def run(self, ctx: StageContext) -> None:
        while True:
            ctx.beat()
            now_ms = ctx.clock.now_ms()
            next_close_ms = now_ms - now_ms % Timeframe.M1.ms + Timeframe.M1.ms
            await ctx.clock.sleep((next_close_ms + 1000 - now_ms) / 1000)
            now_ms = ctx.clock.now_ms()
            self.health.mark_venue_ok(now_ms)
            if self.stalled:
                continue
            for symbol in self.symbols:
                self.health.mark_candle(symbol, Timeframe.M1, next_close_ms - Timeframe.M1.ms, now_ms)
                ctx.counters.candle(symbol, Timeframe.M1)
            self.last_close_ms = next_close_ms
