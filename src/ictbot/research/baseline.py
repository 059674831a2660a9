"""The random-entry baseline: would the same trades at random times and in random directions have done as well?

Each baseline run keeps everything but the strategy's judgement: the same number of signals on the same symbols, each
with one of the strategy's own geometries (entry offset from the close, stop and target distances as fractions of
price, order type, time to live), placed on a random entry-timeframe candle in a random direction, and run through
the same backtest: the same risk gate, fees, slippage and funding. If the strategy's result sits among these runs, its
timing and direction carried no information the data can show.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ictbot.backtest.runner import BacktestResult, ReplayHistory, run_backtest
from ictbot.candles.schedule import EmissionSchedule
from ictbot.config import Settings
from ictbot.data.frame import CandleFrame
from ictbot.data.funding import FundingSchedule
from ictbot.domain import Candle, OrderType, Side, Signal, Timeframe


@dataclass(frozen=True, slots=True)
class Geometry:
    """A signal's shape relative to the close it was decided on, independent of direction and price level."""

    entry_offset: float  # fraction of the close the entry lies on the favourable side (limit entries below a long)
    stop_fraction: float  # stop distance as a fraction of the entry
    target_fraction: float
    order_type: OrderType
    ttl_ms: int | None


def signal_geometries(result: BacktestResult, frames: list[CandleFrame]) -> dict[str, list[Geometry]]:
    """Each signal's geometry, grouped by symbol, measured against the close of the candle it was decided on."""
    by_symbol = {f.symbol: f for f in frames}
    out: dict[str, list[Geometry]] = {}
    for signal in result.signals:
        frame = by_symbol[signal.symbol]
        i = int(np.searchsorted(frame.open_time, signal.created_at - frame.timeframe.ms, "right")) - 1
        close = float(frame.close[max(i, 0)])
        sign = signal.side.sign
        out.setdefault(signal.symbol, []).append(
            Geometry(
                entry_offset=sign * (close - signal.entry) / close,
                stop_fraction=abs(signal.entry - signal.stop) / signal.entry,
                target_fraction=abs(signal.target - signal.entry) / signal.entry,
                order_type=signal.order_type,
                ttl_ms=None if signal.expires_at is None else signal.expires_at - signal.created_at,
            )
        )
    return out


def entry_timeframe(settings: Settings, frames: list[CandleFrame]) -> Timeframe:
    """The timeframe a strategy decides on: its ``entry_timeframe`` when it has one, else the data's."""
    return getattr(settings.strategy, "entry_timeframe", None) or frames[0].timeframe


class RandomEntryStrategy:
    """Emits the given geometries at pre-drawn candles and directions; a ``PlannedStrategy``, so a run visits only
    those candles."""

    name = "random_entry"

    def __init__(self, timeframe: Timeframe, geometries: dict[str, list[Geometry]], rng: np.random.Generator) -> None:
        self._timeframe = timeframe
        self._geometries = geometries
        self._rng = rng
        self._planned: dict[str, dict[int, list[tuple[Geometry, Side]]]] = {}

    @property
    def timeframes(self) -> frozenset[Timeframe]:
        return frozenset({self._timeframe})

    def plan_replay(self, symbol: str, schedule: EmissionSchedule) -> dict[Timeframe, np.ndarray]:
        stream = schedule.streams[self._timeframe].frame
        shapes = self._geometries.get(symbol, [])
        picks = np.sort(self._rng.integers(0, len(stream), size=len(shapes)))
        sides = self._rng.integers(0, 2, size=len(shapes))
        planned: dict[int, list[tuple[Geometry, Side]]] = {}
        order = self._rng.permutation(len(shapes)).tolist()
        for shape, k, side in zip(order, picks.tolist(), sides.tolist(), strict=True):
            planned.setdefault(int(stream.open_time[k]), []).append((shapes[shape], Side.BUY if side else Side.SELL))
        self._planned[symbol] = planned
        return {self._timeframe: np.unique(picks)}

    def on_candle(self, symbol: str, timeframe: Timeframe, candle: Candle) -> list[Signal]:
        signals = []
        decided_at = candle.open_time + timeframe.ms
        for shape, side in self._planned.get(symbol, {}).get(candle.open_time, ()):
            sign = side.sign
            offset = 0.0 if shape.order_type is OrderType.MARKET else shape.entry_offset
            entry = candle.close * (1 - sign * offset)
            signals.append(
                Signal(
                    symbol=symbol,
                    side=side,
                    entry=entry,
                    stop=entry * (1 - sign * shape.stop_fraction),
                    target=entry * (1 + sign * shape.target_fraction),
                    created_at=decided_at,
                    reason="random_entry",
                    order_type=shape.order_type,
                    expires_at=None if shape.ttl_ms is None else decided_at + shape.ttl_ms,
                )
            )
        return signals


def r_multiples(result: BacktestResult) -> np.ndarray:
    """Each closed trade's net result in units of the risk its entry order took (quantity × stop distance)."""
    out = []
    for trade in result.trades:
        intent = result.intents.get(trade.client_order_id)
        if intent is None:
            continue
        risk = intent.quantity * abs(intent.price - intent.stop)
        if risk > 0:
            out.append(float(trade.pnl / risk))
    return np.asarray(out, dtype=np.float64)


def net_pnl(result: BacktestResult) -> float:
    return float(result.final_equity - result.portfolio.initial_equity)


@dataclass(frozen=True, slots=True)
class BaselineRuns:
    net_pnl: np.ndarray
    mean_r: np.ndarray
    trades: np.ndarray


def random_baseline(
    settings: Settings,
    frames: list[CandleFrame],
    result: BacktestResult,
    runs: int = 200,
    seed: int = 0,
    funding: dict[str, FundingSchedule] | None = None,
) -> BaselineRuns:
    """``runs`` random-entry backtests with the strategy's signal count and geometries, seeded run by run."""
    geometries = signal_geometries(result, frames)
    timeframe = entry_timeframe(settings, frames)
    pnl, mean_r, trades = np.zeros(runs), np.zeros(runs), np.zeros(runs, dtype=np.int64)
    history = ReplayHistory()
    for n, child in enumerate(np.random.SeedSequence(seed).spawn(runs)):
        strategy = RandomEntryStrategy(timeframe, geometries, np.random.default_rng(child))
        run = run_backtest(settings, frames, funding=funding, strategy=strategy, history=history)
        r = r_multiples(run)
        pnl[n] = net_pnl(run)
        mean_r[n] = float(r.mean()) if r.size else 0.0
        trades[n] = len(run.trades)
    return BaselineRuns(pnl, mean_r, trades)
