"""The default strategy (``ict_mtf``) traded by the engine on the local exchange — candles over the WebSocket, history
over REST through ccxt — makes exactly the backtest's signals, fills and trades on the same candles: with the
backtest's fill model in the engine, and with real orders on the exchange in a lockstep replay."""

from __future__ import annotations

import asyncio
from dataclasses import astuple
from decimal import Decimal

import pytest

from ictbot.api.serialize import closed_trade, trade_dict
from ictbot.backtest.runner import run_backtest_stepwise
from ictbot.compose import build_engine
from ictbot.config import load_settings
from ictbot.data.loaders import load_candles, write_parquet
from ictbot.domain import Side, client_order_id
from ictbot.storage import open_recorder

DAYS = 10


@pytest.fixture
def btc_days(data_dir, tmp_path):
    frame = load_candles(data_dir / "BTC_USDT_USDT-1m-futures.feather").slice(0, DAYS * 1440)
    path = tmp_path / f"BTCUSDT-1m-{DAYS}days.parquet"
    write_parquet(frame, path)
    return load_candles(path, symbol="BTCUSDT"), path


async def test_the_default_strategy_through_the_engine_makes_the_backtests_trades(btc_days, tmp_path):
    frame, path = btc_days
    settings = load_settings(
        replay={"speed": 60_000, "warmup": 1, "data": [str(path)], "stop_at_end": True},
        data_dir=str(tmp_path / "data"),
        execution={"broker": "simulated"},  # the backtest's fill model: parity is about the decisions
        api={"enabled": False},
    )
    assert settings.strategy.name == "ict_mtf"
    recorder = open_recorder(f"sqlite:///{tmp_path / 'bot.sqlite'}")
    engine = build_engine(settings, recorder)
    await asyncio.wait_for(engine.run(asyncio.Event()), 600)  # the replay ends by itself after the last candle
    assert engine.pipeline.book.last_open_time("BTCUSDT") == int(frame.open_time[-1])

    backtest = run_backtest_stepwise(settings, [frame])
    assert backtest.trades, "the window must contain a trade for the comparison to mean something"
    signals = recorder.signals(limit=10_000)
    assert sorted(s.key for s in signals) == sorted(client_order_id(s) for s in backtest.signals)
    assert {s.key for s in signals if s.decision.accepted} == set(backtest.intents)
    fills = [
        (f.client_order_id.removesuffix(f"-{f.reason}"), f.symbol, Side(f.side), f.quantity, f.price, f.fee, f.time,
         f.is_maker, f.reason)
        for f in reversed(recorder.fills(limit=10_000))
    ]  # fmt: skip
    assert fills == [astuple(f) for f in backtest.portfolio.fills]
    recorded_trades = [trade_dict(closed_trade(t)) for t in reversed(recorder.trades(limit=10_000))]
    assert recorded_trades == [trade_dict(t) for t in backtest.trades]


async def test_the_default_strategy_with_orders_on_the_local_exchange_makes_the_backtests_trades(btc_days, tmp_path):
    frame, path = btc_days
    settings = load_settings(
        replay={"speed": 60_000, "warmup": 1, "data": [str(path)], "stop_at_end": True, "lockstep": True},
        data_dir=str(tmp_path / "data"),
        api={"enabled": False},
    )
    assert settings.execution.broker is None  # the default: orders through ccxt, fills from the user stream
    recorder = open_recorder(f"sqlite:///{tmp_path / 'bot.sqlite'}")
    engine = build_engine(settings, recorder)
    await asyncio.wait_for(engine.run(asyncio.Event()), 600)
    assert engine.pipeline.book.last_open_time("BTCUSDT") == int(frame.open_time[-1])

    backtest = run_backtest_stepwise(settings, [frame])
    assert backtest.trades, "the window must contain a trade for the comparison to mean something"

    def row(t):
        d = trade_dict(t)
        return (d["side"], d["entry_time"], d["exit_time"], Decimal(d["entry_price"]), Decimal(d["exit_price"]),
                Decimal(d["quantity"]), d["exit_reason"], Decimal(d["fees"]))  # fmt: skip

    venue = [row(closed_trade(t)) for t in reversed(recorder.trades(limit=10_000))]
    assert venue == [row(t) for t in backtest.trades]
    assert all(f.is_maker == (f.reason == "entry") for f in recorder.fills(limit=10_000))  # limit in, market out
