"""Read candle history in every format ictbot meets, validating it on the way in.

Formats: Arrow IPC ``.feather``, ``.parquet`` (columns ``date``/``open_time`` + OHLCV), Binance's bulk-dump CSV (plain
or inside ``.zip``; with or without header; ms or µs open times), REST klines JSON (``.json``) and gzip JSON arrays
(``.json.gz``). Symbol and timeframe come from the metadata of a Parquet file ictbot wrote, else from the file name
where it carries them, otherwise the timeframe is inferred from the spacing of the candles.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.feather as feather
import pyarrow.parquet as pq

from ictbot.data.frame import COLUMNS, CandleFrame, validate_arrays
from ictbot.domain import MINUTE_MS, Timeframe
from ictbot.errors import DataError

_FREQTRADE_NAME = re.compile(r"^(?P<base>[A-Z0-9]+)_(?P<quote>[A-Z0-9]+)(?:_[A-Z0-9]+)?-(?P<tf>\d+[mhdw])")
_BINANCE_DUMP_NAME = re.compile(r"^(?P<symbol>[A-Z0-9]+)-(?P<tf>\d+[mhdw])[-.]")
_MS_LIMIT = 10**14  # open times above this are microseconds (Binance spot dumps since 2025)
_TIME_LIMIT = 2.0**62  # beyond any epoch µs time, well inside int64


@dataclass(frozen=True, slots=True)
class NameInfo:
    symbol: str | None
    timeframe: Timeframe | None


def parse_file_name(path: str | Path) -> NameInfo:
    """Symbol and timeframe from names like ``BTC_USDT_USDT-1m-futures.feather`` or ``LINKUSDT-1m-2023-02.zip``."""
    name = Path(path).name
    for pattern in (_FREQTRADE_NAME, _BINANCE_DUMP_NAME):
        match = pattern.match(name)
        if match:
            groups = match.groupdict()
            symbol = groups.get("symbol") or f"{groups['base']}{groups['quote']}"
            try:
                timeframe = Timeframe.parse(groups["tf"])
            except ValueError:
                timeframe = None
            return NameInfo(symbol, timeframe)
    return NameInfo(None, None)


def load_candles(path: str | Path, *, symbol: str | None = None, timeframe: Timeframe | None = None) -> CandleFrame:
    """Load and validate a candle file; raises ``DataError`` naming the file, row and problem."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file; check the path")
    open_time, columns = _read_any(path)
    validate_arrays(path, open_time, columns)
    stored, named = _stored_info(path), parse_file_name(path)
    tf = timeframe or stored.timeframe or named.timeframe or _infer_timeframe(path, open_time)
    _check_alignment(path, open_time, tf)
    return CandleFrame(
        open_time,
        *(columns[name] for name in COLUMNS),
        timeframe=tf,
        symbol=symbol or stored.symbol or named.symbol,
        source=str(path),
    )


_SYMBOL_KEY, _TIMEFRAME_KEY = b"ictbot.symbol", b"ictbot.timeframe"


def _stored_info(path: Path) -> NameInfo:
    """Symbol and timeframe that :func:`write_parquet` kept in a Parquet file's metadata, so a file named freely
    (``eth15.parquet``) still says what it holds."""
    if not path.name.lower().endswith(".parquet"):
        return NameInfo(None, None)
    try:
        metadata = pq.read_schema(path).metadata or {}
    except (OSError, pa.ArrowException):
        return NameInfo(None, None)
    symbol = metadata.get(_SYMBOL_KEY, b"").decode() or None
    try:
        timeframe = Timeframe.parse(metadata[_TIMEFRAME_KEY].decode()) if _TIMEFRAME_KEY in metadata else None
    except ValueError:
        timeframe = None
    return NameInfo(symbol, timeframe)


