"""Orders before data: while an entry leaves, the rest of the kline burst waits, then arrives in order, each once."""

import asyncio
from dataclasses import replace

import numpy as np

from helpers import until
from ictbot.data.loaders import load_candles
from ictbot.domain import Timeframe
from ictbot.exchange import LocalExchange
from ictbot.venues.binance import BinanceMarketData, ClosedKline

SYMBOLS = ["BTCUSDT", "ETHUSDT", "SOLUSDT"]


async def test_klines_held_behind_an_order_are_handled_after_it_in_arrival_order_and_once(data_dir):
    frames = [load_candles(data_dir / f"{s[:3]}_USDT_USDT-1m-futures.feather").slice(0, 400) for s in SYMBOLS]
    start = int(frames[0].open_time[0])  # one clock: every minute, three klines arrive together
    frames = [replace(f, open_time=start + np.arange(len(f), dtype=np.int64) * 60_000) for f in frames]
    log: list[tuple[str, int] | str] = []
    loop = asyncio.get_running_loop()
    async with LocalExchange(frames, warmup=300) as exchange:
        market = BinanceMarketData(exchange.ccxt_config())
        await market.load_markets()

        def take(kline: ClosedKline) -> bool:
            log.append((kline.symbol, kline.candle.open_time))
            if kline.symbol == "BTCUSDT":  # "an entry": everything after it waits for its release
                market.hold()
                loop.call_later(0.002, lambda: (log.append("sent"), market.release()))
            return True

        market.take_now = take
        stream = asyncio.create_task(market.stream(SYMBOLS, Timeframe.M1, lambda: None))
        try:
            await until(lambda: all(exchange.hub.has_subscribers(f"{s.lower()}@kline_1m") for s in SYMBOLS))
            await exchange.advance(60)
            await until(lambda: sum(1 for e in log if e != "sent") >= 3 * 60)
            # Every "entry" is out (one "sent" per BTC kline) and nothing is held back any more.
            await until(
                lambda: log.count("sent") == sum(1 for e in log if e[0] == "BTCUSDT") and not market.client.held
            )
        finally:
            stream.cancel()
            await asyncio.gather(stream, return_exceptions=True)
            await market.close()
    klines = [e for e in log if e != "sent"]
    assert len(klines) == len(set(klines)) == 3 * 60  # none lost, none twice
    for symbol in SYMBOLS:
        times = [t for s, t in klines if s == symbol]
        assert times == sorted(times)
    for i, entry in enumerate(log):  # after a hold, nothing is handled until the order is out
        if entry != "sent" and entry[0] == "BTCUSDT" and i + 1 < len(log):
            assert log[i + 1] == "sent"
    held_back = [
        log[i + 2]
        for i in range(len(log) - 2)
        if log[i] != "sent" and log[i][0] == "BTCUSDT" and log[i + 2] != "sent" and log[i + 2][1] == log[i][1]
    ]
    assert held_back  # some minutes' ETH or SOL kline had arrived with BTC's and waited for the order
    assert market.client.held is None
