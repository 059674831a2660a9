"""Order blocks and breaker blocks, with their lifecycles.

**Order block.** At each structure break (see ``structure``) the block is the candle the displacement started from:
with ``anchor="last_opposite"`` (default, ICT) the last down-close candle at or before the leg's lowest low for a
bullish break (up-close at or before the highest high for a bearish one), or the extreme candle itself when no such
candle exists; with ``anchor="extreme"`` the extreme candle (smartmoneyconcepts / LuxAlgo). Zone: the candle's
high–low (``zone="wick"``) or open–close (``zone="body"``). Known at the break; one block per candle and direction.

**Lifecycle** (bullish; bearish mirrors): **mitigated** when a later low reaches the top; **invalidated** when a close
is below the bottom (``invalidate_on="close"``) or a low is (``"wick"``).

**Breaker.** An invalidated order block becomes a breaker of the opposite direction with the same zone, known at the
invalidating candle: a failed bullish block is bearish resistance. Its lifecycle: **retested** when price re-enters the
zone from its side, **invalidated** on a close (or wick) beyond its far side.

With ``max_age``, a block or breaker still alive ``max_age`` candles after it became known is no longer tracked
(**expired** at the next candle, before that candle can change it); an expired block leaves no breaker.
"""

from __future__ import annotations

from typing import Literal

import numba
import numpy as np

from ictbot.domain import Candle
from ictbot.ict._zones import ZoneSide, expire_sides
from ictbot.ict.records import BreakerBlock, OrderBlock, StructureBreak, Swing

Anchor = Literal["last_opposite", "extreme"]
Zone = Literal["wick", "body"]
InvalidateOn = Literal["close", "wick"]


