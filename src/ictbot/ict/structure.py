"""Market structure: BOS / CHoCH from confirmed swings, the trend, and the dealing range.

State: the last kept swing high H and swing low L (see ``swings``), each breakable once, and ``trend`` (+1, −1, 0
before the first break). At each closed candle, swings confirmed at that candle are taken first; then if the close
(or, with ``break_on="wick"``, the high) is above an unbroken H, a bullish break is emitted: **CHoCH** if the trend was
bearish, otherwise **BOS**; the trend becomes bullish. Lows mirror this (checked after highs on the same candle).

Each break records the leg's origin: for a bullish break of H (swing candle h) at candle t, the lowest low of candles
``h+1 … t-1`` (the latest on ties). The dealing range after a bullish break runs from that low (``bottom``) to the
highest high since it (``top``, extended by later highs until the next break); bearish mirrors this. Equilibrium is
its midpoint; above it is premium, below discount; the optimal-trade-entry band is the 0.62–0.79 retracement of the
leg.
"""

from __future__ import annotations

from collections import deque
from typing import Literal

import numba
import numpy as np

from ictbot.domain import Candle
from ictbot.ict.records import StructureBreak, Swing
from ictbot.ict.swings import DEFAULT_LEFT, DEFAULT_RIGHT, SwingDetector

BreakOn = Literal["close", "wick"]
OTE_SHALLOW = 0.62
OTE_DEEP = 0.79


class DealingRange:
    """The current leg: ``direction`` +1 after a bullish break (bottom = origin), −1 after a bearish one."""

    __slots__ = ("bottom", "direction", "formed_at", "known_at", "top")

    def __init__(self, direction: int, top: float, bottom: float, formed_at: int, known_at: int) -> None:
        self.direction = direction
        self.top = top
        self.bottom = bottom
        self.formed_at = formed_at
        self.known_at = known_at

    @property
    def equilibrium(self) -> float:
        return (self.top + self.bottom) / 2

    def retracement(self, price: float) -> float:
        """How far ``price`` has retraced the leg: 0 at its end, 1 at its origin, > 1 beyond the origin."""
        span = self.top - self.bottom
        if span <= 0:
            return 0.0
        return (self.top - price) / span if self.direction > 0 else (price - self.bottom) / span

    def in_premium(self, price: float) -> bool:
        return price > self.equilibrium

    def in_discount(self, price: float) -> bool:
        return price < self.equilibrium

    @property
    def ote(self) -> tuple[float, float]:
        """(low, high) prices of the 0.62–0.79 retracement band."""
        span = self.top - self.bottom
        if self.direction > 0:
            return self.top - OTE_DEEP * span, self.top - OTE_SHALLOW * span
        return self.bottom + OTE_SHALLOW * span, self.bottom + OTE_DEEP * span

    def __repr__(self) -> str:
        return f"DealingRange(direction={self.direction}, top={self.top}, bottom={self.bottom})"


class LegTracker:
    """Running origin of the leg after a swing: its extreme candle and the last opposite-colour candle up to it.

    ``sign`` −1 tracks lows after a swing high (bullish breaks), +1 tracks highs after a swing low."""

    __slots__ = ("extreme", "far", "last_opposite", "opposite", "sign")

    def __init__(self, sign: int) -> None:
        self.sign = sign
        self.extreme: Candle | None = None
        self.opposite: Candle | None = None
        self.last_opposite: Candle | None = None
        self.far = 0.0

    def reset(self, candles) -> None:
        self.extreme = self.opposite = self.last_opposite = None
        for c in candles:
            self.feed(c)

    def feed(self, c: Candle) -> None:
        ext = self.extreme
        if self.sign < 0:
            is_opposite = c.close < c.open
            if ext is None or c.low <= ext.low:
                self.extreme = c
                self.opposite = c if is_opposite or self.last_opposite is None else self.last_opposite
                self.far = c.high
            elif c.high > self.far:
                self.far = c.high
        else:
            is_opposite = c.close > c.open
            if ext is None or c.high >= ext.high:
                self.extreme = c
                self.opposite = c if is_opposite or self.last_opposite is None else self.last_opposite
                self.far = c.low
            elif c.low < self.far:
                self.far = c.low
        if is_opposite:
            self.last_opposite = c


