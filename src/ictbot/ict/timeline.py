"""``IctTimeline``: every detector run once over a known history, then asked what ``IctState`` would say at any candle.

A backtest knows its candles up front. Instead of feeding ``IctState`` one candle at a time, it runs the batch kernels
(``detect_frame``) once and reads the state **as of candle i** from the tables: ``at(i)`` answers the same questions
as ``IctState`` after ``update(candle_i)`` — trend, dealing range, swing high/low, active gaps, blocks, breakers,
resting liquidity, killzone, and the records that became known or took a lifecycle step at that candle — with every
lifecycle field later than candle i blanked, so nothing from the future leaks into what a strategy sees. Tests hold
it equal to ``IctState`` after every candle on real and generated data.
"""

from __future__ import annotations

from dataclasses import fields

import numpy as np

from ictbot.data.frame import CandleFrame
from ictbot.ict.batch import NOT_YET, RecordTable, detect_frame
from ictbot.ict.config import IctConfig
from ictbot.ict.records import (
    LIFECYCLE_FIELDS,
    BreakerBlock,
    FairValueGap,
    LiquidityLevel,
    OrderBlock,
    Record,
    Swing,
)
from ictbot.ict.sessions import local_times
from ictbot.ict.structure import DealingRange


class _Rows:
    """One record table as Python lists, turned into records as of a time on demand."""

    def __init__(self, table: RecordTable) -> None:
        self.record_type = table.record_type
        self.names = [f.name for f in fields(table.record_type) if f.name in table.columns]
        self.columns = table.columns
        self._lists = [table.columns[name].tolist() for name in self.names]
        self._lifecycle = [i for i, name in enumerate(self.names) if name in LIFECYCLE_FIELDS]
        self._positional = self.names == [f.name for f in fields(table.record_type)]
        self.known = table.columns["known_at"]
        self.direction = table.columns["direction"]
        ends = [table.columns[n] for n in self.names if n in ("invalidated_at", "swept_at", "broken_at", "expired_at")]
        self.end = np.max(np.stack(ends), axis=0) if ends else None  # the step that retires the record (-1: none)

    def record(self, row: int, now: int) -> Record:
        values = [column[row] for column in self._lists]
        for i in self._lifecycle:
            if values[i] == NOT_YET or values[i] > now:
                values[i] = None
        if self._positional:
            return self.record_type(*values)
        return self.record_type(**dict(zip(self.names, values, strict=True)))

    def alive(self, now: int, formed_since: int | None = None, direction: int | None = None) -> np.ndarray:
        """Rows known by ``now`` and not retired by then, buy-side / bullish first, each in creation order;
        optionally only those formed at or after ``formed_since`` or of one ``direction``."""
        known = int(np.searchsorted(self.known, now, "right"))
        keep = np.ones(known, dtype=bool)
        if self.end is not None:
            keep &= (self.end[:known] == NOT_YET) | (self.end[:known] > now)
        if formed_since is not None:
            keep &= self.columns["formed_at"][:known] >= formed_since
        if direction is not None:
            keep &= self.direction[:known] == direction
        rows = np.flatnonzero(keep)
        return rows[np.argsort(-self.direction[rows], kind="stable")]


class _RangeExtreme:
    """Sparse table answering min (or max) of an array over index ranges in constant time."""

    def __init__(self, values: np.ndarray, take) -> None:
        self._take = take
        self._levels = [values]
        width = 1
        while 2 * width <= values.shape[0]:
            prev = self._levels[-1]
            self._levels.append(take(prev[:-width], prev[width:]))
            width *= 2

    def __call__(self, start: np.ndarray, stop: int) -> np.ndarray:
        """Extreme over each ``start … stop`` inclusive (``start ≤ stop``)."""
        out = np.empty(start.shape[0], dtype=np.float64)
        level = np.floor(np.log2(stop - start + 1)).astype(np.int64)
        for k in set(level.tolist()):
            pick = level == k
            values = self._levels[k]
            out[pick] = self._take(values[start[pick]], values[stop - (1 << k) + 1])
        return out


# Records becoming known or stepping at one candle come back in IctState's order: by group, and within a group of
# lifecycle steps buy-side / bullish first, then in the order the detector added the records.
_EVENT_GROUPS = (
    (("swings", "known_at"),),
    (("structure", "known_at"),),
    (("swings", "superseded_at"),),
    (("fvgs", "known_at"),),
    (("fvgs", "expired_at"),),
    (("fvgs", "touched_at"), ("fvgs", "filled_at"), ("fvgs", "invalidated_at")),
    (("breakers", "known_at"),),
    (("order_blocks", "known_at"),),
    (("order_blocks", "expired_at"), ("breakers", "expired_at")),
    (
        ("order_blocks", "mitigated_at"),
        ("order_blocks", "invalidated_at"),
        ("breakers", "retested_at"),
        ("breakers", "invalidated_at"),
    ),
    (("liquidity", "known_at"),),
    (("liquidity", "expired_at"),),
    (("liquidity", "swept_at"), ("liquidity", "broken_at")),
    (("sessions", "known_at"),),
)
_TABLES = ("swings", "structure", "fvgs", "breakers", "order_blocks", "liquidity", "sessions")
_FVG_TABLE = _TABLES.index("fvgs")