def _check_choice(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {allowed}, got {value!r}")


class OrderBlockDetector:
    """Feed each closed candle with the structure breaks at it and their origins (``StructureDetector.origins``).

    ``update`` returns the order blocks and breakers that became known; ``changed`` those whose lifecycle advanced."""

    __slots__ = (
        "_above",
        "_above_key",
        "_below",
        "_below_key",
        "_count",
        "_seen",
        "anchor",
        "changed",
        "invalidate_on",
        "max_age",
        "zone",
    )

    def __init__(
        self,
        anchor: Anchor = "last_opposite",
        zone: Zone = "wick",
        invalidate_on: InvalidateOn = "close",
        max_age: int | None = None,
    ):
        _check_choice("anchor", anchor, ("last_opposite", "extreme"))
        _check_choice("zone", zone, ("wick", "body"))
        _check_choice("invalidate_on", invalidate_on, ("close", "wick"))
        self.anchor = anchor
        self.zone = zone
        self.invalidate_on = invalidate_on
        self.max_age = max_age
        self._count = 0  # candles seen: the index of the next one
        self._seen: dict[int, set[int]] = {1: set(), -1: set()}  # source candles' open times, by direction
        self._below = ZoneSide(1, max_age is not None)  # bullish zones, keyed by the price a low must reach
        self._above = ZoneSide(-1, max_age is not None)
        self.changed: list[OrderBlock | BreakerBlock] = []

    @property
    def active(self) -> list[OrderBlock | BreakerBlock]:
        return self._below.zones() + self._above.zones()

    def update(
        self, candle: Candle, breaks: list[StructureBreak], origins: list[tuple[Candle, Candle]]
    ) -> list[OrderBlock | BreakerBlock]:
        self.changed = []
        born: list[OrderBlock | BreakerBlock] = []
        index = self._count
        self._count += 1
        if self.max_age is not None:
            for side in (self._below, self._above):
                side.expire(index - self.max_age, candle.open_time, self.changed)
        if candle.low <= self._below.trigger:
            self._advance(self._below, candle, 1, born)
        if candle.high >= self._above.trigger:
            self._advance(self._above, candle, -1, born)
        for brk, (extreme, opposite) in zip(breaks, origins, strict=True):
            source = opposite if self.anchor == "last_opposite" else extreme
            seen = self._seen[brk.direction]
            if source.open_time in seen:
                continue
            seen.add(source.open_time)
            if self.zone == "wick":
                top, bottom = source.high, source.low
            else:
                top, bottom = max(source.open, source.close), min(source.open, source.close)
            born.append(OrderBlock(brk.direction, top, bottom, source.open_time, candle.open_time))
        for zone in born:
            if zone.direction > 0:
                self._below.add(zone, zone.top, index)
            else:
                self._above.add(zone, zone.bottom, index)
        return born

    def forget_sources(self, swing: Swing) -> None:
        """A newly confirmed swing starts the leg that every later break of its direction takes its block from, so
        candles up to its pivot can no longer be a source of such a block: keeps the one-block-per-candle memory small
        for a detector that runs for months."""
        seen = self._seen[swing.direction]
        self._seen[swing.direction] = {t for t in seen if t > swing.formed_at}

    def _advance(self, side: ZoneSide, candle: Candle, direction: int, born: list) -> None:
        t = candle.open_time
        by_close = self.invalidate_on == "close"
        for entry in side.take_reached(candle.low if direction > 0 else candle.high):
            zone, key = entry[2], entry[0]
            if direction > 0:
                dead = (candle.close if by_close else candle.low) < zone.bottom
            else:
                dead = (candle.close if by_close else candle.high) > zone.top
            is_ob = zone.kind == "ob"
            touched = (zone.mitigated_at if is_ob else zone.retested_at) is None
            if touched:
                if is_ob:
                    zone.mitigated_at = t
                else:
                    zone.retested_at = t
                key = zone.bottom if direction > 0 else zone.top
            if dead:
                zone.invalidated_at = t
            if touched or dead:
                self.changed.append(zone)
            if dead:
                if is_ob:
                    born.append(BreakerBlock(-direction, zone.top, zone.bottom, zone.formed_at, t))
                continue
            side.put_back(entry, key)


@numba.njit(cache=True)
def order_block_kernel(open_, high, low, close, b_dir, b_at, b_source, body, by_close, max_age):
    """Batch twin of ``OrderBlockDetector``; ``b_source`` is each break's chosen candle index, ``max_age`` 0: never
    expire.

    Columns: is_breaker, direction, top, bottom, formed, known, touched, invalidated and expired index (-1 = not
    yet)."""
    n = high.shape[0]
    cap = 2 * b_dir.shape[0] + 1
    z_brk = np.zeros(cap, np.bool_)
    z_dir = np.empty(cap, np.int64)
    z_top = np.empty(cap, np.float64)
    z_bot = np.empty(cap, np.float64)
    z_formed = np.empty(cap, np.int64)
    z_known = np.empty(cap, np.int64)
    z_touch = np.full(cap, -1, np.int64)
    z_dead = np.full(cap, -1, np.int64)
    z_expired = np.full(cap, -1, np.int64)
    z_key = np.empty(cap, np.float64)
    seen_up = np.zeros(n, np.bool_)
    seen_down = np.zeros(n, np.bool_)
    below = np.empty(cap, np.int64)
    above = np.empty(cap, np.int64)
    nbelow = 0
    nabove = 0
    below_key = -np.inf
    above_key = np.inf
    nz = 0
    k = 0
    nbreaks = b_dir.shape[0]
    for t in range(n):
        first_new = nz
        if max_age > 0:
            nbelow, nabove, below_key, above_key = expire_sides(
                below, nbelow, above, nabove, z_known, z_expired, z_key, t, t - max_age, below_key, above_key
            )
        if low[t] <= below_key:
            kept = 0
            below_key = -np.inf
            for j in range(nbelow):
                z = below[j]
                if low[t] <= z_key[z]:
                    if z_touch[z] < 0:
                        z_touch[z] = t
                        z_key[z] = z_bot[z]
                    if (close[t] if by_close else low[t]) < z_bot[z]:
                        z_dead[z] = t
                        if not z_brk[z]:
                            z_brk[nz] = True
                            z_dir[nz] = -1
                            z_top[nz] = z_top[z]
                            z_bot[nz] = z_bot[z]
                            z_formed[nz] = z_formed[z]
                            z_known[nz] = t
                            nz += 1
                        continue
                below[kept] = z
                kept += 1
                below_key = max(below_key, z_key[z])
            nbelow = kept
        if high[t] >= above_key:
            kept = 0
            above_key = np.inf
            for j in range(nabove):
                z = above[j]
                if high[t] >= z_key[z]:
                    if z_touch[z] < 0:
                        z_touch[z] = t
                        z_key[z] = z_top[z]
                    if (close[t] if by_close else high[t]) > z_top[z]:
                        z_dead[z] = t
                        if not z_brk[z]:
                            z_brk[nz] = True
                            z_dir[nz] = 1
                            z_top[nz] = z_top[z]
                            z_bot[nz] = z_bot[z]
                            z_formed[nz] = z_formed[z]
                            z_known[nz] = t
                            nz += 1
                        continue
                above[kept] = z
                kept += 1
                above_key = min(above_key, z_key[z])
            nabove = kept
        while k < nbreaks and b_at[k] == t:
            s = b_source[k]
            d = b_dir[k]
            seen = seen_up if d > 0 else seen_down
            if not seen[s]:
                seen[s] = True
                z_dir[nz] = d
                if body:
                    z_top[nz] = max(open_[s], close[s])
                    z_bot[nz] = min(open_[s], close[s])
                else:
                    z_top[nz] = high[s]
                    z_bot[nz] = low[s]
                z_formed[nz] = s
                z_known[nz] = t
                nz += 1
            k += 1
        for z in range(first_new, nz):
            if z_dir[z] > 0:
                z_key[z] = z_top[z]
                below[nbelow] = z
                nbelow += 1
                below_key = max(below_key, z_top[z])
            else:
                z_key[z] = z_bot[z]
                above[nabove] = z
                nabove += 1
                above_key = min(above_key, z_bot[z])
    return (
        z_brk[:nz], z_dir[:nz], z_top[:nz], z_bot[:nz], z_formed[:nz], z_known[:nz], z_touch[:nz], z_dead[:nz],
        z_expired[:nz],
    )  # fmt: skip
