"""``ictbot download`` also stores the funding a symbol paid, and a backtest read from the store charges it; the
local exchange serves the bundled funding-rate and mark-price files (``/fapi/v1/fundingRate``, ``markPriceKlines``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ictbot.backtest.runner import run_backtest
from ictbot.config import load_settings
from ictbot.data.download import binance_client
from ictbot.data.funding import sibling_schedule
from ictbot.data.loaders import load_candles, load_mark_prices
from ictbot.exchange import LocalExchange
from ictbot.research.inputs import load_inputs
from research.strategies import CoinFlipStrategy

from .conftest import DATA
from .test_cli import run

CANDLES = DATA / "BTC_USDT_USDT-1m-futures.feather"
FUNDING = DATA / "BTC_USDT_USDT-8h-funding_rate.feather"
MARK = DATA / "BTC_USDT_USDT-8h-mark.feather"
FIRST = "2025-05-04T15:33"  # the first candle of the file
FIRST_MS = 1746372780000


def args(store: Path, exchange: LocalExchange) -> list[str]:
    return ["--symbol", "BTCUSDT", "--timeframe", "1m", "--from", FIRST, "--source", "rest", "--store", str(store),
            "--rest-url", exchange.rest_url]  # fmt: skip


def settled(exchange: LocalExchange) -> np.ndarray:
    """The settlements of the bundled funding file that the replay has reached, from the candles' first minute on."""
    times = sibling_schedule(CANDLES).times
    return times[(times >= FIRST_MS) & (times <= exchange.replay.now)]


async def test_download_stores_the_funding_with_its_marks_and_the_backtest_charges_it(tmp_path: Path) -> None:
    frame = load_candles(CANDLES)
    exchange = LocalExchange.from_files([CANDLES], funding_files=[FUNDING], mark_files=[MARK], warmup=len(frame) - 1)
    async with exchange:
        first = await run(*args(tmp_path, exchange))
        again = await run(*args(tmp_path, exchange))
        expected = settled(exchange)
    assert first.exit_code == 0, first.output
    assert f"BTCUSDT funding: {len(expected)} new settlements (1 REST pages, 0 marks from markPriceKlines)" in (
        first.stdout
    )
    assert "BTCUSDT funding: 0 new settlements (1 REST pages, 0 marks" in again.stdout

    frames, funding = load_inputs(None, ["BTCUSDT"], None, None, tmp_path)
    real = sibling_schedule(CANDLES)  # the same files read directly: rates, and marks from the 8h mark file
    inside = np.isin(real.times, expected)
    np.testing.assert_array_equal(funding["BTCUSDT"].times, expected)
    assert [float(r) for r in funding["BTCUSDT"].rates] == [
        float(r) for r, k in zip(real.rates, inside, strict=True) if k
    ]
    assert [float(m) for m in funding["BTCUSDT"].marks] == [
        float(m) for m, k in zip(real.marks, inside, strict=True) if k
    ]

    settings = load_settings().model_copy(update={"symbols": ["BTCUSDT"]})
    # a coin flip every hour holds positions over settlements, so funding is charged
    from_store = run_backtest(settings, frames, funding=funding, strategy=CoinFlipStrategy(1))
    same = [frame.slice(0, len(frames[0]))]
    from_files = run_backtest(settings, same, funding={"BTCUSDT": real}, strategy=CoinFlipStrategy(1))
    assert from_store.portfolio.funding != 0
    assert from_store.portfolio.funding == from_files.portfolio.funding
    assert from_store.final_equity == from_files.final_equity


async def test_settlements_without_a_reported_mark_take_the_mark_candle_at_that_minute(tmp_path: Path) -> None:
    frame = load_candles(CANDLES)
    exchange = LocalExchange.from_files([CANDLES], funding_files=[FUNDING], warmup=len(frame) - 1)
    async with exchange:  # no mark file: funding history has no marks, mark candles are the trade candles
        result = await run(*args(tmp_path, exchange))
        expected = settled(exchange)
    assert result.exit_code == 0, result.output
    n = len(expected)
    assert f"BTCUSDT funding: {n} new settlements (1 REST pages, {n} marks from markPriceKlines)" in result.stdout
    _, funding = load_inputs(None, ["BTCUSDT"], None, None, tmp_path)
    at = np.searchsorted(frame.open_time, expected)
    assert (frame.open_time[at] == expected).all()
    assert [float(m) for m in funding["BTCUSDT"].marks] == [float(x) for x in frame.open[at]]


async def test_mark_price_klines_serve_the_recorded_mark_file() -> None:
    frame = load_candles(CANDLES)
    exchange = LocalExchange.from_files([CANDLES], mark_files=[MARK], warmup=len(frame) - 1)
    async with exchange:
        client = binance_client(exchange.rest_url)
        try:
            params = {"symbol": "BTCUSDT", "interval": "8h", "startTime": FIRST_MS}
            rows = await client.fapiPublicGetMarkPriceKlines(params)
        finally:
            await client.close()
        now = exchange.replay.now
    mark = load_mark_prices(MARK)
    wanted = (mark.open_time >= FIRST_MS) & (mark.open_time <= now)
    assert [int(r[0]) for r in rows] == [int(t) for t in mark.open_time[wanted]]
    assert [float(r[1]) for r in rows] == [float(x) for x in mark.open[wanted]]
