"""Liquidity levels and sweeps.

**Equal highs / lows.** Each confirmed swing high (see ``swings``) is a candidate with tolerance
``tol = max(eq_fraction × price, eq_atr_fraction × ATR)`` taken at its confirmation (the ATR term counts as 0 before
the ATR exists). A later swing high within ``tol`` of an active candidate's price pairs with the oldest such candidate
into a buy-side ``eqh`` level (top = the higher, bottom = the lower price), known at the second swing's confirmation;
a swing within tolerance of an active ``eqh`` level is absorbed by it. A candidate retires once a high trades above
``price + tol``. Lows mirror this (``eql``, sell-side).

**Previous day / week.** When a candle completes a UTC day (week: Monday 00:00 UTC, as Binance's weekly candles), the
day's high and low become ``pdh`` / ``pdl`` levels (``pwh`` / ``pwl`` for weeks), known at that candle; if the
completing candle is missing, at the first candle of a later period. The period the data starts in is skipped unless
the first candle opens it.

**Sweep.** From the candle after ``known_at``, the first candle that trades beyond a level (buy-side: high above
``top``; sell-side: low below ``bottom``) ends it: **swept** if it closes back at or inside the level, **broken** if it
closes beyond.

**Age.** With ``max_age``, a level still resting ``max_age`` candles after it became known is no longer tracked
(**expired** at the next candle, before that candle can sweep it), and a swing high or low that has waited that long
for an equal one stops being a candidate.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from ictbot.domain import Candle
from ictbot.ict._zones import expire_oldest
from ictbot.ict.atr import AtrTracker
from ictbot.ict.records import LiquidityLevel, Swing

DAY_MS = 86_400_000
WEEK_MS = 7 * DAY_MS
_MONDAY_OFFSET_MS = 4 * DAY_MS  # 1970-01-01 was a Thursday
PERIOD_KINDS = (("pdh", "pdl"), ("pwh", "pwl"))
KIND_CODES = ("eqh", "eql", "pdh", "pdl", "pwh", "pwl")


def period_start(open_time: int, period_ms: int) -> int:
    offset = _MONDAY_OFFSET_MS if period_ms == WEEK_MS else 0
    return (open_time - offset) // period_ms * period_ms + offset


class _Period:
    __slots__ = ("emitted", "full", "high", "high_at", "low", "low_at", "start")

    def __init__(self, start: int, candle: Candle) -> None:
        self.start = start
        self.full = candle.open_time == start
        self.emitted = False
        self.high, self.high_at = candle.high, candle.open_time
        self.low, self.low_at = candle.low, candle.open_time


class LiquidityDetector:
    """Feed each closed candle with the swings confirmed at it; ``update`` returns the levels that became known,
    ``changed`` those swept or broken at that candle, ``active`` the levels still resting."""

    __slots__ = (
        "_above",
        "_above_key",
        "_atr",
        "_below",
        "_below_key",
        "_candidates_above",
        "_candidates_below",
        "_count",
        "_periods",
        "changed",
        "eq_atr_fraction",
        "eq_fraction",
        "max_age",
        "timeframe_ms",
    )

    def __init__(
        self,
        timeframe_ms: int,
        eq_fraction: float = 0.0,
        eq_atr_fraction: float = 0.1,
        atr_period: int = 14,
        max_age: int | None = None,
    ) -> None:
        self.timeframe_ms = timeframe_ms
        self.max_age = max_age
        self._count = 0  # candles seen: the index of the next one
        self.eq_fraction = eq_fraction
        self.eq_atr_fraction = eq_atr_fraction
        self._atr = AtrTracker(atr_period)
        self._above: list[list] = []  # buy-side levels: [level, anchor price, anchor tol, known index]
        self._below: list[list] = []
        self._candidates_above: list[list] = []  # swing highs not yet paired: [price, tol, formed_at, known index]
        self._candidates_below: list[list] = []
        self._above_key = math.inf  # a high above this may end a buy-side level or candidate
        self._below_key = -math.inf
        self._periods: list[_Period | None] = [None, None]
        self.changed: list[LiquidityLevel] = []

    @property
    def active(self) -> list[LiquidityLevel]:
        return [entry[0] for entry in self._above + self._below]

    def update(self, candle: Candle, swings: list[Swing]) -> list[LiquidityLevel]:
        self.changed = []
        atr = self._atr.update(candle.high, candle.low, candle.close)
        t = candle.open_time
        index = self._count
        self._count += 1
        if self.max_age is not None and self._expire(index - self.max_age, t):
            self._reset_keys()
        if candle.high > self._above_key:
            kept = []
            for entry in self._above:
                level = entry[0]
                if candle.high > level.top:
                    self._end(level, candle.close > level.top, t)
                else:
                    kept.append(entry)
            self._above = kept
            self._candidates_above = [c for c in self._candidates_above if candle.high <= c[0] + c[1]]
        if candle.low < self._below_key:
            kept = []
            for entry in self._below:
                level = entry[0]
                if candle.low < level.bottom:
                    self._end(level, candle.close < level.bottom, t)
                else:
                    kept.append(entry)
            self._below = kept
            self._candidates_below = [c for c in self._candidates_below if candle.low >= c[0] - c[1]]
        born: list[LiquidityLevel] = []
        for swing in swings:
            self._pair(swing, atr, t, index, born)
        for slot, period_ms in enumerate((DAY_MS, WEEK_MS)):
            self._track_period(slot, period_ms, candle, index, born)
        if swings or born or self.changed or candle.high > self._above_key or candle.low < self._below_key:
            self._reset_keys()
        return born

    def _expire(self, oldest: int, t: int) -> bool:
        """Retire levels and candidates known at a candle index below ``oldest``; True if any was."""
        retired = False
        for levels in (self._above, self._below):
            while levels and levels[0][3] < oldest:
                level = levels.pop(0)[0]
                level.expired_at = t
                self.changed.append(level)
                retired = True
        for candidates in (self._candidates_above, self._candidates_below):
            while candidates and candidates[0][3] < oldest:
                del candidates[0]
                retired = True
        return retired

    def _reset_keys(self) -> None:
        self._above_key = min(
            [e[0].top for e in self._above] + [c[0] + c[1] for c in self._candidates_above], default=math.inf
        )
        self._below_key = max(
            [e[0].bottom for e in self._below] + [c[0] - c[1] for c in self._candidates_below], default=-math.inf
        )

    def _end(self, level: LiquidityLevel, beyond: bool, t: int) -> None:
        if beyond:
            level.broken_at = t
        else:
            level.swept_at = t
        self.changed.append(level)

    def _pair(self, swing: Swing, atr: float, t: int, index: int, born: list[LiquidityLevel]) -> None:
        d, price = swing.direction, swing.top
        levels = self._above if d > 0 else self._below
        for _, anchor, tol, _ in levels:
            if abs(price - anchor) <= tol:
                return
        candidates = self._candidates_above if d > 0 else self._candidates_below
        for i, (anchor, tol, formed_at, _) in enumerate(candidates):
            if abs(price - anchor) <= tol:
                del candidates[i]
                kind = "eqh" if d > 0 else "eql"
                level = LiquidityLevel(d, max(price, anchor), min(price, anchor), formed_at, t, kind)
                born.append(level)
                levels.append([level, anchor, tol, index])
                return
        atr_part = self.eq_atr_fraction * atr if atr == atr else 0.0
        candidates.append([price, max(self.eq_fraction * price, atr_part), swing.formed_at, index])

    def _track_period(self, slot: int, period_ms: int, candle: Candle, index: int, born: list[LiquidityLevel]) -> None:
        start = period_start(candle.open_time, period_ms)
        current = self._periods[slot]
        if current is not None and current.start != start:
            self._emit_period(slot, current, candle.open_time, index, born)
            current = None
        if current is None:
            current = self._periods[slot] = _Period(start, candle)
        else:
            if candle.high > current.high:
                current.high, current.high_at = candle.high, candle.open_time
            if candle.low < current.low:
                current.low, current.low_at = candle.low, candle.open_time
        if candle.open_time + self.timeframe_ms >= start + period_ms:
            self._emit_period(slot, current, candle.open_time, index, born)

    def _emit_period(self, slot: int, period: _Period, t: int, index: int, born: list[LiquidityLevel]) -> None:
        if period.emitted or not period.full:
            return
        period.emitted = True
        high_kind, low_kind = PERIOD_KINDS[slot]
        for level in (
            LiquidityLevel(1, period.high, period.high, period.high_at, t, high_kind),
            LiquidityLevel(-1, period.low, period.low, period.low_at, t, low_kind),
        ):
            born.append(level)
            (self._above if level.direction > 0 else self._below).append([level, math.nan, -1.0, index])


@numba.njit(cache=True)
def _emit_period_levels(
    slot,
    t,
    p_high,
    p_high_at,
    p_low,
    p_low_at,
    l_kind,
    l_dir,
    l_top,
    l_bot,
    l_formed,
    l_known,
    above,
    below,
    nl,
    na,
    nb,
):
    """Append the finished period's high (buy-side) and low (sell-side) levels; returns the new counts."""
    for side in range(2):
        l_kind[nl] = 2 + 2 * slot + side
        l_dir[nl] = 1 - 2 * side
        price = p_high[slot] if side == 0 else p_low[slot]
        l_top[nl] = price
        l_bot[nl] = price
        l_formed[nl] = p_high_at[slot] if side == 0 else p_low_at[slot]
        l_known[nl] = t
        if side == 0:
            above[na] = nl
            na += 1
        else:
            below[nb] = nl
            nb += 1
        nl += 1
    return nl, na, nb


