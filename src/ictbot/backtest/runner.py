"""Backtest = replaying history through the pipeline as fast as the CPU allows."""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from ictbot.backtest.funding import FundingSchedule
from ictbot.backtest.pipeline import Pipeline
from ictbot.config import Settings
from ictbot.data.frame import CandleFrame
from ictbot.domain import OrderIntent, Signal
from ictbot.errors import DataError
from ictbot.portfolio.ledger import Portfolio, Trade
from ictbot.risk.gate import Rejection, RiskGate
from ictbot.strategy.registry import build_strategy
from ictbot.venues.simulated import SimulatedBroker
from ictbot.venues.symbols import SymbolSpec, symbol_spec


@dataclass
class BacktestResult:
    settings: Settings
    portfolio: Portfolio
    signals: list[Signal]
    rejections: list[Rejection]
    equity_time: np.ndarray
    equity: np.ndarray
    specs: dict[str, SymbolSpec]
    candles: int
    final_equity: Decimal
    start: int
    end: int
    intents: dict[str, OrderIntent]
    exposed_candles: int
    funded_symbols: list[str]

    @property
    def trades(self) -> list[Trade]:
        return self.portfolio.closed_trades


def run_backtest(
    settings: Settings,
    frames: list[CandleFrame],
    progress: Callable[[int], None] | None = None,
    funding: dict[str, FundingSchedule] | None = None,
) -> BacktestResult:
    """Run the configured strategy over ``frames`` (one per symbol, same base timeframe).

    ``funding`` maps symbols to their funding schedule; symbols without one pay no funding (the report says which).
    """
    if not frames:
        raise DataError("no candle data given; pass --data FILE")
    base = frames[0].timeframe
    by_symbol: dict[str, CandleFrame] = {}
    for frame in frames:
        if frame.symbol is None:
            raise DataError(f"{frame.source}: the symbol is not in the file name; pass --symbol")
        if frame.timeframe is not base:
            raise DataError(
                f"{frame.source}: is {frame.timeframe} data but the first file is {base}; use one timeframe"
            )
        if frame.symbol in by_symbol:
            raise DataError(f"{frame.source}: a second file for {frame.symbol}; give one file per symbol")
        if len(frame) == 0:
            raise DataError(f"{frame.source}: no candles in the selected period")
        by_symbol[frame.symbol] = frame
    for tf in settings.timeframes:
        if tf.ms % base.ms:
            raise DataError(f"strategy timeframe {tf} cannot be built from {base} data; use finer data")
    specs = {s: symbol_spec(s, float(f.close[0])) for s, f in by_symbol.items()}
    portfolio = Portfolio(Decimal(str(settings.backtest.initial_equity_usdt)))
    bt = settings.backtest
    broker = SimulatedBroker(specs, bt.maker_fee_rate, bt.taker_fee_rate, bt.slippage_ticks, base.ms)
    gate = RiskGate(settings.risk, specs)
    funding = {s: f for s, f in (funding or {}).items() if s in by_symbol}
    for symbol, schedule in funding.items():
        schedule.skip_before(int(by_symbol[symbol].open_time[0]))
    strategy = build_strategy(settings.strategy)
    pipeline = Pipeline(list(by_symbol), base, strategy, gate, broker, portfolio, funding)

    streams = [((c.open_time, symbol, c) for c in frame.candles()) for symbol, frame in by_symbol.items()]
    total = sum(len(f) for f in by_symbol.values())
    times = np.empty(total, dtype=np.int64)
    equity = np.empty(total, dtype=np.float64)
    n = exposed = 0
    for open_time, symbol, candle in heapq.merge(*streams, key=lambda item: (item[0], item[1])):
        pipeline.on_base_candle(symbol, candle)
        times[n] = open_time + base.ms
        equity[n] = float(pipeline.equity())
        exposed += portfolio.open_position_count() > 0
        n += 1
        if progress is not None and n % 5000 == 0:
            progress(5000)
    if progress is not None:
        progress(n % 5000)
    return BacktestResult(
        settings=settings,
        portfolio=portfolio,
        signals=pipeline.signals,
        rejections=gate.rejections,
        equity_time=times[:n],
        equity=equity[:n],
        specs=specs,
        candles=n,
        final_equity=pipeline.equity(),
        start=min(int(f.open_time[0]) for f in by_symbol.values()),
        end=max(int(f.open_time[-1]) for f in by_symbol.values()) + base.ms,
        intents=pipeline.intents,
        exposed_candles=exposed,
        funded_symbols=sorted(funding),
    )
