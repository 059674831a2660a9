"""The batch twin of ``CandleBook.add``: for a whole history, which closed candles each base candle releases.

A backtest knows its history up front, so it can compute every emission with numpy instead of aggregating one candle
at a time; the result is identical to feeding the book candle by candle (tested), including the order the book
reports them in: buckets closed by a gap (stale) first, then the base candle, then buckets closed by it (fresh),
each group finest timeframe first.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from ictbot.candles.aggregate import resample
from ictbot.data.frame import CandleFrame
from ictbot.domain import Candle, Timeframe

Emission = tuple[Timeframe, Candle]


def emission_schedule(frame: CandleFrame, timeframes: set[Timeframe]) -> dict[int, list[Emission]]:
    """Map base-candle index → the candles of ``timeframes`` that close with it, in the book's order."""
    base = frame.timeframe
    stale: dict[int, list[Emission]] = defaultdict(list)
    fresh: dict[int, list[Emission]] = defaultdict(list)
    for tf in sorted(timeframes - {base}, key=lambda t: t.ms):
        htf = resample(frame, tf)
        if len(htf) == 0:
            continue
        # Index of the last base candle inside each emitted bucket.
        last = np.searchsorted(frame.open_time, htf.open_time + tf.ms, "left") - 1
        completes = frame.open_time[last] + base.ms == htf.open_time + tf.ms
        released_by = np.where(completes, last, last + 1).tolist()
        columns = htf.columns_as_lists()
        for k, (i, complete) in enumerate(zip(released_by, completes.tolist(), strict=True)):
            candle = Candle(*(column[k] for column in columns))
            (fresh if complete else stale)[i].append((tf, candle))
    include_base = base in timeframes
    if not include_base and not stale:
        return dict(fresh)
    columns = frame.columns_as_lists()
    out: dict[int, list[Emission]] = {}
    for i in sorted(set(stale) | set(fresh) | (set(range(len(frame))) if include_base else set())):
        emitted = list(stale.get(i, ()))
        if include_base:
            emitted.append((base, Candle(*(column[i] for column in columns))))
        emitted.extend(fresh.get(i, ()))
        out[i] = emitted
    return out
