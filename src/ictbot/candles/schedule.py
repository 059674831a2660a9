"""The batch twin of ``CandleBook.add``: for a whole history, which closed candles each base candle releases.

A backtest knows its history up front, so it computes every emission with numpy instead of aggregating one candle
at a time. The schedule stays columnar (one resampled frame per timeframe plus the base candle releasing each candle)
and builds ``Candle`` objects only for the emissions a run asks for. The order is the book's (tested): buckets closed
by a gap (stale) first, then the base candle, then buckets closed by it (fresh), each group finest timeframe first.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ictbot.candles.aggregate import resample
from ictbot.data.frame import CandleFrame
from ictbot.domain import Candle, Timeframe

Emission = tuple[Timeframe, Candle]
_STALE, _BASE, _FRESH = 0, 1, 2


@dataclass(frozen=True)
class Stream:
    """The closed candles of one timeframe; ``book_order`` places each among everything the book emits."""

    timeframe: Timeframe
    frame: CandleFrame
    released_by: np.ndarray  # index of the base candle whose arrival emits the candle
    book_order: np.ndarray  # 3 × released_by + (0 stale, 1 base, 2 fresh); ties go to the finer timeframe


@dataclass(frozen=True)
class Plan:
    """Emissions a run delivers, in book order: base index, timeframe and candle index of each."""

    base_index: np.ndarray
    timeframe: list[Timeframe]
    index: np.ndarray


class EmissionSchedule:
    """Every candle of ``timeframes`` that the candle book would emit while fed ``frame``, as columns."""

    def __init__(self, frame: CandleFrame, timeframes: set[Timeframe]) -> None:
        self.frame = frame
        base = frame.timeframe
        self.streams: dict[Timeframe, Stream] = {}
        for tf in sorted(timeframes, key=lambda t: t.ms):
            if tf is base:
                released = np.arange(len(frame), dtype=np.int64)
                self.streams[tf] = Stream(tf, frame, released, 3 * released + _BASE)
                continue
            htf = resample(frame, tf)
            # Index of the last base candle inside each emitted bucket.
            last = np.searchsorted(frame.open_time, htf.open_time + tf.ms, "left") - 1
            fresh = frame.open_time[last] + base.ms == htf.open_time + tf.ms
            released = np.where(fresh, last, last + 1).astype(np.int64)
            self.streams[tf] = Stream(tf, htf, released, 3 * released + np.where(fresh, _FRESH, _STALE))

    def plan(self, wanted: dict[Timeframe, np.ndarray] | None = None) -> Plan:
        """The emissions to deliver (``wanted``: candle indices per timeframe; timeframes left out: all)."""
        wanted = wanted or {}
        keys, ranks, tfs, indices = [], [], [], []
        for rank, (tf, stream) in enumerate(self.streams.items()):
            chosen = wanted.get(tf)
            index = np.arange(len(stream.frame), dtype=np.int64) if chosen is None else np.asarray(chosen, np.int64)
            keys.append(stream.book_order[index])
            ranks.append(np.full(index.shape[0], rank, dtype=np.int64))
            indices.append(index)
            tfs.append(tf)
        if not keys:
            return Plan(np.empty(0, np.int64), [], np.empty(0, np.int64))
        key, rank, index = np.concatenate(keys), np.concatenate(ranks), np.concatenate(indices)
        order = np.lexsort((rank, key))
        return Plan(key[order] // 3, [tfs[r] for r in rank[order].tolist()], index[order])

    def candles(self, plan: Plan) -> dict[int, list[Emission]]:
        """The plan's emissions as ``Candle`` objects, grouped by the base candle releasing them."""
        used = set(plan.timeframe)
        make = {tf: _candle_maker(s.frame, plan.timeframe.count(tf)) for tf, s in self.streams.items() if tf in used}
        out: dict[int, list[Emission]] = {}
        for i, tf, k in zip(plan.base_index.tolist(), plan.timeframe, plan.index.tolist(), strict=True):
            out.setdefault(i, []).append((tf, make[tf](k)))
        return out


def _candle_maker(frame: CandleFrame, count: int):
    """Python lists pay off when most candles are built; a few are cheaper read straight from the arrays."""
    if count * 8 < len(frame):
        return frame.candle
    columns = frame.columns_as_lists()
    return lambda k: Candle(*(column[k] for column in columns))
