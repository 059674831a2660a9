"""Wilder's average true range, computed causally (value at t uses candles ≤ t).

The first ``period`` true ranges are averaged (the first candle's true range is its high − low); afterwards
``atr = (atr · (period − 1) + tr) / period``. Before ``period`` candles the ATR is NaN. Batch and incremental forms
perform the same float operations in the same order, so they agree bit for bit.
"""

from __future__ import annotations

import math

import numba
import numpy as np


@numba.njit(cache=True)
def atr_series(high: np.ndarray, low: np.ndarray, close: np.ndarray, period: int) -> np.ndarray:
    n = high.shape[0]
    out = np.full(n, np.nan)
    total = 0.0
    value = np.nan
    for i in range(n):
        tr = high[i] - low[i]
        if i > 0:
            tr = max(tr, abs(high[i] - close[i - 1]), abs(low[i] - close[i - 1]))
        if i < period:
            total += tr
            if i == period - 1:
                value = total / period
        else:
            value = (value * (period - 1) + tr) / period
        out[i] = value
    return out


class AtrTracker:
    """Incremental twin of ``atr_series``."""

    __slots__ = ("_count", "_prev_close", "_total", "period", "value")

    def __init__(self, period: int = 14) -> None:
        if period < 1:
            raise ValueError("ATR period must be ≥ 1")
        self.period = period
        self.value = math.nan
        self._count = 0
        self._total = 0.0
        self._prev_close: float | None = None

    def update(self, high: float, low: float, close: float) -> float:
        tr = high - low
        if self._prev_close is not None:
            pc = self._prev_close
            tr = max(tr, abs(high - pc), abs(low - pc))
        p = self.period
        if self._count < p:
            self._total += tr
            if self._count == p - 1:
                self.value = self._total / p
        else:
            self.value = (self.value * (p - 1) + tr) / p
        self._count += 1
        self._prev_close = close
        return self.value
