"""The Parquet history store: downloaded candles, one file per venue × symbol × timeframe × UTC month.

Layout: ``<root>/<venue>/<SYMBOL>/<timeframe>/<YYYY-MM>.parquet`` (``ictbot-data/history/binance-um/BTCUSDT/1m/
2025-05.parquet``). Month files keep every rewrite small and let a download be resumed or repaired month by month.
Each file is sorted by open time with no duplicates and is replaced atomically, so a crash never leaves half a file.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from ictbot.data.frame import COLUMNS, CandleFrame, Gap, iso, validate_arrays
from ictbot.data.loaders import load_candles, write_parquet
from ictbot.domain import Timeframe
from ictbot.errors import DataError

DEFAULT_VENUE = "binance-um"


@dataclass(frozen=True, slots=True)
class Coverage:
    """What the store holds for one symbol × timeframe: first and last open time, candle count, gaps between."""

    first: int
    last: int
    candles: int
    gaps: list[Gap]

    def __str__(self) -> str:
        missing = sum(g.missing for g in self.gaps)
        return f"{self.candles} candles {iso(self.first)} → {iso(self.last)}, {len(self.gaps)} gaps ({missing} missing)"


class HistoryStore:
    """Read, merge and inspect stored candle history under ``root`` for one venue."""

    def __init__(self, root: str | Path, venue: str = DEFAULT_VENUE) -> None:
        self.root = Path(root)
        self.venue = venue

    def directory(self, symbol: str, timeframe: Timeframe) -> Path:
        return self.root / self.venue / symbol.upper() / timeframe.value

    def month_path(self, symbol: str, timeframe: Timeframe, open_time: int) -> Path:
        """The file that holds the candle opening at ``open_time``."""
        return self.directory(symbol, timeframe) / f"{month_key(open_time)}.parquet"

    def series(self) -> list[tuple[str, Timeframe]]:
        """Every symbol × timeframe with at least one month file."""
        found = []
        for tf_dir in sorted((self.root / self.venue).glob("*/*")):
            if any(tf_dir.glob("*.parquet")):
                try:
                    found.append((tf_dir.parent.name, Timeframe.parse(tf_dir.name)))
                except ValueError:
                    continue
        return found

    def write(self, frame: CandleFrame) -> int:
        """Merge ``frame`` into the store; returns how many open times were new.

        A candle already stored with the same open time is replaced (a later download wins), so writing the same
        data twice changes nothing. Every month touched is validated whole before its file is replaced.
        """
        if frame.symbol is None:
            raise DataError(f"{frame.source}: candles without a symbol cannot be stored")
        if len(frame) == 0:
            return 0
        misaligned = np.flatnonzero(frame.open_time % min(frame.timeframe.ms, 86_400_000))
        if misaligned.size:
            at = int(frame.open_time[misaligned[0]])
            raise DataError(f"{frame.source}: open time {iso(at)} is not on a {frame.timeframe} boundary")
        added = 0
        months = np.array([month_key(int(t)) for t in frame.open_time])
        for month in dict.fromkeys(months.tolist()):
            part = _take(frame, months == month)
            path = self.month_path(frame.symbol, frame.timeframe, int(part.open_time[0]))
            merged, new = _merge(self._read_file(path, frame.symbol, frame.timeframe), part)
            path.parent.mkdir(parents=True, exist_ok=True)
            write_parquet(merged, path)
            added += new
        return added

    def read(
        self, symbol: str, timeframe: Timeframe, start_ms: int | None = None, end_ms: int | None = None
    ) -> CandleFrame:
        """Stored candles with open time in ``[start_ms, end_ms)``; raises ``DataError`` if there are none."""
        frame = self._read_range(symbol, timeframe, start_ms, end_ms)
        if frame is None or len(frame) == 0:
            span = f" between {_when(start_ms)} and {_when(end_ms)}" if start_ms or end_ms else ""
            raise DataError(
                f"no {symbol} {timeframe} candles in {self.directory(symbol, timeframe)}{span}; "
                f"run `ictbot download --symbol {symbol} --timeframe {timeframe} --from DATE` first"
            )
        return frame

    def coverage(self, symbol: str, timeframe: Timeframe) -> Coverage | None:
        """First/last candle, count and gaps of everything stored, or ``None`` when nothing is."""
        frame = self._read_range(symbol, timeframe, None, None)
        if frame is None or len(frame) == 0:
            return None
        return Coverage(int(frame.open_time[0]), int(frame.open_time[-1]), len(frame), frame.gaps())

    def newest(self, symbol: str, timeframe: Timeframe) -> int | None:
        """Open time of the newest stored candle, reading only the last month file."""
        files = self._files(symbol, timeframe)
        if not files:
            return None
        return int(self._read_file(files[-1], symbol, timeframe).open_time[-1])

    def missing(self, symbol: str, timeframe: Timeframe, start_ms: int, end_ms: int) -> list[tuple[int, int]]:
        """Spans ``[a, b)`` of open times in ``[start_ms, end_ms)`` without a stored candle, oldest first."""
        step = timeframe.ms
        start_ms = -(-start_ms // step) * step
        if start_ms >= end_ms:
            return []
        frame = self._read_range(symbol, timeframe, start_ms, end_ms)
        times = [] if frame is None else frame.open_time.tolist()
        spans, cursor = [], start_ms
        for t in times:
            if t > cursor:
                spans.append((cursor, t))
            cursor = t + step
        if cursor < end_ms:
            spans.append((cursor, end_ms))
        return spans

    def _files(self, symbol: str, timeframe: Timeframe) -> list[Path]:
        return sorted(self.directory(symbol, timeframe).glob("[0-9][0-9][0-9][0-9]-[0-9][0-9].parquet"))

    def _read_range(
        self, symbol: str, timeframe: Timeframe, start_ms: int | None, end_ms: int | None
    ) -> CandleFrame | None:
        first = None if start_ms is None else month_key(start_ms)
        last = None if end_ms is None else month_key(end_ms - 1)
        frames = [
            self._read_file(path, symbol, timeframe)
            for path in self._files(symbol, timeframe)
            if (first is None or path.stem >= first) and (last is None or path.stem <= last)
        ]
        if not frames:
            return None
        frame = _concat(frames, symbol, timeframe, str(self.directory(symbol, timeframe)))
        return frame.between(start_ms, end_ms)

    @staticmethod
    def _read_file(path: Path, symbol: str, timeframe: Timeframe) -> CandleFrame | None:
        return load_candles(path, symbol=symbol, timeframe=timeframe) if path.exists() else None


def month_key(open_time: int) -> str:
    """``YYYY-MM`` of a UTC epoch-ms time: the month file a candle belongs to."""
    return datetime.fromtimestamp(open_time / 1000, tz=UTC).strftime("%Y-%m")


def _when(ms: int | None) -> str:
    return "the beginning" if ms is None else iso(ms)


def _take(frame: CandleFrame, mask: np.ndarray) -> CandleFrame:
    return CandleFrame(
        frame.open_time[mask],
        *(getattr(frame, c)[mask] for c in COLUMNS),
        timeframe=frame.timeframe,
        symbol=frame.symbol,
        source=frame.source,
    )


def _concat(frames: list[CandleFrame], symbol: str, timeframe: Timeframe, source: str) -> CandleFrame:
    open_time = np.concatenate([f.open_time for f in frames])
    columns = {c: np.concatenate([getattr(f, c) for f in frames]) for c in COLUMNS}
    validate_arrays(source, open_time, columns)
    return CandleFrame(open_time, *(columns[c] for c in COLUMNS), timeframe=timeframe, symbol=symbol, source=source)


def _merge(old: CandleFrame | None, new: CandleFrame) -> tuple[CandleFrame, int]:
    """Union by open time, ``new`` winning ties; validated. Returns the merged frame and the count of new times."""
    order = np.argsort(new.open_time, kind="stable")
    new_time = new.open_time[order]
    keep_new = np.r_[new_time[1:] != new_time[:-1], True]  # the last of repeated times in ``new`` wins
    new_time = new_time[keep_new]
    new_cols = {c: getattr(new, c)[order][keep_new] for c in COLUMNS}
    if old is None:
        open_time, columns, added = new_time, new_cols, len(new_time)
    else:
        keep_old = ~np.isin(old.open_time, new_time)
        added = len(new_time) - int((~keep_old).sum())
        open_time = np.concatenate([old.open_time[keep_old], new_time])
        order = np.argsort(open_time, kind="stable")
        open_time = open_time[order]
        columns = {c: np.concatenate([getattr(old, c)[keep_old], new_cols[c]])[order] for c in COLUMNS}
    validate_arrays(new.source, open_time, columns)
    frame = CandleFrame(
        np.ascontiguousarray(open_time, dtype=np.int64),
        *(np.ascontiguousarray(columns[c], dtype=np.float64) for c in COLUMNS),
        timeframe=new.timeframe,
        symbol=new.symbol,
        source=new.source,
    )
    return frame, added
