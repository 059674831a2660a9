"""Fair value gaps: the 3-candle imbalance, known at the close of the third candle.

Bullish at candle t when ``low[t] > high[t-2]`` (zone ``[high[t-2], low[t]]``); bearish when ``high[t] < low[t-2]``
(zone ``[high[t], low[t-2]]``). ``formed_at`` is the middle candle's open time, ``known_at`` the third candle's.
"""

from __future__ import annotations

from dataclasses import dataclass

from ictbot.domain import Candle


@dataclass(frozen=True, slots=True)
class FairValueGap:
    direction: int
    top: float
    bottom: float
    formed_at: int
    known_at: int
    kind: str = "fvg"


class FvgDetector:
    """Incremental detector: feed closed candles of one symbol × timeframe, get the gaps each one reveals."""

    __slots__ = ("_prev", "_prev2", "min_size")

    def __init__(self, min_size: float = 0.0) -> None:
        self.min_size = min_size
        self._prev: Candle | None = None
        self._prev2: Candle | None = None

    def update(self, candle: Candle) -> list[FairValueGap]:
        first, middle = self._prev2, self._prev
        self._prev2, self._prev = middle, candle
        if first is None or middle is None:
            return []
        if candle.low > first.high and candle.low - first.high > self.min_size:
            return [FairValueGap(1, candle.low, first.high, middle.open_time, candle.open_time)]
        if candle.high < first.low and first.low - candle.high > self.min_size:
            return [FairValueGap(-1, first.low, candle.high, middle.open_time, candle.open_time)]
        return []
