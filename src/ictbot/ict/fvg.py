"""Fair value gaps: the 3-candle imbalance, known at the close of the third candle, with their lifecycle.

Bullish at candle t when ``low[t] > high[t-2]`` (zone ``[high[t-2], low[t]]``); bearish when ``high[t] < low[t-2]``
(zone ``[high[t], low[t-2]]``). ``formed_at`` is the middle candle's open time, ``known_at`` the third candle's. A gap
must be larger than ``max(min_size, min_atr_fraction × ATR[t])``; with ``require_middle_direction`` the middle candle
must also close in the gap's direction (smartmoneyconcepts' rule).

Lifecycle, from the candle after ``known_at`` (bullish; bearish mirrors with highs): **touched** when a low reaches
the top; ``fill`` = deepest ``(top − low) / (top − bottom)`` so far, capped at 1; **filled** when a low reaches the
bottom; **invalidated** when a close is below the bottom (``invalidate_on="close"``, default) or at the fill
(``invalidate_on="fill"``). An invalidated gap is no longer tracked; with ``max_age``, neither is a gap still alive
``max_age`` candles after it became known (**expired** at the next candle, before that candle can change it).
"""

from __future__ import annotations

import math
from typing import Literal

import numba
import numpy as np

from ictbot.domain import Candle
from ictbot.ict._zones import ZoneSide, expire_sides
from ictbot.ict.atr import AtrTracker
from ictbot.ict.records import FairValueGap

InvalidateOn = Literal["close", "fill"]

__all__ = ["FairValueGap", "FvgDetector", "fvg_kernel"]


class FvgDetector:
    """Incremental detector: feed closed candles of one symbol × timeframe, get the gaps each one reveals.

    ``update`` returns the gaps that became known at that candle; afterwards ``changed`` lists the earlier gaps whose
    lifecycle advanced at it and ``active`` those not yet invalidated."""

    __slots__ = (
        "_above",
        "_atr",
        "_below",
        "_count",
        "_prev",
        "_prev2",
        "changed",
        "invalidate_on",
        "max_age",
        "min_atr_fraction",
        "min_size",
        "require_middle_direction",
    )

    def __init__(
        self,
        min_size: float = 0.0,
        min_atr_fraction: float = 0.0,
        atr_period: int = 14,
        require_middle_direction: bool = False,
        invalidate_on: InvalidateOn = "close",
        max_age: int | None = None,
    ) -> None:
        if invalidate_on not in ("close", "fill"):
            raise ValueError(f"invalidate_on must be 'close' or 'fill', got {invalidate_on!r}")
        self.max_age = max_age
        self._count = 0  # candles seen: the index of the next one
        self.min_size = min_size
        self.min_atr_fraction = min_atr_fraction
        self.require_middle_direction = require_middle_direction
        self.invalidate_on = invalidate_on
        self._atr = AtrTracker(atr_period) if min_atr_fraction > 0 else None
        self._prev: Candle | None = None
        self._prev2: Candle | None = None
        self._below = ZoneSide(1, max_age is not None)  # bullish gaps, keyed by the price a low must reach
        self._above = ZoneSide(-1, max_age is not None)  # bearish gaps, keyed by the price a high must reach
        self.changed: list[FairValueGap] = []

    @property
    def active(self) -> list[FairValueGap]:
        return self._below.zones() + self._above.zones()

    def update(self, candle: Candle) -> list[FairValueGap]:
        self.changed = []
        index = self._count
        self._count += 1
        if self.max_age is not None:
            for side in (self._below, self._above):
                side.expire(index - self.max_age, candle.open_time, self.changed)
        if candle.low <= self._below.trigger:
            self._advance(self._below, candle, 1)
        if candle.high >= self._above.trigger:
            self._advance(self._above, candle, -1)
        threshold = self.min_size
        if self._atr is not None:
            atr = self._atr.update(candle.high, candle.low, candle.close)
            threshold = max(threshold, self.min_atr_fraction * atr) if atr == atr else math.inf
        first, middle = self._prev2, self._prev
        self._prev2, self._prev = middle, candle
        if first is None or middle is None:
            return []
        strict = self.require_middle_direction
        if (
            candle.low > first.high
            and candle.low - first.high > threshold
            and (not strict or middle.close > middle.open)
        ):
            gap = FairValueGap(1, candle.low, first.high, middle.open_time, candle.open_time)
            self._below.add(gap, gap.top, index)
            return [gap]
        if (
            candle.high < first.low
            and first.low - candle.high > threshold
            and (not strict or middle.close < middle.open)
        ):
            gap = FairValueGap(-1, first.low, candle.high, middle.open_time, candle.open_time)
            self._above.add(gap, gap.bottom, index)
            return [gap]
        return []

    def _advance(self, side: ZoneSide, candle: Candle, direction: int) -> None:
        """Advance every gap on one side that the candle reaches."""
        t = candle.open_time
        by_close = self.invalidate_on == "close"
        for entry in side.take_reached(candle.low if direction > 0 else candle.high):
            gap = entry[2]
            top, bottom = gap.top, gap.bottom
            if direction > 0:
                depth = candle.low
                dead = candle.close < bottom if by_close else depth <= bottom
                fill = min((top - depth) / (top - bottom), 1.0)
                through = depth <= bottom
            else:
                depth = candle.high
                dead = candle.close > top if by_close else depth >= top
                fill = min((depth - bottom) / (top - bottom), 1.0)
                through = depth >= top
            changed = False
            if gap.touched_at is None:
                gap.touched_at = t
                changed = True
            if fill > gap.fill:
                gap.fill = fill
                changed = True
            if through and gap.filled_at is None:
                gap.filled_at = t
            if dead:
                gap.invalidated_at = t
                changed = True
            if changed:
                self.changed.append(gap)
            if dead:
                continue
            if gap.fill < 1.0:
                key = max(depth, bottom) if direction > 0 else min(depth, top)
            else:
                key = bottom if direction > 0 else top
            side.put_back(entry, key)


