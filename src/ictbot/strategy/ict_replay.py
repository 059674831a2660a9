"""The ICT strategy's backtest mode: detectors read from timelines, visits only where a signal is possible.

``Replay`` holds an ``IctTimeline`` per timeframe, built once from the candles the candle book will emit. For an
entry candle it gives what the live path would hold at that moment: the entry timeframe's state and records, the
sweeps still inside the window, and each bias timeframe's state after exactly the bias candles the book emits before
that entry candle (so same-time closes keep the book's finest-first order). ``candidates`` lists the entry candles
where a structure break follows a same-direction sweep within the window and every bias trend agrees with it; no
other entry candle can signal.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np

from ictbot.candles.schedule import EmissionSchedule
from ictbot.config import IctMtfSettings
from ictbot.domain import Candle
from ictbot.ict.records import FairValueGap, LiquidityLevel
from ictbot.ict.state import IctState
from ictbot.ict.timeline import IctTimeline, IctView

# What the strategy reads from a timeframe's detectors: ``IctState`` live, an ``IctView`` in a replay.
DetectorState = IctState | IctView


@dataclass(slots=True)
class Sweep:
    direction: int  # +1: sell-side swept (bullish), −1: buy-side swept (bearish)
    at: int
    extreme: float
    evidence: object


def record_sweeps(state: DetectorState, records: list, candle: Candle, sweeps: list[Sweep]) -> None:
    """Append this candle's sweeps: a resting level swept, or the last swing traded through and closed back over."""
    t = candle.open_time
    for record in records:
        if isinstance(record, LiquidityLevel) and record.swept_at == t:
            side = -record.direction  # a sell-side level swept is bullish
            extreme = candle.low if side > 0 else candle.high
            sweeps.append(Sweep(side, t, extreme, copy.copy(record)))
    for swing, side in ((state.swing_low, 1), (state.swing_high, -1)):
        if swing is None or swing.known_at >= t:
            continue
        level = swing.price
        if (side > 0 and candle.low < level < candle.close) or (side < 0 and candle.high > level > candle.close):
            extreme = candle.low if side > 0 else candle.high
            sweeps.append(Sweep(side, t, extreme, copy.copy(swing)))


def recent_gaps(state: DetectorState, since: int) -> list[FairValueGap]:
    """Active gaps, at least those formed at or after ``since``; a timeline view builds only those records."""
    return state.fvgs_formed_since(since) if isinstance(state, IctView) else state.fvgs


def resting_levels(state: DetectorState, direction: int) -> list[LiquidityLevel]:
    """Resting liquidity, at least that of ``direction``; a timeline view builds only those records."""
    return state.liquidity_levels_on(direction) if isinstance(state, IctView) else state.liquidity_levels


class Replay:
    """One symbol's detectors over its whole history, answered as of each entry candle."""

    def __init__(self, settings: IctMtfSettings, schedule: EmissionSchedule) -> None:
        config = settings.detectors()
        entry = schedule.streams[settings.entry_timeframe]
        self.entry = IctTimeline(entry.frame, config)
        timelines = {tf: IctTimeline(schedule.streams[tf].frame, config) for tf in set(settings.bias_timeframes)}
        # The last bias candle the book emits before each entry candle (on a tie the finer entry candle comes first).
        self._bias = [
            (timelines[tf], np.searchsorted(schedule.streams[tf].book_order, entry.book_order, "left") - 1)
            for tf in settings.bias_timeframes
        ]
        window = settings.sweep_window_candles * settings.entry_timeframe.ms
        self._horizon = self.entry.open_time - window
        self._last_sweep = {side: _last_sweep(self.entry, side) for side in (1, -1)}
        self.candidates = self._candidates()

    def at(self, candle: Candle) -> tuple[IctView, list, list[Sweep], list[IctView]]:
        """(entry state, its records, sweeps in the window, bias states) as the live path holds them at ``candle``."""
        entry = self.entry
        i = entry.index_of(candle.open_time)
        sweeps: list[Sweep] = []
        for k in sorted({int(last[i]) for last in self._last_sweep.values() if self._in_window(last[i], i)}):
            record_sweeps(entry.at(k), entry.records_at(k, only=("liquidity",)), entry.frame.candle(k), sweeps)
        view = entry.at(i)
        return view, view.records, sweeps, [timeline.at(int(seen[i])) for timeline, seen in self._bias]

    def _in_window(self, k: int, i: int) -> bool:
        return k >= 0 and self.entry.open_time[k] >= self._horizon[i]

    def _candidates(self) -> np.ndarray:
        breaks = self.entry.rows["structure"]
        at = np.searchsorted(self.entry.open_time, breaks.known)
        last = np.where(breaks.direction > 0, self._last_sweep[1][at], self._last_sweep[-1][at])
        swept = (last >= 0) & (self.entry.open_time[np.maximum(last, 0)] >= self._horizon[at])
        for timeline, seen in self._bias:
            swept &= np.where(seen[at] >= 0, timeline.tables.trend[np.maximum(seen[at], 0)], 0) == breaks.direction
        return np.unique(at[swept])


def _last_sweep(timeline: IctTimeline, side: int) -> np.ndarray:
    """For each candle, the latest candle up to it on which ``record_sweeps`` finds a sweep of ``side`` (−1: none)."""
    t, frame = timeline.open_time, timeline.frame
    levels = timeline.rows["liquidity"]
    swept = levels.columns["swept_at"][levels.direction == -side]
    hit = np.isin(t, swept[swept >= 0])
    known, price = timeline.swing_levels(-side)
    if known.shape[0]:
        last = np.searchsorted(known, t, "right") - 1
        level = price[np.maximum(last, 0)]
        if side > 0:
            through = (frame.low < level) & (level < frame.close)
        else:
            through = (frame.high > level) & (level > frame.close)
        hit |= (last >= 0) & (known[np.maximum(last, 0)] < t) & through
    return np.maximum.accumulate(np.where(hit, np.arange(t.shape[0]), -1))
