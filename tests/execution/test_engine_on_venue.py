"""Replay mode trades on the venue: the local exchange, through ccxt, its user-data stream and the order manager.

For BTC, ETH and SOL at once the database ends with signals, orders, fills and positions that reconcile exactly with
the exchange's account; a restart on the same database finds nothing to repair.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from helpers import until
from ictbot.compose import build_engine
from ictbot.config import load_settings
from ictbot.data.loaders import load_candles, write_parquet
from ictbot.domain import Timeframe
from ictbot.exchange import LocalExchange
from ictbot.storage import OrderState, open_recorder

from .harness import assert_consistent, live_settings

SYMBOLS = ["BTCUSDT", "ETHUSDT", "SOLUSDT"]


@pytest.fixture
def two_days(data_dir, tmp_path):
    paths = []
    for symbol in SYMBOLS:
        frame = load_candles(data_dir / f"{symbol[:3]}_USDT_USDT-1m-futures.feather").slice(0, 2 * 1440)
        paths.append(tmp_path / f"{symbol}-1m.parquet")
        write_parquet(frame, paths[-1])
    return paths


async def _settled(engine, exchange, recorder, seconds=90.0):
    """Until the database tells the venue's story: the stream's last events handled, the jobs they queued done, the
    writer thread (which lags under CPU load) caught up. Fails with the last disagreement after ``seconds``."""
    deadline = time.monotonic() + seconds
    while True:
        await until(lambda: not engine.orders.busy, seconds=90)
        await engine.records_written()
        try:
            assert_consistent(exchange, recorder, SYMBOLS)
            return
        except AssertionError:
            if time.monotonic() > deadline:
                raise
        await asyncio.sleep(0.05)


FAULTS = {
    "none": None,
    "websockets dropped": lambda exchange: exchange.drop_websockets(),
    "listen key expired": lambda exchange: exchange.expire_listen_key(),
}


@pytest.mark.parametrize("fault", list(FAULTS))
async def test_three_symbols_trade_on_the_venue_and_the_database_reconciles_with_it(two_days, tmp_path, fault):
    """Also when the market and user-data streams drop, or the listen key expires, halfway through: no closed candle
    is missed or processed twice, and what happened while disconnected is picked up by reconciliation."""
    settings = load_settings(
        symbols=SYMBOLS,
        replay={"speed": 12_000, "warmup": 300, "data": [str(p) for p in two_days], "stop_at_end": False},
        strategy={"name": "fvg_retrace"},
        data_dir=str(tmp_path / "data"),
        execution={"unknown_order_settle_s": 0.05},
        api={"enabled": False},
    )
    recorder = open_recorder(f"sqlite:///{tmp_path / 'bot.sqlite'}")
    engine = build_engine(settings, recorder)
    stop = asyncio.Event()
    task = asyncio.create_task(engine.run(stop))
    try:
        await asyncio.wait_for(engine.ready.wait(), 60)
        exchange = engine.exchange
        if FAULTS[fault] is not None:
            fault_time = exchange.replay.feeds["BTCUSDT"].frame.open_time[1500]
            await until(lambda: exchange.replay.now >= fault_time, seconds=90)
            FAULTS[fault](exchange)
        await until(lambda: exchange.replay.finished, seconds=90)
        last = {symbol: int(feed.frame.open_time[-1]) for symbol, feed in exchange.replay.feeds.items()}
        await until(lambda: all(engine.pipeline.book.last_open_time(s) == t for s, t in last.items()), seconds=90)
        await _settled(engine, exchange, recorder)
        assert_consistent(exchange, recorder, SYMBOLS)
        trades = exchange.engine.trades
        assert len({t.symbol for t in trades}) >= 2, "the window must trade on several symbols to mean something"
        fills = recorder.fills(limit=10_000)
        assert sorted(str(f.trade_id) for f in fills) == sorted(str(t.trade_id) for t in trades)
        wallet = exchange.engine.wallet
        assert engine.pipeline.portfolio.cash == wallet, "the account's cash is the venue's wallet"
        entries = [o for o in recorder.orders(limit=10_000) if o.intent.purpose == "entry"]
        accepted = {s.key for s in recorder.signals(limit=10_000) if s.decision.accepted}
        assert {o.client_order_id for o in entries} == accepted
        assert engine.venue.line_entries > 0, "entries leave on the order lines"
        assert all(OrderState(o.state).is_terminal or o.state == "acknowledged" for o in entries)
        for symbol in SYMBOLS:
            processed = engine.counters.totals().candles.get((symbol, Timeframe.M1), 0)
            feed = exchange.replay.feeds[symbol].frame
            assert processed == len(feed.open_time) - 300, f"{symbol}: every replayed candle exactly once"
    finally:
        stop.set()
        await asyncio.wait_for(task, 60)
    assert recorder.runs()[0].stopped_at is not None


@pytest.mark.parametrize("withdrawals", [True, False], ids=["can-withdraw", "trade-only"])
async def test_live_mode_sets_the_account_up_and_warns_loudly_about_a_key_that_can_withdraw(
    data_dir, tmp_path, caplog, withdrawals
):
    frame = load_candles(data_dir / "ETH_USDT_USDT-1m-futures.feather").slice(0, 400)
    async with LocalExchange([frame], warmup=300) as exchange:
        exchange.allow_withdrawals(withdrawals)
        exchange.engine.set_leverage("ETHUSDT", 20)
        exchange.engine.set_dual_side(True)  # hedge mode, cross margin, 20x: all unlike the settings
        settings = live_settings(exchange, ["ETHUSDT"], data_dir=str(tmp_path / "data"), api={"enabled": False})
        engine = build_engine(settings, open_recorder(f"sqlite:///{tmp_path / 'bot.sqlite'}"))
        stop = asyncio.Event()
        task = asyncio.create_task(engine.run(stop))
        await asyncio.wait_for(engine.ready.wait(), 60)
        stop.set()
        await asyncio.wait_for(task, 60)
        assert exchange.engine.settings["ETHUSDT"].leverage == settings.risk.leverage
        assert exchange.engine.isolated("ETHUSDT") and not exchange.engine.dual_side
    assert ("THIS API KEY CAN WITHDRAW FUNDS" in caplog.text) is withdrawals
    assert exchange.credentials.api_secret not in caplog.text