def load_funding_rates(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Funding times (rounded to the minute, epoch ms) and rates from a ``*-funding_rate.feather`` file.

    Binance's ``fundingTime`` lands a few ms after the hour, so times are rounded to the minute before joining.
    """
    path = Path(path)
    open_time, columns = _read_any(path)
    rounded = ((open_time + MINUTE_MS // 2) // MINUTE_MS) * MINUTE_MS
    rates = columns["open"]
    if not np.all(np.isfinite(rates)):
        raise DataError(f"{path}: a funding rate is NaN; re-download the funding file")
    return rounded, rates


def load_mark_prices(path: str | Path) -> CandleFrame:
    """Load a mark-price candle file; mark candles carry no volume, so a missing (NaN) volume reads as 0."""
    path = Path(path)
    open_time, columns = _read_any(path)
    columns["volume"] = np.nan_to_num(columns["volume"], nan=0.0)
    validate_arrays(path, open_time, columns)
    info = parse_file_name(path)
    tf = info.timeframe or _infer_timeframe(path, open_time)
    return CandleFrame(open_time, *(columns[n] for n in COLUMNS), timeframe=tf, symbol=info.symbol, source=str(path))


def write_parquet(frame: CandleFrame, out: str | Path) -> None:
    """Write atomically: a crash or error leaves no half-written file at ``out``. The symbol and timeframe go into
    the file's metadata, so :func:`load_candles` knows them whatever the file is called."""
    out = Path(out)
    metadata = {_TIMEFRAME_KEY: frame.timeframe.value.encode()}
    if frame.symbol:
        metadata[_SYMBOL_KEY] = frame.symbol.encode()
    table = pa.table(
        {
            "date": pa.array(frame.open_time, type=pa.int64()).cast(pa.timestamp("ms", tz="UTC")),
            **{name: getattr(frame, name) for name in COLUMNS},
        },
        metadata=metadata,
    )
    tmp = out.with_name(f".{out.name}.partial")
    try:
        pq.write_table(table, tmp)
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)


def read_parquet(path: Path) -> pa.Table:
    """One Parquet file as a table. ``pq.read_table`` goes through ``pyarrow.dataset``, which imports pandas: half a
    second of every command that reads a stored candle or funding file."""
    with pq.ParquetFile(path) as file:
        return file.read()


def _read_any(path: Path) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    name = path.name.lower()
    try:
        if name.endswith(".feather") or name.endswith(".arrow"):
            return _from_table(path, feather.read_table(path))
        if name.endswith(".parquet"):
            return _from_table(path, read_parquet(path))
        if name.endswith(".zip"):
            return _read_zip(path)
        if name.endswith(".csv"):
            return _read_csv(path, path.read_text())
        if name.endswith(".json.gz"):
            with gzip.open(path, "rt") as fh:
                return _from_rows(path, json.load(fh))
        if name.endswith(".json"):
            return _from_rows(path, json.loads(path.read_text()))
    except DataError:
        raise
    except RecursionError:
        raise DataError(f"{path}: nested too deeply to be kline rows; expected [[open_time, open, …], …]") from None
    except (OSError, ValueError, EOFError, UnicodeError, zipfile.BadZipFile, pa.ArrowException) as exc:
        raise DataError(
            f"{path}: cannot be read ({exc}); the file is damaged or not in the format its name says"
        ) from exc
    raise DataError(
        f"{path}: unknown format; supported: .feather, .parquet, .csv, .zip (Binance dump), .json, .json.gz"
    )


def _from_table(path: Path, table: pa.Table) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    names = set(table.column_names)
    time_col = next((c for c in ("date", "open_time", "timestamp") if c in names), None)
    missing = [c for c in COLUMNS if c not in names]
    if time_col is None or missing:
        wanted = "a time column (date, open_time or timestamp)" if time_col is None else ", ".join(missing)
        raise DataError(
            f"{path}: wrong columns {sorted(names)}; missing {wanted}. "
            "Expected date/open_time plus open, high, low, close, volume"
        )
    time = table.column(time_col)
    if time.null_count:
        row = int(np.flatnonzero(time.is_null().to_numpy(zero_copy_only=False))[0])
        raise DataError(f"{path}: row {row + 1}: the {time_col} is empty; every candle needs its open time")
    if pa.types.is_timestamp(time.type):
        open_time = _timestamps_ms(time)
    else:
        open_time = _to_ms(_whole_times(path, column_array(time)))
    columns = {c: np.ascontiguousarray(column_array(table.column(c)), dtype=np.float64) for c in COLUMNS}
    return np.ascontiguousarray(open_time, dtype=np.int64), columns


def column_array(column: pa.ChunkedArray) -> np.ndarray:
    """A numeric column as a NumPy array (nulls as NaN), read from its buffers where it has no nulls: pyarrow's own
    ``to_numpy`` imports pandas, which costs a command reading one small file a quarter of a second."""
    parts = [_chunk_array(chunk) for chunk in column.chunks]
    return np.concatenate(parts) if parts else column.to_numpy(zero_copy_only=False)