class StructureDetector:
    """Feed closed candles; ``update`` returns the breaks at that candle. Owns its ``SwingDetector``.

    After ``update``: ``new_swings`` (swings confirmed at that candle), ``trend``, ``dealing_range``, and
    ``origins`` — for each break, the (extreme candle, last opposite-colour candle) its order block is taken from."""

    __slots__ = (
        "_buffer",
        "_down_leg",
        "_high",
        "_high_broken",
        "_low",
        "_low_broken",
        "_up_leg",
        "break_on",
        "dealing_range",
        "new_swings",
        "origins",
        "swings",
        "trend",
    )

    def __init__(self, left: int = DEFAULT_LEFT, right: int = DEFAULT_RIGHT, break_on: BreakOn = "close") -> None:
        if break_on not in ("close", "wick"):
            raise ValueError(f"break_on must be 'close' or 'wick', got {break_on!r}")
        self.swings = SwingDetector(left, right)
        self.break_on = break_on
        self.trend = 0
        self.dealing_range: DealingRange | None = None
        self.new_swings: list[Swing] = []
        self.origins: list[tuple[Candle, Candle]] = []
        self._buffer: deque[Candle] = deque(maxlen=right)
        self._high: Swing | None = None
        self._low: Swing | None = None
        self._high_broken = False
        self._low_broken = False
        self._up_leg = LegTracker(-1)
        self._down_leg = LegTracker(1)

    @property
    def swing_high(self) -> Swing | None:
        return self._high

    @property
    def swing_low(self) -> Swing | None:
        return self._low

    def update(self, candle: Candle) -> list[StructureBreak]:
        self.new_swings = swings = self.swings.update(candle)
        for swing in swings:
            since_pivot = list(self._buffer)[1:]
            if swing.direction > 0:
                self._high, self._high_broken = swing, False
                self._up_leg.reset(since_pivot)
            else:
                self._low, self._low_broken = swing, False
                self._down_leg.reset(since_pivot)
        breaks: list[StructureBreak] = []
        self.origins = []
        wick = self.break_on == "wick"
        high, low = self._high, self._low
        if high is not None and not self._high_broken and (candle.high if wick else candle.close) > high.top:
            self._high_broken = True
            breaks.append(self._break(1, high, self._up_leg, candle))
        if low is not None and not self._low_broken and (candle.low if wick else candle.close) < low.top:
            self._low_broken = True
            breaks.append(self._break(-1, low, self._down_leg, candle))
        if high is not None:
            self._up_leg.feed(candle)
        if low is not None:
            self._down_leg.feed(candle)
        rng = self.dealing_range
        if rng is not None and rng.known_at != candle.open_time:
            if rng.direction > 0 and candle.high > rng.top:
                rng.top = candle.high
            elif rng.direction < 0 and candle.low < rng.bottom:
                rng.bottom = candle.low
        self._buffer.append(candle)
        return breaks

    def _break(self, direction: int, swing: Swing, leg: LegTracker, candle: Candle) -> StructureBreak:
        kind = "choch" if self.trend == -direction else "bos"
        self.trend = direction
        ext = leg.extreme
        assert ext is not None and leg.opposite is not None
        self.origins.append((ext, leg.opposite))
        if direction > 0:
            origin, far = ext.low, max(leg.far, candle.high)
            self.dealing_range = DealingRange(1, far, origin, ext.open_time, candle.open_time)
        else:
            origin, far = ext.high, min(leg.far, candle.low)
            self.dealing_range = DealingRange(-1, origin, far, ext.open_time, candle.open_time)
        return StructureBreak(
            direction, swing.top, swing.top, swing.formed_at, candle.open_time, kind, origin, ext.open_time
        )


@numba.njit(cache=True)
def _leg_scan(open_, high, low, close, start, stop, sign):
    """Batch twin of ``LegTracker`` over candles start … stop-1: (extreme, opposite, last opposite index, far)."""
    ext = -1
    opp = -1
    last_opp = -1
    far = 0.0
    for i in range(start, stop):
        if sign < 0:
            is_opp = close[i] < open_[i]
            if ext < 0 or low[i] <= low[ext]:
                ext = i
                opp = i if (is_opp or last_opp < 0) else last_opp
                far = high[i]
            elif high[i] > far:
                far = high[i]
        else:
            is_opp = close[i] > open_[i]
            if ext < 0 or high[i] >= high[ext]:
                ext = i
                opp = i if (is_opp or last_opp < 0) else last_opp
                far = low[i]
            elif low[i] < far:
                far = low[i]
        if is_opp:
            last_opp = i
    return ext, opp, last_opp, far


