"""The framework side of the SDK: runs a ``Strategy`` inside the pipeline and builds its contexts.

Live (and in ``run_backtest_stepwise``) each symbol × timeframe has ``LiveDetectors`` fed every closed candle and a
bounded window of candles. A backtest calls ``plan_replay`` first: the symbol's contexts are then answered from an
``IctTimeline`` per timeframe (every detector run once over the history) and the candle frames, as of exactly the
candles the book has emitted — a coarser candle closing with the current one is not yet seen, a finer one is — and the
strategy is visited only on the candles its ``Strategy.wake`` names. Tests hold both paths equal.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

import numpy as np

from ictbot.candles.schedule import EmissionSchedule, Stream
from ictbot.domain import Candle, Signal, Timeframe
from ictbot.ict.state import IctState
from ictbot.ict.timeline import IctTimeline
from ictbot.sdk import Candles, Context, Position, PositionAction, Strategy, Wake
from ictbot.strategy.detectors import Detectors, LiveDetectors, TimelineDetectors

Account = Callable[[str], Position | None]


class StrategyHost:
    """What the pipeline calls: ``on_candle(symbol, timeframe, candle)`` → signals and position actions,
    ``plan_replay`` in a backtest. ``bind`` gives it the account the contexts' ``position`` reads."""

    def __init__(self, strategy: Strategy) -> None:
        self.strategy = strategy
        self.name = strategy.name
        self.timeframes = frozenset(strategy.timeframes)
        self.manages = type(strategy).manage is not Strategy.manage
        self._symbols: dict[str, _LiveSymbol | _ReplaySymbol] = {}
        self._account: Account = lambda symbol: None

    def bind(self, account: Account) -> None:
        self._account = account

    def plan_replay(self, symbol: str, schedule: EmissionSchedule) -> dict[Timeframe, np.ndarray]:
        replay = self._symbols[symbol] = _ReplaySymbol(self.strategy, schedule)
        return replay.plan(self.strategy.wake())

    def on_candle(self, symbol: str, timeframe: Timeframe, candle: Candle) -> list[Signal | PositionAction]:
        source = self._symbols.get(symbol)
        if source is None:
            source = self._symbols[symbol] = _LiveSymbol(self.strategy)
        source.advance(timeframe, candle)
        ctx = Context(symbol, timeframe, candle, source, self._account)
        out: list[Signal | PositionAction] = list(self.strategy.on_candle(ctx))
        if self.manages and ctx.position is not None:
            out += self.strategy.manage(ctx)
        return out


class _LiveSymbol:
    """One symbol's detectors and candle windows, advanced candle by candle."""

    def __init__(self, strategy: Strategy) -> None:
        config = strategy.settings.detectors()
        keep = strategy.history
        self._detectors = {tf: LiveDetectors(tf, IctState(tf, config), keep) for tf in strategy.timeframes}
        self._candles: dict[Timeframe, deque[Candle]] = {tf: deque(maxlen=keep) for tf in strategy.timeframes}

    def advance(self, timeframe: Timeframe, candle: Candle) -> None:
        self._detectors[timeframe].update(candle)
        self._candles[timeframe].append(candle)

    def candles(self, timeframe: Timeframe) -> Candles:
        return Candles(items=list(self._candles[timeframe]))

    def detectors(self, timeframe: Timeframe) -> Detectors:
        window = self._candles[timeframe]
        return self._detectors[timeframe].view(window[-1].open_time if window else 0)


