"""Backtest = replaying history through the pipeline as fast as the CPU allows.

``run_backtest`` knows the whole history up front, so it computes the candle book's emissions in batch
(``candles.schedule``) and visits only the candles on which something can happen: a strategy candle closes (only those
the strategy still needs, when it implements ``plan_replay``), the broker can fill or cancel, a funding time begins,
a UTC day begins while an order or position is open (a flat account starts its day with its cash, which the next
visited candle still sees), and — while a strategy that manages positions holds one — every candle of its timeframes.
Every other candle would change nothing but the marks, so the equity curve is filled in for them afterwards.
``run_backtest_stepwise`` feeds every candle through the incremental candle book, exactly as the live engine does;
tests prove both give identical signals, position actions, fills and trades.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property

import numpy as np

from ictbot.candles.schedule import Emission, EmissionSchedule, Plan
from ictbot.config import Settings
from ictbot.data.frame import CandleFrame
from ictbot.data.funding import FundingSchedule
from ictbot.domain import Candle, OrderIntent, Rejection, Signal, Timeframe
from ictbot.errors import DataError
from ictbot.kernel.pipeline import DAY_MS, Pipeline
from ictbot.portfolio.ledger import Portfolio, Trade
from ictbot.risk.gate import RiskGate
from ictbot.sdk import PositionAction
from ictbot.strategy.base import Strategy
from ictbot.strategy.registry import build_strategy
from ictbot.symbols import SymbolSpec, symbol_spec
from ictbot.venues.simulated import SimulatedBroker


@dataclass
class BacktestResult:
    settings: Settings
    portfolio: Portfolio
    signals: list[Signal]
    rejections: list[Rejection]
    curve: Callable[[], tuple[np.ndarray, np.ndarray]] = field(repr=False)  # close times and equity, on demand
    specs: dict[str, SymbolSpec]
    candles: int
    final_equity: Decimal
    start: int
    end: int
    intents: dict[str, OrderIntent]
    exposed_candles: int
    funded_symbols: list[str]
    actions: list[PositionAction] = field(default_factory=list)

    @property
    def trades(self) -> list[Trade]:
        return self.portfolio.closed_trades

    @cached_property
    def _curve(self) -> tuple[np.ndarray, np.ndarray]:
        return self.curve()

    @property
    def equity_time(self) -> np.ndarray:
        """Close time of every candle (ms)."""
        return self._curve[0]

    @property
    def equity(self) -> np.ndarray:
        """Equity after every candle; built when first read (the random-entry baseline's runs never read it)."""
        return self._curve[1]


@dataclass
class _Run:
    settings: Settings
    by_symbol: dict[str, CandleFrame]
    specs: dict[str, SymbolSpec]
    funding: dict[str, FundingSchedule]
    pipeline: Pipeline


def _prepare(
    settings: Settings,
    frames: list[CandleFrame],
    funding: dict[str, FundingSchedule] | None,
    strategy: Strategy | None = None,
) -> _Run:
    if not frames:
        raise DataError("no candle data given; pass --data FILE")
    base = frames[0].timeframe
    by_symbol: dict[str, CandleFrame] = {}
    for frame in sorted(frames, key=lambda f: f.symbol or ""):
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
    broker = SimulatedBroker(
        specs, bt.maker_fee_rate, bt.taker_fee_rate, bt.slippage_ticks, base.ms, settings.risk.leverage
    )
    gate = RiskGate(settings.risk, specs)
    funding = {s: f for s, f in (funding or {}).items() if s in by_symbol}
    for symbol, schedule in funding.items():
        schedule.skip_before(int(by_symbol[symbol].open_time[0]))
    strategy = strategy if strategy is not None else build_strategy(settings.strategy)
    pipeline = Pipeline(list(by_symbol), base, strategy, gate, broker, portfolio, funding)
    return _Run(settings, by_symbol, specs, funding, pipeline)


def _result(
    run: _Run, candles: int, curve: Callable[[], tuple[np.ndarray, np.ndarray]], exposed: int
) -> BacktestResult:
    pipeline = run.pipeline
    base_ms = pipeline.book.base.ms
    return BacktestResult(
        settings=run.settings,
        portfolio=pipeline.portfolio,
        signals=pipeline.signals,
        rejections=pipeline.gate.rejections,
        curve=curve,
        specs=run.specs,
        candles=candles,
        final_equity=pipeline.equity(),
        start=min(int(f.open_time[0]) for f in run.by_symbol.values()),
        end=max(int(f.open_time[-1]) for f in run.by_symbol.values()) + base_ms,
        intents=pipeline.intents,
        exposed_candles=exposed,
        funded_symbols=sorted(run.funding),
        actions=pipeline.actions,
    )


def run_backtest_stepwise(
    settings: Settings, frames: list[CandleFrame], funding: dict[str, FundingSchedule] | None = None
) -> BacktestResult:
    """Every candle through the incremental candle book, one at a time, as in live trading."""
    run = _prepare(settings, frames, funding)
    pipeline = run.pipeline
    streams = [_tagged(symbol, frame) for symbol, frame in run.by_symbol.items()]
    total = sum(len(f) for f in run.by_symbol.values())
    times = np.empty(total, dtype=np.int64)
    equity = np.empty(total, dtype=np.float64)
    base_ms = pipeline.book.base.ms
    exposed = 0
    for n, (open_time, symbol, candle) in enumerate(heapq.merge(*streams, key=lambda item: (item[0], item[1]))):
        pipeline.on_base_candle(symbol, candle)
        times[n] = open_time + base_ms
        equity[n] = float(pipeline.equity())
        exposed += pipeline.portfolio.open_position_count() > 0
    return _result(run, total, lambda: (times, equity), exposed)


def run_backtest(
    settings: Settings,
    frames: list[CandleFrame],
    progress: Callable[[int], None] | None = None,
    funding: dict[str, FundingSchedule] | None = None,
    strategy: Strategy | None = None,
    history: ReplayHistory | None = None,
) -> BacktestResult:
    """Run the configured strategy over ``frames`` (one per symbol, same base timeframe).

    ``funding`` maps symbols to their funding schedule; symbols without one pay no funding (the report says which).
    ``strategy`` runs a strategy object instead of the configured one (the random-entry baseline, test strategies).
    ``history`` keeps what the run derives from the candles alone for later runs on the same frames.
    """
    run = _prepare(settings, frames, funding, strategy)
    pipeline = run.pipeline
    symbols = list(run.by_symbol)
    frames_in_order = [run.by_symbol[s] for s in symbols]
    history = history or ReplayHistory()
    merged = history.merged(frames_in_order)
    schedules = [history.schedule(f, frozenset(pipeline.strategy.timeframes)) for f in frames_in_order]
    emissions = [_emissions(pipeline.strategy, s, sc) for s, sc in zip(symbols, schedules, strict=True)]
    managed = [_Managed(sc) for sc in schedules] if getattr(pipeline.strategy, "manages", False) else None
    wanted = []
    for j, frame in enumerate(frames_in_order):
        wanted.append(merged.position[j][np.fromiter(emissions[j], dtype=np.int64, count=len(emissions[j]))])
        schedule = run.funding.get(symbols[j])
        if schedule is not None:
            first = np.searchsorted(frame.open_time, schedule.times, "left")
            wanted.append(merged.position[j][first[first < len(frame)]])
    visits = np.unique(np.concatenate([*wanted, [merged.size]]))  # the merged positions to visit, then the end
    days = merged.day_starts
    broker_next = [merged.size] * len(symbols)
    segments: list[tuple[int, Decimal, tuple[tuple[int, Decimal, Decimal], ...]]] = []
    reported = 0
    k = 0
    while k < merged.size:
        j, i = int(merged.symbol[k]), int(merged.index[k])
        symbol, frame = symbols[j], frames_in_order[j]
        pipeline.marks.update(merged.marks_before(k, pipeline.portfolio, symbols))
        released = emissions[j].get(i, ())
        if managed is not None and pipeline.broker.has_exposure(symbol):
            released = managed[j].released(i)  # an entry may fill here: the strategy then manages the position
        pipeline.process(symbol, frame.candle(i), released)
        nxt = pipeline.broker.next_action(symbol, frame.open_time, frame.low, frame.high, i + 1)
        if managed is not None and (p := pipeline.portfolio.positions.get(symbol)) is not None and p.quantity != 0:
            nxt = min(nxt, managed[j].next_release(i))
        broker_next[j] = int(merged.position[j][nxt]) if nxt < len(frame) else merged.size
        segments.append(_snapshot(k, pipeline.portfolio, symbols))
        after = k + 1
        k = min(int(visits[np.searchsorted(visits, after)]), min(broker_next))
        if pipeline.portfolio.open_position_count() or pipeline.broker.pending_entries():
            day = int(np.searchsorted(days, after))  # a flat account's day-start equity is its cash, the same later
            if day < days.shape[0]:
                k = min(k, int(days[day]))
        if progress is not None and k - reported >= 5000:
            progress(min(k, merged.size) - reported)
            reported = min(k, merged.size)
    if progress is not None:
        progress(merged.size - reported)
    pipeline.marks.update(merged.marks_before(merged.size, pipeline.portfolio, symbols))
    base_ms = pipeline.book.base.ms
    return _result(
        run, merged.size, lambda: (merged.time + base_ms, merged.equity_curve(segments)), merged.exposed(segments)
    )


def _emissions(strategy: Strategy, symbol: str, schedule: EmissionSchedule) -> dict[int, list[Emission]]:
    """The strategy candles each base candle releases, limited to those the strategy asks for when it can plan."""
    plan_replay = getattr(strategy, "plan_replay", None)  # the optional ``PlannedStrategy`` extension
    return schedule.candles(schedule.plan(plan_replay(symbol, schedule) if plan_replay is not None else None))


class _Managed:
    """Every strategy candle of one symbol, built on demand: while a position is open the strategy sees them all."""

    def __init__(self, schedule: EmissionSchedule) -> None:
        self._schedule = schedule
        self._plan: Plan = schedule.plan()

    def released(self, i: int) -> list[Emission]:
        plan = self._plan
        lo, hi = np.searchsorted(plan.base_index, [i, i + 1], "left").tolist()
        streams = self._schedule.streams
        return [(plan.timeframe[n], streams[plan.timeframe[n]].frame.candle(int(plan.index[n]))) for n in range(lo, hi)]

    def next_release(self, i: int) -> int:
        """The first base candle after ``i`` that releases a strategy candle (``len`` of the frame if none)."""
        n = int(np.searchsorted(self._plan.base_index, i, "right"))
        return int(self._plan.base_index[n]) if n < self._plan.base_index.shape[0] else len(self._schedule.frame)


def _tagged(symbol: str, frame: CandleFrame) -> Iterator[tuple[int, str, Candle]]:
    return ((c.open_time, symbol, c) for c in frame.candles())


def _snapshot(k: int, portfolio: Portfolio, symbols: list[str]) -> tuple[int, Decimal, tuple]:
    held = tuple(
        (j, p.quantity, p.entry_price)
        for j, s in enumerate(symbols)
        if (p := portfolio.positions.get(s)) is not None and p.quantity != 0
    )
    return k, portfolio.cash, held


class ReplayHistory:
    """What runs derive from the candles alone, kept for the next run on the same frames: their merged order and each
    symbol's strategy candles. The random-entry baseline replays one history 50 times; recomputing these was most of
    each of its runs. Keeps the frames it was given, so an entry can never answer for other frames."""

    def __init__(self) -> None:
        self._merged: dict[tuple[int, ...], tuple[list[CandleFrame], _MergedTimeline]] = {}
        self._schedules: dict[tuple[int, frozenset[Timeframe]], tuple[CandleFrame, EmissionSchedule]] = {}

    def merged(self, frames: list[CandleFrame]) -> _MergedTimeline:
        key = tuple(map(id, frames))
        if key not in self._merged:
            self._merged[key] = (frames, _MergedTimeline(frames))
        return self._merged[key][1]

    def schedule(self, frame: CandleFrame, timeframes: frozenset[Timeframe]) -> EmissionSchedule:
        key = (id(frame), timeframes)
        if key not in self._schedules:
            self._schedules[key] = (frame, EmissionSchedule(frame, set(timeframes)))
        return self._schedules[key][1]


class _MergedTimeline:
    """All symbols' candles in one time order (ties by symbol name, as the stepwise merge orders them)."""

    def __init__(self, frames: list[CandleFrame]) -> None:
        times = np.concatenate([f.open_time for f in frames])
        symbol = np.concatenate([np.full(len(f), j, dtype=np.int64) for j, f in enumerate(frames)])
        index = np.concatenate([np.arange(len(f), dtype=np.int64) for f in frames])
        if len(frames) > 1:
            order = np.lexsort((symbol, times))
            times, symbol, index = times[order], symbol[order], index[order]
        self.time, self.symbol, self.index = times, symbol, index  # one frame's open times already increase
        self.size = int(times.shape[0])
        self.position = [np.flatnonzero(self.symbol == j) for j in range(len(frames))]
        self._closes = [f.close for f in frames]
        self._filled: dict[int, np.ndarray] = {}
        day = self.time // DAY_MS
        self.day_starts = np.flatnonzero(np.concatenate(([True], day[1:] != day[:-1])))

    def marks_before(self, k: int, portfolio: Portfolio, symbols: list[str]) -> dict[str, float]:
        """Latest close of every held symbol among the candles before merged position ``k``."""
        marks = {}
        for j, s in enumerate(symbols):
            position = portfolio.positions.get(s)
            if position is not None and position.quantity != 0:
                last = int(np.searchsorted(self.position[j], k, "left")) - 1
                if last >= 0:
                    marks[s] = float(self._closes[j][last])
        return marks

    def equity_curve(self, segments: list[tuple]) -> np.ndarray:
        """Equity after every candle, from the account state after each visited candle and the closes between."""
        equity = np.empty(self.size, dtype=np.float64)
        filled = self._filled
        for (start, cash, held), stop in zip(segments, self._bounds(segments), strict=True):
            equity[start:stop] = float(cash)
            for j, quantity, entry in held:
                if j not in filled:
                    filled[j] = self._forward_filled_close(j, self._closes[j])
                equity[start:stop] += float(quantity) * (filled[j][start:stop] - float(entry))
        return equity

    def exposed(self, segments: list[tuple]) -> int:
        """How many candles closed with a position open."""
        bounds = self._bounds(segments)
        return sum(stop - start for (start, _, held), stop in zip(segments, bounds, strict=True) if held)

    def _bounds(self, segments: list[tuple]) -> list[int]:
        return [seg[0] for seg in segments[1:]] + [self.size]

    def _forward_filled_close(self, j: int, close: np.ndarray) -> np.ndarray:
        last = np.full(self.size, -1, dtype=np.int64)
        last[self.position[j]] = np.arange(self.position[j].shape[0])
        last = np.maximum.accumulate(last)
        return np.where(last >= 0, close[np.maximum(last, 0)], np.nan)