@numba.njit(cache=True)
def liquidity_kernel(
    open_time, high, low, close, atr, sw_pivot, sw_dir, sw_price, sw_confirm, eq_fraction, eq_atr_fraction, tf_ms,
    max_age,
):  # fmt: skip
    """Batch twin of ``LiquidityDetector`` (``max_age`` 0: never expire): columns (kind code, direction, top, bottom,
    formed index, known index, swept, broken and expired index); kind codes index ``KIND_CODES``."""
    n = high.shape[0]
    cap = 3 * n + 8
    l_kind = np.empty(cap, np.int64)
    l_dir = np.empty(cap, np.int64)
    l_top = np.empty(cap, np.float64)
    l_bot = np.empty(cap, np.float64)
    l_formed = np.empty(cap, np.int64)
    l_known = np.empty(cap, np.int64)
    l_swept = np.full(cap, -1, np.int64)
    l_broken = np.full(cap, -1, np.int64)
    l_expired = np.full(cap, -1, np.int64)
    l_anchor = np.full(cap, np.nan)
    l_tol = np.full(cap, -1.0)
    above = np.empty(cap, np.int64)
    below = np.empty(cap, np.int64)
    na = 0
    nb = 0
    c_price = np.empty(n, np.float64)
    c_tol = np.empty(n, np.float64)
    c_formed = np.empty(n, np.int64)
    c_known = np.empty(n, np.int64)
    c_gone = np.empty(n, np.int64)  # when a candidate stopped waiting (not reported)
    c_up = np.empty(n, np.int64)
    c_dn = np.empty(n, np.int64)
    ncu = 0
    ncd = 0
    nc = 0
    nl = 0
    above_key = np.inf
    below_key = -np.inf
    p_start = np.full(2, -1, np.int64)
    p_full = np.zeros(2, np.bool_)
    p_emitted = np.zeros(2, np.bool_)
    p_high = np.zeros(2)
    p_high_at = np.zeros(2, np.int64)
    p_low = np.zeros(2)
    p_low_at = np.zeros(2, np.int64)
    k = 0
    ns = sw_pivot.shape[0]
    for t in range(n):
        if max_age > 0:
            held = na + nb + ncu + ncd
            na = expire_oldest(above, na, l_known, l_expired, t, t - max_age)
            nb = expire_oldest(below, nb, l_known, l_expired, t, t - max_age)
            ncu = expire_oldest(c_up, ncu, c_known, c_gone, t, t - max_age)
            ncd = expire_oldest(c_dn, ncd, c_known, c_gone, t, t - max_age)
            if na + nb + ncu + ncd < held:
                above_key, below_key = _keys(l_top, l_bot, above, na, below, nb, c_price, c_tol, c_up, ncu, c_dn, ncd)
        dirty = high[t] > above_key or low[t] < below_key
        if high[t] > above_key:
            kept = 0
            for j in range(na):
                z = above[j]
                if high[t] > l_top[z]:
                    if close[t] > l_top[z]:
                        l_broken[z] = t
                    else:
                        l_swept[z] = t
                else:
                    above[kept] = z
                    kept += 1
            na = kept
            kept = 0
            for j in range(ncu):
                c = c_up[j]
                if high[t] <= c_price[c] + c_tol[c]:
                    c_up[kept] = c
                    kept += 1
            ncu = kept
        if low[t] < below_key:
            kept = 0
            for j in range(nb):
                z = below[j]
                if low[t] < l_bot[z]:
                    if close[t] < l_bot[z]:
                        l_broken[z] = t
                    else:
                        l_swept[z] = t
                else:
                    below[kept] = z
                    kept += 1
            nb = kept
            kept = 0
            for j in range(ncd):
                c = c_dn[j]
                if low[t] >= c_price[c] - c_tol[c]:
                    c_dn[kept] = c
                    kept += 1
            ncd = kept
        while k < ns and sw_confirm[k] == t:
            dirty = True
            d = sw_dir[k]
            price = sw_price[k]
            k += 1
            absorbed = False
            count = na if d > 0 else nb
            for j in range(count):
                z = above[j] if d > 0 else below[j]
                if abs(price - l_anchor[z]) <= l_tol[z]:
                    absorbed = True
                    break
            if absorbed:
                continue
            paired = -1
            count = ncu if d > 0 else ncd
            for j in range(count):
                c = c_up[j] if d > 0 else c_dn[j]
                if abs(price - c_price[c]) <= c_tol[c]:
                    paired = j
                    break
            if paired >= 0:
                c = c_up[paired] if d > 0 else c_dn[paired]
                if d > 0:
                    for j in range(paired, ncu - 1):
                        c_up[j] = c_up[j + 1]
                    ncu -= 1
                else:
                    for j in range(paired, ncd - 1):
                        c_dn[j] = c_dn[j + 1]
                    ncd -= 1
                l_kind[nl] = 0 if d > 0 else 1
                l_dir[nl] = d
                l_top[nl] = max(price, c_price[c])
                l_bot[nl] = min(price, c_price[c])
                l_formed[nl] = c_formed[c]
                l_known[nl] = t
                l_anchor[nl] = c_price[c]
                l_tol[nl] = c_tol[c]
                if d > 0:
                    above[na] = nl
                    na += 1
                else:
                    below[nb] = nl
                    nb += 1
                nl += 1
                continue
            atr_part = eq_atr_fraction * atr[t] if atr[t] == atr[t] else 0.0
            c_price[nc] = price
            c_tol[nc] = max(eq_fraction * price, atr_part)
            c_formed[nc] = sw_pivot[k - 1]
            c_known[nc] = t
            if d > 0:
                c_up[ncu] = nc
                ncu += 1
            else:
                c_dn[ncd] = nc
                ncd += 1
            nc += 1
        for slot in range(2):
            period_ms = DAY_MS if slot == 0 else WEEK_MS
            offset = 0 if slot == 0 else _MONDAY_OFFSET_MS
            start = (open_time[t] - offset) // period_ms * period_ms + offset
            emit = False
            if p_start[slot] >= 0 and p_start[slot] != start:
                emit = not p_emitted[slot] and p_full[slot]
                p_emitted[slot] = True
                if emit:
                    nl, na, nb = _emit_period_levels(
                        slot, t, p_high, p_high_at, p_low, p_low_at, l_kind, l_dir, l_top, l_bot, l_formed, l_known,
                        above, below, nl, na, nb,
                    )  # fmt: skip
                    dirty = True
                p_start[slot] = -1
            if p_start[slot] < 0:
                p_start[slot] = start
                p_full[slot] = open_time[t] == start
                p_emitted[slot] = False
                p_high[slot] = high[t]
                p_high_at[slot] = t
                p_low[slot] = low[t]
                p_low_at[slot] = t
            else:
                if high[t] > p_high[slot]:
                    p_high[slot] = high[t]
                    p_high_at[slot] = t
                if low[t] < p_low[slot]:
                    p_low[slot] = low[t]
                    p_low_at[slot] = t
            if open_time[t] + tf_ms >= start + period_ms and not p_emitted[slot]:
                p_emitted[slot] = True
                if p_full[slot]:
                    nl, na, nb = _emit_period_levels(
                        slot, t, p_high, p_high_at, p_low, p_low_at, l_kind, l_dir, l_top, l_bot, l_formed, l_known,
                        above, below, nl, na, nb,
                    )  # fmt: skip
                    dirty = True
        if dirty:
            above_key, below_key = _keys(l_top, l_bot, above, na, below, nb, c_price, c_tol, c_up, ncu, c_dn, ncd)
    return (
        l_kind[:nl], l_dir[:nl], l_top[:nl], l_bot[:nl], l_formed[:nl], l_known[:nl], l_swept[:nl], l_broken[:nl],
        l_expired[:nl],
    )  # fmt: skip


@numba.njit(cache=True)
def _keys(l_top, l_bot, above, na, below, nb, c_price, c_tol, c_up, ncu, c_dn, ncd):
    """The high above which a buy-side level or candidate may end, and the low below which a sell-side one may."""
    above_key = np.inf
    for j in range(na):
        above_key = min(above_key, l_top[above[j]])
    for j in range(ncu):
        above_key = min(above_key, c_price[c_up[j]] + c_tol[c_up[j]])
    below_key = -np.inf
    for j in range(nb):
        below_key = max(below_key, l_bot[below[j]])
    for j in range(ncd):
        below_key = max(below_key, c_price[c_dn[j]] - c_tol[c_dn[j]])
    return above_key, below_key