@numba.njit(cache=True)
def fvg_kernel(open_, high, low, close, atr, min_size, min_atr_fraction, require_middle, by_close, max_age):
    """Batch twin of ``FvgDetector`` (``max_age`` 0: never expire): columns (direction, top, bottom, known index,
    touched, filled, invalidated, expired index or -1, fill)."""
    n = high.shape[0]
    g_dir = np.empty(n, np.int64)
    g_top = np.empty(n, np.float64)
    g_bot = np.empty(n, np.float64)
    g_at = np.empty(n, np.int64)
    g_touch = np.full(n, -1, np.int64)
    g_filled = np.full(n, -1, np.int64)
    g_dead = np.full(n, -1, np.int64)
    g_expired = np.full(n, -1, np.int64)
    g_fill = np.zeros(n, np.float64)
    g_key = np.empty(n, np.float64)
    below = np.empty(n, np.int64)
    above = np.empty(n, np.int64)
    nbelow = 0
    nabove = 0
    below_key = -np.inf
    above_key = np.inf
    ng = 0
    for t in range(n):
        if max_age > 0:
            nbelow, nabove, below_key, above_key = expire_sides(
                below, nbelow, above, nabove, g_at, g_expired, g_key, t, t - max_age, below_key, above_key
            )
        if low[t] <= below_key:
            kept = 0
            below_key = -np.inf
            for j in range(nbelow):
                g = below[j]
                top = g_top[g]
                bottom = g_bot[g]
                if low[t] <= g_key[g]:
                    depth = low[t]
                    dead = close[t] < bottom if by_close else depth <= bottom
                    fill = min((top - depth) / (top - bottom), 1.0)
                    if g_touch[g] < 0:
                        g_touch[g] = t
                    if fill > g_fill[g]:
                        g_fill[g] = fill
                    if depth <= bottom and g_filled[g] < 0:
                        g_filled[g] = t
                    if dead:
                        g_dead[g] = t
                        continue
                    g_key[g] = max(depth, bottom) if g_fill[g] < 1.0 else bottom
                below[kept] = g
                kept += 1
                below_key = max(below_key, g_key[g])
            nbelow = kept
        if high[t] >= above_key:
            kept = 0
            above_key = np.inf
            for j in range(nabove):
                g = above[j]
                top = g_top[g]
                bottom = g_bot[g]
                if high[t] >= g_key[g]:
                    depth = high[t]
                    dead = close[t] > top if by_close else depth >= top
                    fill = min((depth - bottom) / (top - bottom), 1.0)
                    if g_touch[g] < 0:
                        g_touch[g] = t
                    if fill > g_fill[g]:
                        g_fill[g] = fill
                    if depth >= top and g_filled[g] < 0:
                        g_filled[g] = t
                    if dead:
                        g_dead[g] = t
                        continue
                    g_key[g] = min(depth, top) if g_fill[g] < 1.0 else top
                above[kept] = g
                kept += 1
                above_key = min(above_key, g_key[g])
            nabove = kept
        if t < 2:
            continue
        threshold = min_size
        if min_atr_fraction > 0:
            threshold = max(threshold, min_atr_fraction * atr[t]) if atr[t] == atr[t] else np.inf
        m = t - 1
        f = t - 2
        if low[t] > high[f] and low[t] - high[f] > threshold and (not require_middle or close[m] > open_[m]):
            g_dir[ng] = 1
            g_top[ng] = low[t]
            g_bot[ng] = high[f]
            g_at[ng] = t
            g_key[ng] = low[t]
            below[nbelow] = ng
            nbelow += 1
            below_key = max(below_key, low[t])
            ng += 1
        elif high[t] < low[f] and low[f] - high[t] > threshold and (not require_middle or close[m] < open_[m]):
            g_dir[ng] = -1
            g_top[ng] = low[f]
            g_bot[ng] = high[t]
            g_at[ng] = t
            g_key[ng] = high[t]
            above[nabove] = ng
            nabove += 1
            above_key = min(above_key, high[t])
            ng += 1
    return (
        g_dir[:ng], g_top[:ng], g_bot[:ng], g_at[:ng], g_touch[:ng], g_filled[:ng], g_dead[:ng], g_expired[:ng],
        g_fill[:ng],
    )  # fmt: skip
