"""Active zones of one side, ordered by the price that can next change them.

A bullish zone changes only when a low reaches its trigger key; a bearish one when a high does. Keeping the keys
sorted lets a candle visit only the zones it reaches instead of every zone still alive, which matters once hundreds of
untouched zones pile up far from price. Zones come back in the order they were added, so the detectors report
changes in the same order as their batch twins.
"""

from __future__ import annotations

import bisect
import math
from typing import Any


class ZoneSide:
    """Zones with a trigger key each; ``direction`` +1 reacts to lows at or below the key, −1 to highs at or above."""

    __slots__ = ("_entries", "_keys", "_seq", "direction")

    def __init__(self, direction: int) -> None:
        self.direction = direction
        self._keys: list[float] = []
        self._entries: list[tuple[float, int, Any]] = []
        self._seq = 0

    def add(self, zone: Any, key: float) -> None:
        self._seq += 1
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
        reached.sort(key=lambda entry: entry[1])
        return reached

    def put_back(self, entry: tuple[float, int, Any], key: float) -> None:
        """Return a zone taken by ``take_reached`` with its new key, keeping its place in the adding order."""
        self._insert((key, entry[1], entry[2]))

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
