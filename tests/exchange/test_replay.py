"""Replay: warm-up history, the documented intra-candle path, and every candle streamed exactly once, closed."""

from __future__ import annotations

import asyncio
import json
import math
from decimal import Decimal

import aiohttp
import numpy as np

from ictbot.data.frame import CandleFrame
from ictbot.exchange import LocalExchange
from ictbot.exchange.replay import MarketReplay

from .binance_http import call
from .conftest import WARMUP


def test_bullish_candles_go_low_first_and_bearish_high_first(btc_frame: CandleFrame) -> None:
    feed = MarketReplay([btc_frame], WARMUP).feeds["BTCUSDT"]
    for i in range(50):
        o, h, lo, c = (
            feed.price(float(a[i])) for a in (btc_frame.open, btc_frame.high, btc_frame.low, btc_frame.close)
        )
        assert feed.path(i) == ([o, lo, h, c] if c >= o else [o, h, lo, c])


async def test_warmup_candles_are_history_at_start(exchange: LocalExchange, btc_frame: CandleFrame) -> None:
    rows = (await call(exchange, "GET", "/fapi/v1/klines", symbol="BTCUSDT", interval="1m", limit=1500)).body
    closed, in_progress = rows[:-1], rows[-1]
    assert len(closed) == WARMUP
    assert [r[0] for r in closed] == btc_frame.open_time[:WARMUP].tolist()
    assert [float(r[4]) for r in closed] == btc_frame.close[:WARMUP].tolist()
    assert in_progress[0] == int(btc_frame.open_time[WARMUP])
    assert closed[0][6] == closed[0][0] + 59_999


async def test_klines_aggregate_to_higher_intervals(exchange: LocalExchange, btc_frame: CandleFrame) -> None:
    rows = (await call(exchange, "GET", "/fapi/v1/klines", symbol="BTCUSDT", interval="5m", limit=10)).body
    for row in rows[:-1]:
        inside = (btc_frame.open_time >= row[0]) & (btc_frame.open_time < row[0] + 300_000)
        assert float(row[2]) == np.max(btc_frame.high[inside])
        assert float(row[3]) == np.min(btc_frame.low[inside])
        assert math.isclose(float(row[5]), float(np.sum(btc_frame.volume[inside])), rel_tol=1e-9)


async def test_kline_stream_emits_every_candle_once_closed_and_in_order(btc_frame: CandleFrame) -> None:
    frame = btc_frame.slice(0, WARMUP + 40)
    async with LocalExchange([frame], warmup=WARMUP) as ex, aiohttp.ClientSession() as session:
        ws = await session.ws_connect(f"{ex.ws_url}/market/stream?streams=btcusdt@kline_1m")
        ex.start_clock(speed=6000)  # a 1m candle every 10 ms
        closed = []
        while len(closed) < 40:
            message = json.loads((await ws.receive(timeout=10)).data)
            assert message["stream"] == "btcusdt@kline_1m"
            if message["data"]["k"]["x"]:
                closed.append(message["data"]["k"])
        await ex.wait_finished()
        await ws.close()
    assert [k["t"] for k in closed] == frame.open_time[WARMUP:].tolist()
    assert [Decimal(k["c"]) for k in closed] == [
        Decimal(str(c)).quantize(Decimal("0.01")) for c in frame.close[WARMUP:]
    ]
    assert [float(k["h"]) for k in closed] == frame.high[WARMUP:].tolist()


async def test_intra_candle_updates_are_not_closed(exchange: LocalExchange) -> None:
    async with aiohttp.ClientSession() as session, session.ws_connect(f"{exchange.ws_url}/market/ws") as ws:
        await ws.send_json({"method": "SUBSCRIBE", "params": ["btcusdt@kline_1m"], "id": 1})
        assert json.loads((await ws.receive(timeout=5)).data) == {"result": None, "id": 1}
        await exchange.advance(1)
        flags = [json.loads((await ws.receive(timeout=5)).data)["k"]["x"] for _ in range(4)]
    assert flags == [False, False, False, True]


async def test_legacy_paths_no_longer_carry_market_streams(exchange: LocalExchange) -> None:
    """Since 2026-04-23 a connection without /market only receives public streams, as on Binance."""
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(f"{exchange.ws_url}/ws/btcusdt@kline_1m") as legacy,
        session.ws_connect(f"{exchange.ws_url}/market/ws/btcusdt@kline_1m") as current,
    ):
        await exchange.advance(1)
        assert json.loads((await current.receive(timeout=5)).data)["e"] == "kline"
        await legacy.send_json({"method": "LIST_SUBSCRIPTIONS", "id": 7})
        first_on_legacy = json.loads((await legacy.receive(timeout=5)).data)
    assert first_on_legacy["id"] == 7  # no kline was queued before the reply


async def test_replay_stops_at_the_end_of_the_data(btc_frame: CandleFrame) -> None:
    async with LocalExchange([btc_frame.slice(0, WARMUP + 3)], warmup=WARMUP) as ex:
        assert await ex.advance(10) == 3
        assert ex.replay.finished


async def test_a_clock_stopped_by_an_event_stands_still_at_it_and_resumes_without_losing_a_tick(
    btc_frame: CandleFrame,
) -> None:
    """A driver that stops the clock while the exchange handles an event (a fill, say) must find the market where it
    stopped: no further trade of the same candle, and after a restart every tick and candle close exactly once."""
    frame = btc_frame.slice(0, WARMUP + 6)
    async with LocalExchange([frame], warmup=WARMUP) as ex:
        seen: list[tuple[str, Decimal]] = []
        on_tick = ex.engine.on_tick

        def tick(symbol: str, price: Decimal, continuous: bool) -> None:
            on_tick(symbol, price, continuous)
            seen.append((symbol, price))
            if len(seen) in (2, 11):  # the second tick of the first and of the third candle
                ex.stop_clock()

        ex.engine.on_tick = tick
        feed = ex.replay.feeds["BTCUSDT"]
        expected = [("BTCUSDT", price) for i in range(WARMUP, WARMUP + 6) for price in feed.path(i)]
        for stopped_at in (2, 11):
            ex.start_clock(math.inf)  # the whole candle in one go, unless the stop takes effect at once
            for _ in range(20):
                await asyncio.sleep(0)
            assert seen == expected[:stopped_at], "the market stands still from the stop on"
            assert ex.speed is None
        ex.start_clock(math.inf)
        await asyncio.wait_for(ex.wait_finished(), 10)
    assert seen == expected