class IctTimeline:
    """The detectors' full history for one symbol × timeframe; ``at(i)`` is the state after candle ``i``."""

    def __init__(self, frame: CandleFrame, config: IctConfig | None = None) -> None:
        cfg = config or IctConfig()
        self.frame = frame
        self.config = cfg
        self.tables = detect_frame(frame, cfg)
        self.rows = {name: _Rows(getattr(self.tables, name)) for name in _TABLES}
        self.open_time = frame.open_time
        self._times = frame.open_time.tolist()
        self._events = self._index_events()
        self._killzone: list[str | None] | None = None
        self._swing_known = {d: self.rows["swings"].known[self.rows["swings"].direction == d] for d in (1, -1)}
        self._swing_row = {d: np.flatnonzero(self.rows["swings"].direction == d) for d in (1, -1)}
        self._gap_start = np.searchsorted(frame.open_time, self.rows["fvgs"].known, "left") + 1
        self._lowest: _RangeExtreme | None = None
        self._highest: _RangeExtreme | None = None

    def at(self, i: int) -> IctView:
        """The state after candle ``i`` (``-1``: before the first candle)."""
        return IctView(self, i)

    def index_of(self, open_time: int) -> int:
        """Position of the candle opening at ``open_time``; raises ``KeyError`` when the history lacks it."""
        i = int(np.searchsorted(self.open_time, open_time, "left"))
        if i == len(self.frame) or self._times[i] != open_time:
            raise KeyError(open_time)
        return i

    def swing(self, direction: int, i: int) -> Swing | None:
        """The last swing high (+1) or low (−1) confirmed by candle ``i``."""
        now = self._times[i]
        k = int(np.searchsorted(self._swing_known[direction], now, "right")) - 1
        return None if k < 0 else self.rows["swings"].record(int(self._swing_row[direction][k]), now)

    def swing_levels(self, direction: int) -> tuple[np.ndarray, np.ndarray]:
        """``known_at`` and price of every kept swing high (+1) or low (−1), in confirmation order."""
        return self._swing_known[direction], self.rows["swings"].columns["top"][self._swing_row[direction]]

    def _index_events(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every (time, table, row) at which a record became known or stepped, sorted in ``records_at`` order."""
        parts = []
        for group, steps in enumerate(_EVENT_GROUPS):
            for name, column in steps:
                rows = self.rows[name]
                values = rows.columns[column]
                found = np.flatnonzero(values != NOT_YET)
                table = np.full(found.shape[0], _TABLES.index(name), dtype=np.int64)
                # New records come in creation order; steps by side, then in the order the detector added the zones
                # (by known_at, breakers before blocks).
                stepping = column != "known_at"
                side = -rows.direction[found] * stepping
                added = (rows.known[found] * 2 + (name == "order_blocks")) * stepping
                parts.append((values[found], np.full(found.shape[0], group), side, added, table, found))
        time, group, side, added, table, row = (np.concatenate(column) for column in zip(*parts, strict=True))
        order = np.lexsort((row, table, added, side, group, time))
        return time[order], table[order], row[order]

    def _killzones(self) -> list[str | None]:
        minute = local_times(self.open_time) // 60_000 % 1440
        names: np.ndarray = np.full(minute.shape[0], None, dtype=object)
        for zone in reversed(self.config.killzones):
            names[(zone.start <= minute) & (minute < zone.end)] = zone.name
        return names.tolist()

    def records_at(self, i: int, only: tuple[str, ...] = _TABLES) -> list[Record]:
        """Records that became known at candle ``i`` or took a lifecycle step there (a deeper fill alone is no step).

        ``only`` names the ``IctTables`` tables to include, for callers that need one kind of record."""
        now = self._times[i]
        time, table, row = self._events
        lo, hi = np.searchsorted(time, now, "left"), np.searchsorted(time, now, "right")
        wanted = {_TABLES.index(name) for name in only}
        out: list[Record] = []
        seen: set[tuple[int, int]] = set()
        gaps = []
        for t, r in zip(table[lo:hi].tolist(), row[lo:hi].tolist(), strict=True):
            if t in wanted and (t, r) not in seen:
                seen.add((t, r))
                out.append(self.rows[_TABLES[t]].record(r, now))
                if t == _FVG_TABLE:
                    gaps.append((len(out) - 1, r))
        for expiring in (False, True):  # an expiring gap's fill stopped growing with the candle before
            chosen = [(position, r) for position, r in gaps if (out[position].expired_at == now) is expiring]
            if chosen:
                fills = self._fills(np.array([r for _, r in chosen], dtype=np.int64), i - expiring).tolist()
                for (position, _), fill in zip(chosen, fills, strict=True):
                    out[position].fill = fill
        return out

    def alive(self, name: str, i: int, direction: int | None = None) -> list:
        """Records of one table known and not retired after candle ``i``, as ``IctState`` lists them."""
        if i < 0:
            return []
        now = self._times[i]
        rows = self.rows[name]
        return [rows.record(r, now) for r in rows.alive(now, direction=direction).tolist()]

    def fvgs(self, i: int, formed_since: int | None = None) -> list[FairValueGap]:
        """Gaps not yet invalidated after candle ``i`` (only those formed at or after ``formed_since`` if given)."""
        if i < 0:
            return []
        gaps = self.rows["fvgs"]
        now = self._times[i]
        alive = gaps.alive(now, formed_since)
        out = []
        for row, fill in zip(alive.tolist(), self._fills(alive, i).tolist(), strict=True):
            gap = gaps.record(row, now)
            gap.fill = fill
            out.append(gap)
        return out

    def _fills(self, rows: np.ndarray, i: int) -> np.ndarray:
        """Each gap's deepest re-entry so far: the fill ``FvgDetector`` tracks, from the extreme since it was known."""
        fills = np.zeros(rows.shape[0], dtype=np.float64)
        start = self._gap_start[rows]
        later = start <= i
        if not later.any():
            return fills
        if self._lowest is None or self._highest is None:
            self._lowest = _RangeExtreme(self.frame.low, np.minimum)
            self._highest = _RangeExtreme(self.frame.high, np.maximum)
        rows, start = rows[later], start[later]
        columns = self.rows["fvgs"].columns
        top, bottom, bullish = columns["top"][rows], columns["bottom"][rows], columns["direction"][rows] > 0
        low, high = self._lowest(start, i), self._highest(start, i)
        reached = np.where(bullish, (top - low) / (top - bottom), (high - bottom) / (top - bottom))
        fills[later] = np.maximum(np.minimum(reached, 1.0), 0.0)
        return fills

    def killzone(self, i: int) -> str | None:
        if self._killzone is None:
            self._killzone = self._killzones()  # on first use: most strategies never ask
        return self._killzone[i] if i >= 0 else None

    def dealing_range(self, i: int) -> DealingRange | None:
        tables = self.tables
        if i < 0 or tables.range_direction[i] == 0:
            return None
        breaks = self.rows["structure"]
        k = int(np.searchsorted(breaks.known, self._times[i], "right")) - 1
        return DealingRange(
            int(tables.range_direction[i]),
            float(tables.range_top[i]),
            float(tables.range_bottom[i]),
            int(breaks.columns["extreme_at"][k]),
            int(breaks.known[k]),
        )


class IctView:
    """``IctState``'s accessors, answered from an ``IctTimeline`` as of one candle."""

    __slots__ = ("index", "timeline")

    def __init__(self, timeline: IctTimeline, index: int) -> None:
        self.timeline = timeline
        self.index = index

    @property
    def records(self) -> list[Record]:
        return self.timeline.records_at(self.index) if self.index >= 0 else []

    @property
    def trend(self) -> int:
        return int(self.timeline.tables.trend[self.index]) if self.index >= 0 else 0

    @property
    def dealing_range(self) -> DealingRange | None:
        return self.timeline.dealing_range(self.index)

    @property
    def swing_high(self) -> Swing | None:
        return self.timeline.swing(1, self.index) if self.index >= 0 else None

    @property
    def swing_low(self) -> Swing | None:
        return self.timeline.swing(-1, self.index) if self.index >= 0 else None

    @property
    def fvgs(self) -> list[FairValueGap]:
        return self.timeline.fvgs(self.index)

    def fvgs_formed_since(self, since: int) -> list[FairValueGap]:
        """``fvgs`` limited to gaps formed at or after ``since``: builds only the records asked for."""
        return self.timeline.fvgs(self.index, since)

    @property
    def active_order_blocks(self) -> list[OrderBlock]:
        return self.timeline.alive("order_blocks", self.index)

    @property
    def breakers(self) -> list[BreakerBlock]:
        return self.timeline.alive("breakers", self.index)

    @property
    def liquidity_levels(self) -> list[LiquidityLevel]:
        """Levels neither swept nor broken."""
        return self.timeline.alive("liquidity", self.index)

    def liquidity_levels_on(self, direction: int) -> list[LiquidityLevel]:
        """``liquidity_levels`` of one side (+1 buy-side, −1 sell-side): builds only the records asked for."""
        return self.timeline.alive("liquidity", self.index, direction)

    @property
    def killzone(self) -> str | None:
        return self.timeline.killzone(self.index)
