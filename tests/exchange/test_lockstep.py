"""Lockstep replay: the local exchange's clock moves past an event only once the gate says the bot has reacted, and
a bot that never answers stops the replay with a clear error after the bounded wait."""

from __future__ import annotations

import asyncio
import math

import pytest

from ictbot.exchange import LocalExchange
from ictbot.exchange.lockstep import LockstepTimeout

WARMUP = 300


async def test_the_clock_waits_at_each_closed_candle_until_the_gate_opens(btc_frame):
    async with LocalExchange([btc_frame], warmup=WARMUP) as ex:
        start = ex.replay.now
        entered = asyncio.Queue()
        release = asyncio.Event()

        async def gate(delivered):
            await entered.put(delivered())
            await release.wait()
            release.clear()

        ex.start_clock(math.inf, gate, gate_timeout_s=30)
        assert (await asyncio.wait_for(entered.get(), 10)).closed == {}  # first: the bot listens, nothing closed yet
        release.set()
        first = await asyncio.wait_for(entered.get(), 10)
        # held at the first candle's close however fast the clock may run: 15:33 + 300 candles = 20:33 UTC
        assert first.closed == {"BTCUSDT": int(btc_frame.open_time[WARMUP])}
        assert ex.replay.now == start + 60_000
        release.set()
        second = await asyncio.wait_for(entered.get(), 10)
        assert second.closed == {"BTCUSDT": int(btc_frame.open_time[WARMUP + 1])}


async def test_a_bot_that_never_answers_stops_the_replay_with_the_reason(btc_frame):
    async with LocalExchange([btc_frame], warmup=WARMUP) as ex:
        start = ex.replay.now

        async def never(delivered):
            await asyncio.Event().wait()

        ex.start_clock(math.inf, never, gate_timeout_s=0.05)
        with pytest.raises(LockstepTimeout, match=r"did not finish reacting to it within 0\.05 s.*replay.lockstep"):
            await asyncio.wait_for(ex.wait_finished(), 10)
        assert ex.replay.now == start  # nothing was replayed past the unanswered event
        assert not ex.replay.finished