class _ReplaySymbol:
    """One symbol's whole history: contexts answered from timelines as of the candle being visited."""

    def __init__(self, strategy: Strategy, schedule: EmissionSchedule) -> None:
        self._config = strategy.settings.detectors()
        self._history = strategy.history
        self._streams = {tf: schedule.streams[tf] for tf in strategy.timeframes}
        self._timelines: dict[Timeframe, TimelineDetectors] = {}
        self._timeframe: Timeframe | None = None
        self._index = -1

    def advance(self, timeframe: Timeframe, candle: Candle) -> None:
        stream = self._streams[timeframe]
        self._timeframe = timeframe
        self._index = int(np.searchsorted(stream.frame.open_time, candle.open_time, "left"))

    def _seen(self, timeframe: Timeframe) -> int:
        """Index of the last candle of ``timeframe`` the book has emitted by the candle being visited."""
        current = self._timeframe
        assert current is not None
        if timeframe is current:
            return self._index
        key = self._streams[current].book_order[self._index]
        side = "right" if timeframe.ms < current.ms else "left"  # on a tie the finer timeframe came first
        return int(np.searchsorted(self._streams[timeframe].book_order, key, side)) - 1

    def candles(self, timeframe: Timeframe) -> Candles:
        j = self._seen(timeframe)
        return Candles(frame=self._streams[timeframe].frame.slice(max(0, j - self._history + 1), j + 1))

    def timeline(self, timeframe: Timeframe) -> TimelineDetectors:
        found = self._timelines.get(timeframe)
        if found is None:
            stream = self._streams[timeframe]
            found = self._timelines[timeframe] = TimelineDetectors(timeframe, IctTimeline(stream.frame, self._config))
        return found

    def detectors(self, timeframe: Timeframe) -> Detectors:
        j = self._seen(timeframe)
        return self.timeline(timeframe).view(int(self._streams[timeframe].frame.open_time[j]) if j >= 0 else 0, j)

    def plan(self, wakes: tuple[Wake, ...] | list[Wake]) -> dict[Timeframe, np.ndarray]:
        """Candle indices per timeframe the strategy must be visited on; ``{}`` (all) when it names none."""
        if not wakes:
            return {}
        found: dict[Timeframe, list[np.ndarray]] = {tf: [] for tf in self._streams}
        for wake in wakes:
            if wake.timeframe not in self._streams:
                raise ValueError(f"Wake on {wake.timeframe}, a timeframe the strategy does not declare")
            found[wake.timeframe].append(self._woken(wake))
        return {tf: np.unique(np.concatenate(parts)) if parts else np.empty(0, np.int64) for tf, parts in found.items()}

    def _woken(self, wake: Wake) -> np.ndarray:
        stream = self._streams[wake.timeframe]
        if wake.on == "candle":
            return np.arange(len(stream.frame), dtype=np.int64)
        detectors = self.timeline(wake.timeframe)
        timeline = detectors.timeline
        if wake.on == "fvg":
            return np.searchsorted(timeline.open_time, timeline.rows["fvgs"].known).astype(np.int64)
        breaks = timeline.rows["structure"]
        at = np.searchsorted(timeline.open_time, breaks.known)
        keep = np.ones(at.shape[0], dtype=bool)
        if wake.after_sweep_within is not None:
            horizon = timeline.open_time - wake.after_sweep_within * wake.timeframe.ms
            last = {side: _last_true(detectors.hits(side)) for side in (1, -1)}
            latest = np.where(breaks.direction > 0, last[1][at], last[-1][at])
            keep &= (latest >= 0) & (timeline.open_time[np.maximum(latest, 0)] >= horizon[at])
        for tf in wake.trend_agrees:
            seen = _seen_by(self._streams[tf], stream.book_order[at], tf.ms < wake.timeframe.ms)
            trend = self.timeline(tf).timeline.tables.trend
            keep &= np.where(seen >= 0, trend[np.maximum(seen, 0)], 0) == breaks.direction
        return at[keep].astype(np.int64)


def _seen_by(stream: Stream, keys: np.ndarray, finer: bool) -> np.ndarray:
    return np.searchsorted(stream.book_order, keys, "right" if finer else "left") - 1


def _last_true(mask: np.ndarray) -> np.ndarray:
    """For each index, the latest index up to it where ``mask`` holds (−1: none)."""
    return np.maximum.accumulate(np.where(mask, np.arange(mask.shape[0]), -1))
