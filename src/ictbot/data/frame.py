"""``CandleFrame``: a validated, columnar block of candles of one symbol and timeframe."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from ictbot.domain import Candle, Timeframe
from ictbot.errors import DataError

COLUMNS = ("open", "high", "low", "close", "volume")


def iso(ms: int) -> str:
    """Epoch milliseconds as ISO-8601 UTC (``2025-05-04T15:33:00Z``)."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, slots=True)
class Gap:
    """Missing candles between two present ones: ``after`` and ``before`` are open times that exist."""

    after: int
    before: int
    missing: int


@dataclass(frozen=True)
class CandleFrame:
    """Candles as float64/int64 numpy arrays; ``open_time`` in epoch ms, strictly increasing."""

    open_time: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    timeframe: Timeframe
    symbol: str | None = None
    source: str = "<memory>"

    def __len__(self) -> int:
        return int(self.open_time.shape[0])

    def slice(self, start: int, stop: int) -> CandleFrame:
        return self._with(slice(start, stop))

    def between(self, start_ms: int | None, end_ms: int | None) -> CandleFrame:
        """Candles whose open time lies in ``[start_ms, end_ms)``; ``None`` leaves that side open."""
        lo = 0 if start_ms is None else int(np.searchsorted(self.open_time, start_ms, "left"))
        hi = len(self) if end_ms is None else int(np.searchsorted(self.open_time, end_ms, "left"))
        return self.slice(lo, hi)

    def candle(self, i: int) -> Candle:
        return Candle(
            int(self.open_time[i]),
            float(self.open[i]),
            float(self.high[i]),
            float(self.low[i]),
            float(self.close[i]),
            float(self.volume[i]),
        )

    def columns_as_lists(self) -> tuple[list, list, list, list, list, list]:
        """The six columns as Python lists: building ``Candle`` objects from them is several times cheaper."""
        return tuple(a.tolist() for a in (self.open_time, self.open, self.high, self.low, self.close, self.volume))

    def candles(self) -> Iterator[Candle]:
        ot, o, h, lo, c, v = (
            a.tolist() for a in (self.open_time, self.open, self.high, self.low, self.close, self.volume)
        )
        for i in range(len(ot)):
            yield Candle(ot[i], o[i], h[i], lo[i], c[i], v[i])

    def gaps(self) -> list[Gap]:
        """Every run of missing candles; a gap is reported, never filled."""
        step = self.timeframe.ms
        diffs = np.diff(self.open_time)
        where = np.flatnonzero(diffs != step)
        return [Gap(int(self.open_time[i]), int(self.open_time[i + 1]), int(diffs[i] // step) - 1) for i in where]

    def _with(self, index: slice) -> CandleFrame:
        return CandleFrame(
            self.open_time[index],
            self.open[index],
            self.high[index],
            self.low[index],
            self.close[index],
            self.volume[index],
            self.timeframe,
            self.symbol,
            self.source,
        )


FIRST_TIME_MS = 0  # 1970-01-01: synthetic series start at the epoch
LAST_TIME_MS = 4_102_444_800_000  # 2100-01-01: later is a unit mistake (or a broken file), not a candle


def validate_arrays(
    source: str | Path,
    open_time: np.ndarray,
    columns: dict[str, np.ndarray],
) -> None:
    """Raise ``DataError`` naming file, row (1-based data row) and problem for the first defect of each kind."""
    source = str(source)
    n = open_time.shape[0]
    if n == 0:
        raise DataError(f"{source}: the file holds no candles; check that it is the right file")
    bad = np.flatnonzero((open_time < FIRST_TIME_MS) | (open_time >= LAST_TIME_MS))
    if bad.size:
        i = int(bad[0])
        raise DataError(
            f"{source}: row {i + 1}: open time {int(open_time[i])} is outside {iso(FIRST_TIME_MS)} … "
            f"{iso(LAST_TIME_MS)}; expected epoch milliseconds (or microseconds)"
        )
    for name in COLUMNS:
        values = columns[name]
        bad = np.flatnonzero(~np.isfinite(values))
        if bad.size:
            raise DataError(_row_msg(source, open_time, bad[0], f"{name} is NaN or infinite"))
        bad = np.flatnonzero(values < 0 if name == "volume" else values <= 0)
        if bad.size:
            problem = "negative" if name == "volume" else "not positive"
            raise DataError(_row_msg(source, open_time, bad[0], f"{name} is {problem} ({values[bad[0]]})"))
    if n > 1:
        diffs = np.diff(open_time)
        dup = np.flatnonzero(diffs == 0)
        if dup.size:
            raise DataError(_row_msg(source, open_time, dup[0] + 1, "duplicate open time; remove the repeated row"))
        back = np.flatnonzero(diffs < 0)
        if back.size:
            raise DataError(
                _row_msg(
                    source,
                    open_time,
                    back[0] + 1,
                    f"open time goes backwards (previous row is {iso(int(open_time[back[0]]))}); "
                    "rows must be sorted by open time",
                )
            )
    o, h, lo, c = (columns[k] for k in ("open", "high", "low", "close"))
    checks = (
        (h < lo, "high < low"),
        (h < np.maximum(o, c), "high below open or close"),
        (lo > np.minimum(o, c), "low above open or close"),
    )
    for mask, problem in checks:
        bad = np.flatnonzero(mask)
        if bad.size:
            i = bad[0]
            raise DataError(
                _row_msg(source, open_time, i, f"{problem} (open={o[i]}, high={h[i]}, low={lo[i]}, close={c[i]})")
            )


def _row_msg(source: str, open_time: np.ndarray, i: int, problem: str) -> str:
    i = int(i)
    return f"{source}: row {i + 1} ({iso(int(open_time[i]))}): {problem}"
