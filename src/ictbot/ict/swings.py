"""Swing highs and lows: left/right fractals, alternated.

Candle p is a swing high when ``high[p]`` equals the maximum high of candles ``p-left … p+right`` (ties allowed), a
swing low likewise with lows; a candle that qualifies as both counts as a high. It is known at the close of candle
``p + right``. Swings then alternate: when a swing high is confirmed and the last kept swing is also a high, the new
one is kept only if it is strictly higher, and the old one gets ``superseded_at``; otherwise the new one is dropped
(lows mirror this). This is the causal form of smartmoneyconcepts' repeated clean-up pass.
"""

from __future__ import annotations

from collections import deque

import numba
import numpy as np

from ictbot.domain import Candle
from ictbot.ict.records import Swing

DEFAULT_LEFT = 5
DEFAULT_RIGHT = 5


def check_lengths(left: int, right: int) -> None:
    if left < 1 or right < 1:
        raise ValueError(f"swing lengths must be ≥ 1, got left={left}, right={right}")


class SwingDetector:
    """Feed closed candles; ``update`` returns the swings confirmed at that candle (at most one)."""

    __slots__ = ("_highs", "_last", "_lows", "_times", "left", "right")

    def __init__(self, left: int = DEFAULT_LEFT, right: int = DEFAULT_RIGHT) -> None:
        check_lengths(left, right)
        self.left = left
        self.right = right
        size = left + right + 1
        self._highs: deque[float] = deque(maxlen=size)
        self._lows: deque[float] = deque(maxlen=size)
        self._times: deque[int] = deque(maxlen=size)
        self._last: Swing | None = None

    @property
    def last(self) -> Swing | None:
        """The most recent kept swing."""
        return self._last

    def update(self, candle: Candle) -> list[Swing]:
        highs, lows = self._highs, self._lows
        highs.append(candle.high)
        lows.append(candle.low)
        self._times.append(candle.open_time)
        if len(highs) < highs.maxlen:
            return []
        p = self.left
        if highs[p] >= max(highs):
            return self._keep(1, highs[p], self._times[p], candle.open_time)
        if lows[p] <= min(lows):
            return self._keep(-1, lows[p], self._times[p], candle.open_time)
        return []

    def _keep(self, direction: int, price: float, formed_at: int, known_at: int) -> list[Swing]:
        last = self._last
        if last is not None and last.direction == direction:
            if (price - last.top) * direction <= 0:
                return []
            last.superseded_at = known_at
        self._last = Swing(direction, price, price, formed_at, known_at)
        return [self._last]


@numba.njit(cache=True)
def swing_kernel(high: np.ndarray, low: np.ndarray, left: int, right: int):
    """Batch twin of ``SwingDetector``: (pivot index, direction, price, confirm index, superseded index or -1)."""
    n = high.shape[0]
    pivot = np.empty(n, np.int64)
    direction = np.empty(n, np.int64)
    price = np.empty(n, np.float64)
    confirm = np.empty(n, np.int64)
    superseded = np.full(n, -1, np.int64)
    count = 0
    for t in range(left + right, n):
        p = t - right
        hp = high[p]
        lp = low[p]
        is_high = True
        is_low = True
        for j in range(p - left, t + 1):
            if high[j] > hp:
                is_high = False
            if low[j] < lp:
                is_low = False
        if is_high:
            d = 1
            v = hp
        elif is_low:
            d = -1
            v = lp
        else:
            continue
        if count > 0 and direction[count - 1] == d:
            if (v - price[count - 1]) * d <= 0:
                continue
            superseded[count - 1] = t
        pivot[count] = p
        direction[count] = d
        price[count] = v
        confirm[count] = t
        count += 1
    return pivot[:count], direction[:count], price[:count], confirm[:count], superseded[:count]
