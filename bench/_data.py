"""Long real-data series for benchmarks: a real 1m file tiled end to end with prices chained at each seam."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ictbot.data.frame import CandleFrame
from ictbot.data.funding import FundingSchedule, sibling_schedule
from ictbot.data.loaders import load_candles

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"


def _scales(base: CandleFrame, copies: int) -> list[float]:
    """Price factor of each copy, so that it opens where the previous one closed."""
    step, scales = float(base.close[-1] / base.open[0]), [1.0]
    while len(scales) < copies:
        scales.append(scales[-1] * step)
    return scales


def tiled_candles(count: int, file: str = "BTC_USDT_USDT-1m-futures.feather") -> CandleFrame:
    """``count`` consecutive 1m candles: copies of ``file``, each rescaled so it opens where the previous closed."""
    base = load_candles(DATA / file)
    n = len(base)
    copies = -(-count // n)
    times, columns = [], {k: [] for k in ("open", "high", "low", "close", "volume")}
    for k, scale in enumerate(_scales(base, copies)):
        times.append(base.open_time + k * n * 60_000)
        for name in ("open", "high", "low", "close"):
            columns[name].append(getattr(base, name) * scale)
        columns["volume"].append(base.volume)
    return CandleFrame(
        np.concatenate(times)[:count],
        *(np.concatenate(columns[name])[:count] for name in ("open", "high", "low", "close", "volume")),
        timeframe=base.timeframe,
        symbol=base.symbol,
        source=f"{file} tiled",
    )


def tiled_funding(count: int, file: str = "BTC_USDT_USDT-1m-futures.feather") -> FundingSchedule:
    """The real funding rates and mark prices beside ``file``, tiled and rescaled like ``tiled_candles(count)``."""
    base = load_candles(DATA / file)
    real = sibling_schedule(DATA / file)
    assert real is not None, f"no funding files beside {file}"
    n = len(base)
    start, span = int(base.open_time[0]), n * 60_000
    inside = (real.times >= start) & (real.times < start + span)
    rates = np.array([float(r) for r in real.rates])[inside]
    marks = np.array([float(m) for m in real.marks])[inside]
    copies = -(-count // n)
    times = np.concatenate([real.times[inside] + k * span for k in range(copies)])
    tiled_marks = np.concatenate([marks * scale for scale in _scales(base, copies)])
    keep = times < start + count * 60_000
    return FundingSchedule(times[keep], np.tile(rates, copies)[keep], tiled_marks[keep])
