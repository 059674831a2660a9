"""Input checks shared by the batch and incremental paths, so both reject the same bad candles the same way."""

from __future__ import annotations

import math

import numpy as np

from ictbot.domain import Candle
from ictbot.errors import DataError


def ohlc_arrays(
    open_time: np.ndarray, open_: np.ndarray, high: np.ndarray, low: np.ndarray, close: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Contiguous, writeable int64/float64 arrays (copied only when needed: numba compiles read-only arrays, as
    Arrow hands them out, separately); raises ``DataError`` on the first defect."""
    t = np.require(open_time, np.int64, ("C", "W"))
    o, h, lo, c = (np.require(a, np.float64, ("C", "W")) for a in (open_, high, low, close))
    n = t.shape[0]
    if any(a.shape != (n,) for a in (o, h, lo, c)):
        raise DataError(f"candle columns differ in length: {[a.shape for a in (t, o, h, lo, c)]}")
    bad = np.flatnonzero(~(np.isfinite(o) & np.isfinite(h) & np.isfinite(lo) & np.isfinite(c)))
    if bad.size:
        raise DataError(f"candle {bad[0]} (open time {t[bad[0]]}): a price is NaN or infinite; drop or repair it")
    bad = np.flatnonzero((h < lo) | (h < np.maximum(o, c)) | (lo > np.minimum(o, c)))
    if bad.size:
        i = bad[0]
        raise DataError(
            f"candle {i} (open time {t[i]}): inconsistent prices open={o[i]} high={h[i]} low={lo[i]} close={c[i]}"
        )
    bad = np.flatnonzero(np.diff(t) <= 0)
    if bad.size:
        raise DataError(f"candle {bad[0] + 1} (open time {t[bad[0] + 1]}): open times must strictly increase")
    return t, o, h, lo, c


def check_candle(candle: Candle, last_open_time: int | None) -> None:
    """Reject a candle the incremental detectors cannot use, before any state changes."""
    o, h, lo, c = candle.open, candle.high, candle.low, candle.close
    if not all(math.isfinite(x) for x in (o, h, lo, c)):
        raise DataError(f"candle at {candle.open_time}: a price is NaN or infinite; drop or repair it")
    if h < lo or h < max(o, c) or lo > min(o, c):
        raise DataError(f"candle at {candle.open_time}: inconsistent prices open={o} high={h} low={lo} close={c}")
    if last_open_time is not None and candle.open_time <= last_open_time:
        raise DataError(
            f"candle at {candle.open_time}: open times must strictly increase (previous {last_open_time}); "
            "feed closed candles in order, once each"
        )
