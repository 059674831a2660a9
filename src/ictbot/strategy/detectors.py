"""One timeframe's detectors as a strategy reads them: incremental live, from a timeline in a backtest, same answers.

``LiveDetectors`` wraps an ``IctState`` fed every closed candle; ``TimelineDetectors`` answers the same questions
from an ``IctTimeline`` as of one candle (later lifecycle fields blanked). Both also know the liquidity sweeps: a
resting level swept, or the last swing traded through and closed back over. Tests hold both equal.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np

from ictbot.domain import Candle, Timeframe
from ictbot.ict.records import BreakerBlock, FairValueGap, LiquidityLevel, OrderBlock, Record, Swing
from ictbot.ict.state import IctState
from ictbot.ict.structure import DealingRange
from ictbot.ict.timeline import IctTimeline, IctView


@dataclass(slots=True)
class Sweep:
    """Liquidity taken: ``direction`` +1 when sell-side was swept (bullish), −1 when buy-side was (bearish)."""

    direction: int
    at: int  # open time of the sweeping candle
    extreme: float  # its low (bullish) or high (bearish)
    evidence: Swing | LiquidityLevel  # a snapshot of the level swept


def find_sweeps(state: IctState | IctView, records: list, candle: Candle, out: list[Sweep]) -> None:
    """Append ``candle``'s sweeps, given the detectors after it and the records it produced."""
    t = candle.open_time
    for record in records:
        if isinstance(record, LiquidityLevel) and record.swept_at == t:
            side = -record.direction  # a sell-side level swept is bullish
            out.append(Sweep(side, t, candle.low if side > 0 else candle.high, copy.copy(record)))
    for swing, side in ((state.swing_low, 1), (state.swing_high, -1)):
        if swing is None or swing.known_at >= t:
            continue
        level = swing.price
        if (side > 0 and candle.low < level < candle.close) or (side < 0 and candle.high > level > candle.close):
            out.append(Sweep(side, t, candle.low if side > 0 else candle.high, copy.copy(swing)))


class LiveDetectors:
    """Every detector of one symbol × timeframe, fed one closed candle at a time (live and stepwise)."""

    __slots__ = ("_keep_ms", "_sweeps", "records", "state", "timeframe")

    def __init__(self, timeframe: Timeframe, state: IctState, keep_candles: int) -> None:
        self.timeframe = timeframe
        self.state = state
        self.records: list[Record] = []
        self._sweeps: list[Sweep] = []
        self._keep_ms = keep_candles * timeframe.ms

    def update(self, candle: Candle) -> None:
        self.records = self.state.update(candle)
        find_sweeps(self.state, self.records, candle, self._sweeps)
        horizon = candle.open_time - self._keep_ms
        if self._sweeps and self._sweeps[0].at < horizon:
            self._sweeps = [s for s in self._sweeps if s.at >= horizon]

    def view(self, now: int) -> Detectors:
        return Detectors(self, now)


class Detectors:
    """What the detectors of one timeframe say after its last closed candle (``now``: that candle's open time).

    ``records`` are those that became known or took a lifecycle step at that candle; the rest is the current picture.
    """

    __slots__ = ("_live", "_timeline", "_view", "now")

    def __init__(self, source: LiveDetectors | TimelineDetectors, now: int, index: int = -1) -> None:
        self.now = now
        self._live = source if isinstance(source, LiveDetectors) else None
        self._timeline = source if isinstance(source, TimelineDetectors) else None
        self._view: IctState | IctView = source.state if self._live is not None else source.timeline.at(index)

    @property
    def records(self) -> list[Record]:
        return self._live.records if self._live is not None else self._view.records

    @property
    def trend(self) -> int:
        """+1 after a bullish structure break, −1 after a bearish one, 0 before the first."""
        return self._view.trend

    @property
    def dealing_range(self) -> DealingRange | None:
        return self._view.dealing_range

    @property
    def swing_high(self) -> Swing | None:
        return self._view.swing_high

    @property
    def swing_low(self) -> Swing | None:
        return self._view.swing_low

    @property
    def fvgs(self) -> list[FairValueGap]:
        """Gaps not yet invalidated, with their fill so far."""
        return self._view.fvgs

    def fvgs_formed_since(self, since: int) -> list[FairValueGap]:
        """``fvgs`` formed at or after ``since`` (open time, ms): cheaper in a backtest than filtering ``fvgs``."""
        if isinstance(self._view, IctView):
            return self._view.fvgs_formed_since(since)
        return [g for g in self._view.fvgs if g.formed_at >= since]

    @property
    def order_blocks(self) -> list[OrderBlock]:
        return self._view.active_order_blocks

    @property
    def breakers(self) -> list[BreakerBlock]:
        return self._view.breakers

    @property
    def liquidity(self) -> list[LiquidityLevel]:
        """Resting levels, neither swept nor broken (buy-side first)."""
        return self._view.liquidity_levels

    def liquidity_on(self, direction: int) -> list[LiquidityLevel]:
        """Resting levels of one side: +1 buy-side (above price), −1 sell-side (below)."""
        if isinstance(self._view, IctView):
            return self._view.liquidity_levels_on(direction)
        return [lvl for lvl in self._view.liquidity_levels if lvl.direction == direction]

    @property
    def killzone(self) -> str | None:
        """The killzone the last candle opened in (``IctConfig.killzones``), if any."""
        return self._view.killzone

    def sweeps(self, within: int) -> list[Sweep]:
        """Sweeps on the last ``within`` candles of this timeframe (the last one included), oldest first."""
        tf_ms = (self._live or self._timeline).timeframe.ms  # type: ignore[union-attr]
        horizon = self.now - within * tf_ms
        if self._live is not None:
            return [s for s in self._live._sweeps if s.at >= horizon]
        assert self._timeline is not None and isinstance(self._view, IctView)
        return self._timeline.sweeps(self._view.index, horizon)


class TimelineDetectors:
    """Every detector of one symbol × timeframe over a known history; ``view(now, i)`` is the state after candle i."""

    def __init__(self, timeframe: Timeframe, timeline: IctTimeline) -> None:
        self.timeframe = timeframe
        self.timeline = timeline
        self._hit: dict[int, np.ndarray] = {}

    def view(self, now: int, index: int) -> Detectors:
        return Detectors(self, now, index)

    def hits(self, side: int) -> np.ndarray:
        """Per candle: whether ``find_sweeps`` finds a sweep of ``side`` on it."""
        hit = self._hit.get(side)
        if hit is None:
            hit = self._hit[side] = _sweep_hits(self.timeline, side)
        return hit

    def sweeps(self, i: int, horizon: int) -> list[Sweep]:
        timeline = self.timeline
        lo = int(np.searchsorted(timeline.open_time, horizon, "left"))
        found: list[Sweep] = []
        if lo > i:
            return found
        either = self.hits(1)[lo : i + 1] | self.hits(-1)[lo : i + 1]
        for k in (np.flatnonzero(either) + lo).tolist():
            find_sweeps(timeline.at(k), timeline.records_at(k, only=("liquidity",)), timeline.frame.candle(k), found)
        return found


def _sweep_hits(timeline: IctTimeline, side: int) -> np.ndarray:
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
    return hit