@numba.njit(cache=True)
def structure_kernel(open_, high, low, close, sw_pivot, sw_dir, sw_price, sw_confirm, wick):
    """Batch twin of ``StructureDetector``.

    Returns break columns (direction, choch flag, level, swing index, break index, extreme index, opposite index,
    extreme price) and per-candle state after each candle (trend, range direction, range top, range bottom)."""
    n = high.shape[0]
    b_dir = np.empty(n, np.int64)
    b_choch = np.empty(n, np.bool_)
    b_level = np.empty(n, np.float64)
    b_swing = np.empty(n, np.int64)
    b_at = np.empty(n, np.int64)
    b_ext = np.empty(n, np.int64)
    b_opp = np.empty(n, np.int64)
    b_origin = np.empty(n, np.float64)
    trend_at = np.zeros(n, np.int64)
    rng_dir_at = np.zeros(n, np.int64)
    rng_top_at = np.full(n, np.nan)
    rng_bot_at = np.full(n, np.nan)
    nb = 0
    trend = 0
    h_idx = -1
    h_broken = False
    l_idx = -1
    l_broken = False
    up_ext = -1
    up_opp = -1
    up_far = 0.0
    up_last = -1
    dn_ext = -1
    dn_opp = -1
    dn_far = 0.0
    dn_last = -1
    rng_dir = 0
    rng_top = np.nan
    rng_bot = np.nan
    rng_at = -1
    k = 0
    ns = sw_pivot.shape[0]
    for t in range(n):
        while k < ns and sw_confirm[k] == t:
            p = sw_pivot[k]
            if sw_dir[k] > 0:
                h_idx = p
                h_broken = False
                up_ext, up_opp, up_last, up_far = _leg_scan(open_, high, low, close, p + 1, t, -1)
            else:
                l_idx = p
                l_broken = False
                dn_ext, dn_opp, dn_last, dn_far = _leg_scan(open_, high, low, close, p + 1, t, 1)
            k += 1
        if h_idx >= 0 and not h_broken and (high[t] if wick else close[t]) > high[h_idx]:
            h_broken = True
            b_dir[nb] = 1
            b_choch[nb] = trend == -1
            b_level[nb] = high[h_idx]
            b_swing[nb] = h_idx
            b_at[nb] = t
            b_ext[nb] = up_ext
            b_opp[nb] = up_opp
            b_origin[nb] = low[up_ext]
            nb += 1
            trend = 1
            rng_dir = 1
            rng_bot = low[up_ext]
            rng_top = max(up_far, high[t])
            rng_at = t
        if l_idx >= 0 and not l_broken and (low[t] if wick else close[t]) < low[l_idx]:
            l_broken = True
            b_dir[nb] = -1
            b_choch[nb] = trend == 1
            b_level[nb] = low[l_idx]
            b_swing[nb] = l_idx
            b_at[nb] = t
            b_ext[nb] = dn_ext
            b_opp[nb] = dn_opp
            b_origin[nb] = high[dn_ext]
            nb += 1
            trend = -1
            rng_dir = -1
            rng_top = high[dn_ext]
            rng_bot = min(dn_far, low[t])
            rng_at = t
        if h_idx >= 0:
            is_opp = close[t] < open_[t]
            if up_ext < 0 or low[t] <= low[up_ext]:
                up_ext = t
                up_opp = t if (is_opp or up_last < 0) else up_last
                up_far = high[t]
            elif high[t] > up_far:
                up_far = high[t]
            if is_opp:
                up_last = t
        if l_idx >= 0:
            is_opp = close[t] > open_[t]
            if dn_ext < 0 or high[t] >= high[dn_ext]:
                dn_ext = t
                dn_opp = t if (is_opp or dn_last < 0) else dn_last
                dn_far = low[t]
            elif low[t] < dn_far:
                dn_far = low[t]
            if is_opp:
                dn_last = t
        if rng_dir != 0 and rng_at != t:
            if rng_dir > 0 and high[t] > rng_top:
                rng_top = high[t]
            elif rng_dir < 0 and low[t] < rng_bot:
                rng_bot = low[t]
        trend_at[t] = trend
        rng_dir_at[t] = rng_dir
        rng_top_at[t] = rng_top
        rng_bot_at[t] = rng_bot
    return (
        (b_dir[:nb], b_choch[:nb], b_level[:nb], b_swing[:nb], b_at[:nb], b_ext[:nb], b_opp[:nb], b_origin[:nb]),
        (trend_at, rng_dir_at, rng_top_at, rng_bot_at),
    )
