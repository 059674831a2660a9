"""Long real-data series for benchmarks: a real 1m file tiled end to end with prices chained at each seam."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ictbot.data.frame import CandleFrame
from ictbot.data.loaders import load_candles

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"


def tiled_candles(count: int, file: str = "BTC_USDT_USDT-1m-futures.feather") -> CandleFrame:
    """``count`` consecutive 1m candles: copies of ``file``, each rescaled so it opens where the previous closed."""
    base = load_candles(DATA / file)
    n = len(base)
    copies = -(-count // n)
    times, columns = [], {k: [] for k in ("open", "high", "low", "close", "volume")}
    scale = 1.0
    for k in range(copies):
        times.append(base.open_time + k * n * 60_000)
        for name in ("open", "high", "low", "close"):
            columns[name].append(getattr(base, name) * scale)
        columns["volume"].append(base.volume)
        scale *= float(base.close[-1] / base.open[0])
    return CandleFrame(
        np.concatenate(times)[:count],
        *(np.concatenate(columns[name])[:count] for name in ("open", "high", "low", "close", "volume")),
        timeframe=base.timeframe,
        symbol=base.symbol,
        source=f"{file} tiled",
    )