def _chunk_array(chunk: pa.Array) -> np.ndarray:
    kind = chunk.type
    if pa.types.is_floating(kind) and kind.bit_width > 16:
        code = "f"
    elif pa.types.is_signed_integer(kind) or pa.types.is_timestamp(kind):
        code = "i"
    elif pa.types.is_unsigned_integer(kind):
        code = "u"
    else:
        code = None
    if code is None or chunk.null_count:
        return chunk.to_numpy(zero_copy_only=False)
    dtype = np.dtype(f"={code}{kind.bit_width // 8}")
    if len(chunk) == 0:
        return np.empty(0, dtype=dtype)
    return np.frombuffer(chunk.buffers()[1], dtype=dtype, count=len(chunk), offset=chunk.offset * dtype.itemsize)


_PER_MS = {"ms": 1, "us": 1000, "ns": 1_000_000}


def _timestamps_ms(column: pa.ChunkedArray) -> np.ndarray:
    """Epoch ms of a timestamp column of any unit; finer units are truncated toward zero, as Arrow's cast does."""
    ticks = column_array(column).astype(np.int64, copy=False)
    if column.type.unit == "s":
        return ticks * 1000
    per_ms = _PER_MS[column.type.unit]
    return ticks if per_ms == 1 else np.sign(ticks) * (np.abs(ticks) // per_ms)


def _read_zip(path: Path) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    with zipfile.ZipFile(path) as archive:
        members = [m for m in archive.namelist() if m.lower().endswith(".csv")]
        if len(members) != 1:
            raise DataError(f"{path}: expected exactly one .csv inside the zip, found {members}")
        text = archive.read(members[0]).decode()
    return _read_csv(path, text)


def _read_csv(path: Path, text: str) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    rows = list(csv.reader(io.StringIO(text)))
    if rows and rows[0] and not _is_number(rows[0][0]):
        header = [h.strip().lower() for h in rows[0]]
        if header[:6] != ["open_time", "open", "high", "low", "close", "volume"]:
            raise DataError(
                f"{path}: unexpected CSV header {header[:6]}; expected Binance's open_time,open,high,low,close,volume,…"
            )
        rows = rows[1:]
    return _from_rows(path, [r for r in rows if r])


def _from_rows(path: Path, rows: list) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    if not isinstance(rows, list):
        raise DataError(f"{path}: expected a JSON array of kline rows")
    for i, row in enumerate(rows):
        if not isinstance(row, list | tuple) or len(row) < 6:
            shown = repr(row) if len(repr(row)) <= 80 else repr(row)[:77] + "..."
            raise DataError(
                f"{path}: row {i + 1}: expected at least 6 fields "
                f"[open_time, open, high, low, close, volume], got {shown}"
            )
    try:
        open_time = _to_ms(_whole_times(path, np.array([float(r[0]) for r in rows], dtype=np.float64)))
        values = np.array([[float(x) for x in r[1:6]] for r in rows], dtype=np.float64).reshape(-1, 5)
    except (TypeError, ValueError) as exc:
        raise DataError(f"{path}: a field is not a number ({exc})") from None
    return open_time, {name: np.ascontiguousarray(values[:, k]) for k, name in enumerate(COLUMNS)}


def _whole_times(path: Path, times: np.ndarray) -> np.ndarray:
    """Open times as int64 epoch ms or µs; one that is not finite or beyond any date is refused, naming its row."""
    if times.dtype.kind == "f":
        bad = np.flatnonzero(~np.isfinite(times) | (np.abs(times) >= _TIME_LIMIT))
        if bad.size:
            i = int(bad[0])
            raise DataError(f"{path}: row {i + 1}: open time {times[i]} is not a time (epoch milliseconds expected)")
    return np.asarray(times, dtype=np.int64)


def _to_ms(times: np.ndarray) -> np.ndarray:
    return times // 1000 if times.size and times.max() >= _MS_LIMIT else times


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _infer_timeframe(path: Path, open_time: np.ndarray) -> Timeframe:
    if open_time.shape[0] < 2:
        raise DataError(f"{path}: cannot infer the timeframe from one candle; pass --timeframe")
    step = int(np.min(np.diff(open_time)))
    try:
        return Timeframe.from_ms(step)
    except ValueError:
        raise DataError(
            f"{path}: candles are {step} ms apart, which is no supported timeframe; pass --timeframe"
        ) from None


def _check_alignment(path: Path, open_time: np.ndarray, timeframe: Timeframe) -> None:
    misaligned = np.flatnonzero(open_time % min(timeframe.ms, 86_400_000))
    if misaligned.size:
        i = int(misaligned[0])
        raise DataError(
            f"{path}: row {i + 1}: open time {int(open_time[i])} is not on a {timeframe} boundary; "
            "is the timeframe right?"
        )
