"""A long-running bot's kline stream keeps a bounded amount of ccxt state, however many symbols share it."""

import asyncio
from dataclasses import replace

import numpy as np

from helpers import until
from ictbot.data.loaders import load_candles
from ictbot.domain import Timeframe
from ictbot.exchange import LocalExchange
from ictbot.venues.binance import BinanceMarketData

SYMBOLS = ["BTCUSDT", "ETHUSDT", "SOLUSDT"]


async def test_ccxt_keeps_no_growing_state_per_kline_for_any_symbol(data_dir):
    frames = [load_candles(data_dir / f"{s[:3]}_USDT_USDT-1m-futures.feather").slice(0, 700) for s in SYMBOLS]
    start = int(frames[0].open_time[0])  # one clock for all three, so every symbol's klines flow at once
    frames = [replace(f, open_time=start + np.arange(len(f), dtype=np.int64) * 60_000) for f in frames]
    async with LocalExchange(frames, warmup=300) as exchange:
        market = BinanceMarketData(exchange.ccxt_config())
        await market.load_markets()
        stream = asyncio.create_task(market.stream(SYMBOLS, Timeframe.M1, lambda: None))
        try:
            await until(lambda: all(exchange.hub.has_subscribers(f"{s.lower()}@kline_1m") for s in SYMBOLS))
            await exchange.advance(300)
            last = start + (300 + 300 - 1) * 60_000  # the warm-up, then 300 replayed minutes

            def arrived() -> bool:  # every symbol's last kline
                caches = [c for by_tf in market.client.ohlcvs.values() for c in by_tf.values()]
                return len(caches) == len(SYMBOLS) and all(
                    c._deque and c._deque[-1][0] >= last - 60_000 for c in caches
                )

            await until(arrived)
        finally:
            stream.cancel()
            await asyncio.gather(stream, return_exceptions=True)
            await market.close()
    caches = [cache for by_timeframe in market.client.ohlcvs.values() for cache in by_timeframe.values()]
    assert len(caches) == len(SYMBOLS)
    for cache in caches:  # 300 klines per symbol went through; ccxt holds a handful of rows and times
        assert len(cache._deque) <= 3 and len(cache._size_tracker) <= 3
