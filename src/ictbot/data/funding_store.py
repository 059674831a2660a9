"""Funding history beside the candles in the history store: ``<root>/<venue>/<SYMBOL>/funding.parquet``.

One file per symbol (funding settles every 8 hours: a year is about 1,100 rows), columns ``time`` (epoch ms, rounded
to the minute), ``rate`` and ``mark`` (the mark price at settlement; NaN when the venue did not report it, then the
open of the candle at that minute stands in for it).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ictbot.data.frame import CandleFrame
from ictbot.data.funding import FundingSchedule
from ictbot.data.loaders import column_array, read_parquet
from ictbot.data.store import HistoryStore

MINUTE_MS = 60_000


def funding_path(store: HistoryStore, symbol: str) -> Path:
    return store.root / store.venue / symbol.upper() / "funding.parquet"


def write_funding(store: HistoryStore, symbol: str, times: np.ndarray, rates: np.ndarray, marks: np.ndarray) -> int:
    """Merge rows into the symbol's funding file (newer rows replace older ones at the same time); returns rows
    added. Written aside and renamed, so a crash never leaves half a file."""
    path = funding_path(store, symbol)
    old_t, old_r, old_m = read_funding(path)
    times = ((np.asarray(times, dtype=np.int64) + MINUTE_MS // 2) // MINUTE_MS) * MINUTE_MS
    all_t = np.concatenate([old_t, times])
    all_r = np.concatenate([old_r, np.asarray(rates, dtype=np.float64)])
    all_m = np.concatenate([old_m, np.asarray(marks, dtype=np.float64)])
    order = np.argsort(all_t, kind="stable")
    all_t, all_r, all_m = all_t[order], all_r[order], all_m[order]
    last = np.append(all_t[1:] != all_t[:-1], True)
    all_t, all_r, all_m = all_t[last], all_r[last], all_m[last]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.partial")
    try:
        pq.write_table(pa.table({"time": all_t, "rate": all_r, "mark": all_m}), tmp)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return int(all_t.shape[0] - old_t.shape[0])


def read_funding(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if not path.exists():
        return np.empty(0, np.int64), np.empty(0), np.empty(0)
    table = read_parquet(path)
    return (
        column_array(table["time"]).astype(np.int64),
        column_array(table["rate"]).astype(np.float64),
        column_array(table["mark"]).astype(np.float64),
    )


def stored_schedule(store: HistoryStore, symbol: str, frame: CandleFrame | None = None) -> FundingSchedule | None:
    """The symbol's funding schedule from the store, missing marks taken from ``frame``'s opens; ``None`` if none."""
    times, rates, marks = read_funding(funding_path(store, symbol))
    if times.shape[0] == 0:
        return None
    missing = np.isnan(marks)
    if missing.any() and frame is not None and len(frame):
        at = np.clip(np.searchsorted(frame.open_time, times[missing]), 0, len(frame) - 1)
        marks = marks.copy()
        marks[missing] = frame.open[at]
    keep = ~np.isnan(marks)
    return FundingSchedule(times[keep], rates[keep], marks[keep])
