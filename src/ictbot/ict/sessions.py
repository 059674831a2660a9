"""Sessions / killzones in New York local time, DST-correct.

A candle belongs to a killzone when its **open time**, converted to America/New_York wall time with ``zoneinfo``,
falls in ``[start, end)``. Windows stay within one local day (``end`` may be 24:00). Defaults (ICT): Asia
20:00–24:00, London 02:00–05:00, New York AM 07:00–10:00, New York PM 13:30–16:00; pass your own ``Killzone`` tuple.

Each occurrence yields a ``SessionRange`` record (its high and low), known at the close of the candle that ends the
window (``open + timeframe ≥ end``), or — if that candle is missing — at the next candle. An occurrence whose opening
candle is missing (the data starts mid-window, or a gap) is not reported.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import numba
import numpy as np

from ictbot.domain import Candle
from ictbot.ict.killzones import DEFAULT_KILLZONES, Killzone
from ictbot.ict.records import SessionRange

__all__ = ["DEFAULT_KILLZONES", "Killzone", "SessionDetector", "killzone_of", "local_times", "session_kernel"]

NEW_YORK = ZoneInfo("America/New_York")
_HOUR_MS = 3_600_000
_MINUTE_MS = 60_000


def utc_offset_ms(open_time: int) -> int:
    """New York's UTC offset at this instant; constant within each UTC hour, as DST switches on the hour."""
    hour = open_time // _HOUR_MS * _HOUR_MS
    offset = datetime.fromtimestamp(hour / 1000, tz=UTC).astimezone(NEW_YORK).utcoffset()
    assert offset is not None
    return int(offset.total_seconds() * 1000)


def local_times(open_time: np.ndarray) -> np.ndarray:
    """New York wall-clock epoch ms for each UTC open time (vectorised over distinct hours)."""
    hours = open_time // _HOUR_MS
    if hours.size == 0:
        return open_time.copy()
    firsts = np.flatnonzero(np.diff(hours, prepend=hours[0] - 1))  # open times are sorted, so hours are too
    offsets = _hour_offsets(hours[firsts])
    return open_time + np.repeat(offsets, np.diff(np.append(firsts, hours.size)))


# New York's clock changes are months apart, so one offset at both ends of a shorter span holds all through it.
_STEADY_HOURS = 60 * 24


def _hour_offsets(hours: np.ndarray) -> np.ndarray:
    """UTC offsets of sorted distinct UTC hours, looked up only around the clock changes (bisection)."""
    out = np.empty(hours.shape[0], dtype=np.int64)

    def offset(i: int) -> int:
        return utc_offset_ms(int(hours[i]) * _HOUR_MS)

    def fill(lo: int, hi: int, at_lo: int, at_hi: int) -> None:
        if at_lo == at_hi and hours[hi] - hours[lo] <= _STEADY_HOURS:
            out[lo : hi + 1] = at_lo
        elif hi - lo <= 1:
            out[lo], out[hi] = at_lo, at_hi
        else:
            mid = (lo + hi) // 2
            at_mid = offset(mid)
            fill(lo, mid, at_lo, at_mid)
            fill(mid, hi, at_mid, at_hi)

    last = hours.shape[0] - 1
    fill(0, last, offset(0), offset(last))
    return out


def killzone_of(open_time: int, killzones: tuple[Killzone, ...] = DEFAULT_KILLZONES) -> str | None:
    """The name of the killzone a candle opening at ``open_time`` belongs to, if any."""
    minute = (open_time + utc_offset_ms(open_time)) // _MINUTE_MS % 1440
    for zone in killzones:
        if zone.start <= minute < zone.end:
            return zone.name
    return None


class _Occurrence:
    __slots__ = ("day", "emitted", "formed_at", "full", "high", "low")

    def __init__(self, day: int, candle: Candle, full: bool) -> None:
        self.day = day
        self.full = full
        self.emitted = False
        self.formed_at = candle.open_time
        self.high = candle.high
        self.low = candle.low


class SessionDetector:
    """Feed closed candles; ``update`` returns the killzone ranges completed at that candle; ``current`` names the
    killzone of the last candle (or ``None``)."""

    __slots__ = ("_hour", "_offset", "_open", "current", "killzones", "timeframe_ms")

    def __init__(self, timeframe_ms: int, killzones: tuple[Killzone, ...] = DEFAULT_KILLZONES) -> None:
        self.timeframe_ms = timeframe_ms
        self.killzones = killzones
        self.current: str | None = None
        self._open: list[_Occurrence | None] = [None] * len(killzones)
        self._hour = -1
        self._offset = 0

    def update(self, candle: Candle) -> list[SessionRange]:
        hour = candle.open_time // _HOUR_MS
        if hour != self._hour:
            self._hour, self._offset = hour, utc_offset_ms(candle.open_time)
        local = candle.open_time + self._offset
        day, minute = divmod(local // _MINUTE_MS, 1440)
        tf_minutes = self.timeframe_ms // _MINUTE_MS
        done: list[SessionRange] = []
        self.current = None
        for i, zone in enumerate(self.killzones):
            inside = zone.start <= minute < zone.end
            occ = self._open[i]
            if occ is not None and (not inside or occ.day != day):
                self._finish(zone, occ, candle.open_time, done)
                occ = self._open[i] = None
            if not inside:
                continue
            self.current = self.current or zone.name
            if occ is None:
                occ = self._open[i] = _Occurrence(day, candle, minute - zone.start < tf_minutes)
            else:
                occ.high = max(occ.high, candle.high)
                occ.low = min(occ.low, candle.low)
            if minute + tf_minutes >= zone.end:
                self._finish(zone, occ, candle.open_time, done)
        return done

    @staticmethod
    def _finish(zone: Killzone, occ: _Occurrence, t: int, done: list[SessionRange]) -> None:
        if occ.full and not occ.emitted:
            done.append(SessionRange(0, occ.high, occ.low, occ.formed_at, t, "killzone", zone.name))
        occ.emitted = True


@numba.njit(cache=True)
def session_kernel(local_minute, local_day, high, low, start, end, tf_minutes):
    """Batch twin of ``SessionDetector`` for one killzone: columns (top, bottom, formed index, known index)."""
    n = high.shape[0]
    top = np.empty(n)
    bot = np.empty(n)
    formed = np.empty(n, np.int64)
    known = np.empty(n, np.int64)
    count = 0
    open_ = False
    day = -1
    full = False
    emitted = False
    hi = 0.0
    lo = 0.0
    first = 0
    for t in range(n):
        m = local_minute[t]
        inside = start <= m < end
        if open_ and (not inside or day != local_day[t]):
            if full and not emitted:
                top[count] = hi
                bot[count] = lo
                formed[count] = first
                known[count] = t
                count += 1
            open_ = False
        if not inside:
            continue
        if not open_:
            open_ = True
            day = local_day[t]
            full = m - start < tf_minutes
            emitted = False
            hi = high[t]
            lo = low[t]
            first = t
        else:
            hi = max(hi, high[t])
            lo = min(lo, low[t])
        if m + tf_minutes >= end:
            if full and not emitted:
                top[count] = hi
                bot[count] = lo
                formed[count] = first
                known[count] = t
                count += 1
            emitted = True
    return top[:count], bot[:count], formed[:count], known[:count]
