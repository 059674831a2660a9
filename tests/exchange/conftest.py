"""Fixtures: a local exchange replaying real BTCUSDT/ETHUSDT minutes, and ccxt clients pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import ccxt.async_support as ccxt_async
import ccxt.pro as ccxt_pro
import pytest

from ictbot.data.frame import CandleFrame
from ictbot.data.loaders import load_candles
from ictbot.exchange import LocalExchange

DATA = Path(__file__).parent.parent / "data"
WARMUP = 300
SYMBOL = "BTC/USDT:USDT"


@pytest.fixture(scope="session")
def btc_frame() -> CandleFrame:
    """The first 600 real BTCUSDT 1m candles (2025-05-04 15:33 UTC onward)."""
    return load_candles(DATA / "BTC_USDT_USDT-1m-futures.feather").slice(0, 600)


@pytest.fixture(scope="session")
def eth_frame() -> CandleFrame:
    return load_candles(DATA / "ETH_USDT_USDT-1m-futures.feather").slice(0, 600)


@pytest.fixture
async def exchange(btc_frame: CandleFrame, eth_frame: CandleFrame) -> AsyncIterator[LocalExchange]:
    async with LocalExchange([btc_frame, eth_frame], warmup=WARMUP) as ex:
        yield ex


@pytest.fixture
async def client(exchange: LocalExchange) -> AsyncIterator[ccxt_async.binanceusdm]:
    c = ccxt_async.binanceusdm(exchange.ccxt_config())
    await c.load_markets()
    try:
        yield c
    finally:
        await c.close()


@pytest.fixture
async def pro(exchange: LocalExchange) -> AsyncIterator[ccxt_pro.binanceusdm]:
    c = ccxt_pro.binanceusdm(exchange.ccxt_config())
    await c.load_markets()
    try:
        yield c
    finally:
        await c.close()
