"""Build higher-timeframe candles from finer ones, exactly as Binance does.

Rules (the same in the batch function here and in the incremental ``CandleBook``):

* Buckets are aligned to UTC epoch boundaries of the target timeframe (``open_time // tf.ms * tf.ms``).
* open = first candle's open, close = last candle's close, high/low = extremes, volume = sum.
* A bucket cut by the start of the data (its first candle is not the first of the bucket, and nothing before it was
  seen) or by the end of the data (its last candle has not arrived) is not emitted: no partial candles.
* Missing candles *inside* a bucket are minutes without trades (Binance writes no candle for them); the bucket is built
  from the candles present. A bucket without any candle is not emitted: no invented candles.
"""

from __future__ import annotations

import numba
import numpy as np

from ictbot.data.frame import CandleFrame
from ictbot.domain import Timeframe
from ictbot.errors import DataError


def resample(frame: CandleFrame, timeframe: Timeframe) -> CandleFrame:
    """Aggregate ``frame`` into ``timeframe`` candles under the module's rules."""
    base = frame.timeframe
    if timeframe.ms % base.ms:
        raise DataError(
            f"{frame.source}: cannot build {timeframe} candles from {base} candles; {timeframe} "
            f"must be a whole multiple of {base}"
        )
    if len(frame) == 0:
        return frame
    bucket = frame.open_time // timeframe.ms * timeframe.ms
    starts = np.concatenate(([0], np.flatnonzero(np.diff(bucket)) + 1))
    ends = np.concatenate((starts[1:], [len(frame)])) - 1
    keep = np.ones(starts.shape[0], dtype=bool)
    if frame.open_time[0] != bucket[0]:
        keep[0] = False
    if frame.open_time[-1] != bucket[-1] + timeframe.ms - base.ms:
        keep[-1] = False
    return CandleFrame(
        open_time=bucket[starts][keep],
        open=frame.open[starts][keep],
        high=np.maximum.reduceat(frame.high, starts)[keep],
        low=np.minimum.reduceat(frame.low, starts)[keep],
        close=frame.close[ends][keep],
        volume=_sequential_sums(frame.volume, starts)[keep],
        timeframe=timeframe,
        symbol=frame.symbol,
        source=frame.source,
    )


@numba.njit(cache=True)
def _sequential_sums(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Bucket sums added left to right, so they equal the incremental book's running sums bit for bit."""
    out = np.zeros(starts.shape[0], dtype=np.float64)
    bucket = 0
    for i in range(values.shape[0]):
        if bucket + 1 < starts.shape[0] and i == starts[bucket + 1]:
            bucket += 1
        out[bucket] += values[i]
    return out
