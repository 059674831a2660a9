"""Active zones of one side, ordered by the price that can next change them.

A bullish zone changes only when a low reaches its trigger key; a bearish one when a high does. Keeping the keys
sorted lets a candle visit only the zones it reaches instead of every zone still alive, which matters once hundreds of
untouched zones pile up far from price. Zones come back in the order they were added, so the detectors report
changes in the same order as their batch twins.

With ``track_age``, each zone also remembers the candle index it was added at, so that zones nothing has ended can be
retired once they are old (``expire``): a detector that runs for months then holds a bounded number of zones.
"""

from __future__ import annotations

import bisect
import math
from collections import deque
from typing import Any

import numba
import numpy as np


class ZoneSide:
    """Zones with a trigger key each; ``direction`` +1 reacts to lows at or below the key, −1 to highs at or above."""

    __slots__ = ("_ages", "_entries", "_keys", "_live", "_seq", "direction")

    def __init__(self, direction: int, track_age: bool = False) -> None:
        self.direction = direction
        self._keys: list[float] = []
        self._entries: list[tuple[float, int, Any]] = []
        self._seq = 0
        self._ages: deque[tuple[int, int, Any]] | None = deque() if track_age else None  # (index, seq, zone)
        self._live: dict[int, float] = {}  # seq → current key of each zone held, when ages are tracked

    def add(self, zone: Any, key: float, index: int = 0) -> None:
        """Add a zone known at candle ``index`` (counted by the detector; used only when ages are tracked)."""
        self._seq += 1
        if self._ages is not None:
            self._ages.append((index, self._seq, zone))
        self._insert((key, self._seq, zone))

    def take_reached(self, price: float) -> list[tuple[float, int, Any]]:
        """Remove and return, oldest first, the zones whose key ``price`` reaches."""
        if self.direction > 0:
            cut = bisect.bisect_left(self._keys, price)
            reached = self._entries[cut:]
            del self._keys[cut:], self._entries[cut:]
        else:
            cut = bisect.bisect_right(self._keys, price)
            reached = self._entries[:cut]
            del self._keys[:cut], self._entries[:cut]
        if self._ages is not None:
            for entry in reached:
                del self._live[entry[1]]
        reached.sort(key=lambda entry: entry[1])
        return reached

    def put_back(self, entry: tuple[float, int, Any], key: float) -> None:
        """Return a zone taken by ``take_reached`` with its new key, keeping its place in the adding order."""
        self._insert((key, entry[1], entry[2]))

    def expire(self, oldest: int, at: int, changed: list[Any]) -> None:
        """Retire the zones still held that were added at a candle index below ``oldest``: each gets
        ``expired_at = at`` and is appended to ``changed``, oldest first."""
        ages = self._ages
        while ages and ages[0][0] < oldest:
            _, seq, zone = ages.popleft()
            key = self._live.pop(seq, None)
            if key is None:  # ended before it grew old
                continue
            index = bisect.bisect_left(self._keys, key)
            while self._entries[index][1] != seq:
                index += 1
            del self._keys[index], self._entries[index]
            zone.expired_at = at
            changed.append(zone)

    @property
    def trigger(self) -> float:
        """The price that reaches at least one zone: the highest key (bullish) or the lowest (bearish)."""
        if not self._keys:
            return -math.inf if self.direction > 0 else math.inf
        return self._keys[-1] if self.direction > 0 else self._keys[0]

    def zones(self) -> list[Any]:
        """Every zone, oldest first."""
        return [entry[2] for entry in sorted(self._entries, key=lambda entry: entry[1])]

    def _insert(self, entry: tuple[float, int, Any]) -> None:
        index = bisect.bisect_right(self._keys, entry[0])
        self._keys.insert(index, entry[0])
        self._entries.insert(index, entry)
        if self._ages is not None:
            self._live[entry[1]] = entry[0]


@numba.njit(cache=True)
def expire_oldest(members, count, known, expired, t, oldest):
    """Batch twin of ``ZoneSide.expire``: drop from ``members[:count]`` (held in adding order) the zones known at a
    candle index below ``oldest``, setting their ``expired`` index to ``t``; returns how many remain."""
    cut = 0
    while cut < count and known[members[cut]] < oldest:
        expired[members[cut]] = t
        cut += 1
    if cut:
        for j in range(cut, count):
            members[j - cut] = members[j]
    return count - cut


@numba.njit(cache=True)
def expire_sides(below, nbelow, above, nabove, known, expired, key, t, oldest, below_key, above_key):
    """``expire_oldest`` on both sides of a zone kernel; returns the new counts and, recomputed if any zone left,
    the trigger keys (the highest bullish key, the lowest bearish one)."""
    held = nbelow + nabove
    nbelow = expire_oldest(below, nbelow, known, expired, t, oldest)
    nabove = expire_oldest(above, nabove, known, expired, t, oldest)
    if nbelow + nabove < held:
        below_key = -np.inf
        for j in range(nbelow):
            below_key = max(below_key, key[below[j]])
        above_key = np.inf
        for j in range(nabove):
            above_key = min(above_key, key[above[j]])
    return nbelow, nabove, below_key, above_key
