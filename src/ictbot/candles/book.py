"""The multi-timeframe candle book: fed closed base candles, it emits every higher-timeframe candle as it closes.

It builds exactly the timeframes it is given (the ones the strategy declares), so a stage can never ask for a
timeframe nobody builds. Aggregation follows the rules in ``ictbot.candles.aggregate``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from ictbot.domain import Candle, Timeframe
from ictbot.errors import DataError


class CandleRing:
    """The newest ``capacity`` closed candles of one stream, as contiguous numpy columns.

    The buffer holds a quarter more than ``capacity`` so appends only occasionally move the newest candles back to
    the start. It is written through once when made, so its memory is resident from the start: a running bot's RSS
    does not creep up for days as appends first touch its pages."""

    __slots__ = ("_data", "_end", "capacity")

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._data = np.full((6, capacity + max(capacity // 4, 1)), np.nan)
        self._end = 0

    def append(self, candle: Candle) -> None:
        if self._end == self._data.shape[1]:
            self._data[:, : self.capacity] = self._data[:, self._end - self.capacity : self._end]
            self._end = self.capacity
        self._data[:, self._end] = (
            candle.open_time,
            candle.open,
            candle.high,
            candle.low,
            candle.close,
            candle.volume,
        )
        self._end += 1

    def __len__(self) -> int:
        return min(self._end, self.capacity)

    def columns(self) -> np.ndarray:
        """A read-only ``(6, n)`` view: open_time, open, high, low, close, volume."""
        view = self._data[:, self._end - len(self) : self._end]
        view.flags.writeable = False
        return view


@dataclass(slots=True)
class _Bucket:
    open_time: int
    open: float
    high: float
    low: float
    close: float
    volume: float

    def candle(self) -> Candle:
        return Candle(self.open_time, self.open, self.high, self.low, self.close, self.volume)


@dataclass(slots=True)
class _Stream:
    timeframe: Timeframe
    ring: CandleRing
    bucket: _Bucket | None = None
    complete_start: bool = False


@dataclass(slots=True)
class _Symbol:
    streams: list[_Stream]
    last_open_time: int | None = None
    gaps: int = 0
    missing: int = 0
    closed: dict[Timeframe, _Stream] = field(default_factory=dict)


class CandleBook:
    """Per symbol × timeframe ring buffers fed with closed base-timeframe candles."""

    def __init__(
        self,
        symbols: list[str],
        timeframes: set[Timeframe],
        base: Timeframe = Timeframe.M1,
        capacity: int = 2000,
    ) -> None:
        if not symbols or not timeframes:
            raise DataError("the candle book needs at least one symbol and one timeframe")
        for tf in timeframes:
            if tf.ms % base.ms:
                raise DataError(f"timeframe {tf} is not a multiple of the base timeframe {base}")
        self.base = base
        self.timeframes = sorted(timeframes | {base}, key=lambda tf: tf.ms)
        self._symbols: dict[str, _Symbol] = {}
        for symbol in symbols:
            streams = [_Stream(tf, CandleRing(capacity)) for tf in self.timeframes]
            self._symbols[symbol] = _Symbol(streams, closed={s.timeframe: s for s in streams})

    def add(self, symbol: str, candle: Candle) -> list[tuple[Timeframe, Candle]]:
        """Feed one closed base candle; returns every candle that closed with it, finest timeframe first.

        A candle already seen (same or older open time) is ignored, so a replayed or backfilled stream is never
        processed twice. Missing base candles are counted as gaps.
        """
        state = self._symbols.get(symbol)
        if state is None:
            raise DataError(f"symbol {symbol} is not in the candle book; add it to the configured symbols")
        t = candle.open_time
        if t % self.base.ms:
            raise DataError(f"{symbol}: candle open time {t} is not on a {self.base} boundary")
        last = state.last_open_time
        if last is not None and t <= last:
            return []
        first_ever = last is None
        if last is not None and t != last + self.base.ms:
            state.gaps += 1
            state.missing += (t - last) // self.base.ms - 1
        state.last_open_time = t
        stale: list[tuple[Timeframe, Candle]] = []
        fresh: list[tuple[Timeframe, Candle]] = [(self.base, candle)]
        for stream in state.streams:
            if stream.timeframe is self.base:
                stream.ring.append(candle)
            else:
                self._aggregate(stream, candle, first_ever, stale, fresh)
        return stale + fresh

    def closed(self, symbol: str, timeframe: Timeframe) -> np.ndarray:
        """The closed candles of one stream as a ``(6, n)`` array (open_time, open, high, low, close, volume)."""
        return self._symbols[symbol].closed[timeframe].ring.columns()

    def history(self, symbol: str, timeframes: Iterable[Timeframe]) -> list[tuple[Timeframe, Candle]]:
        """The held closed candles of ``timeframes`` in the order the book emitted them (by close time, finest
        first), so a rebuilt strategy can re-learn from them."""
        items = []
        for tf in timeframes:
            columns = self.closed(symbol, tf)
            for open_time, o, h, low, c, v in columns.T:
                candle = Candle(int(open_time), float(o), float(h), float(low), float(c), float(v))
                items.append((int(open_time) + tf.ms, tf.ms, tf, candle))
        items.sort(key=lambda item: item[:2])
        return [(tf, candle) for _, _, tf, candle in items]

    def last_open_time(self, symbol: str) -> int | None:
        return self._symbols[symbol].last_open_time

    def gap_count(self, symbol: str) -> tuple[int, int]:
        """(number of gaps, number of missing base candles) seen so far for ``symbol``."""
        state = self._symbols[symbol]
        return state.gaps, state.missing

    def _aggregate(
        self,
        stream: _Stream,
        candle: Candle,
        first_ever: bool,
        stale: list[tuple[Timeframe, Candle]],
        fresh: list[tuple[Timeframe, Candle]],
    ) -> None:
        """Fold ``candle`` into the stream's bucket; a bucket left open by a gap closes into ``stale``."""
        tf_ms = stream.timeframe.ms
        start = candle.open_time // tf_ms * tf_ms
        bucket = stream.bucket
        if bucket is not None and bucket.open_time != start:
            if stream.complete_start:
                stale.append(self._emit(stream, bucket))
            bucket = None
        if bucket is None:
            stream.complete_start = not first_ever or candle.open_time == start
            bucket = stream.bucket = _Bucket(start, candle.open, candle.high, candle.low, candle.close, candle.volume)
        else:
            bucket.high = max(bucket.high, candle.high)
            bucket.low = min(bucket.low, candle.low)
            bucket.close = candle.close
            bucket.volume += candle.volume
        if candle.open_time + self.base.ms == start + tf_ms:
            if stream.complete_start:
                fresh.append(self._emit(stream, bucket))
            stream.bucket = None

    def _emit(self, stream: _Stream, bucket: _Bucket) -> tuple[Timeframe, Candle]:
        closed = bucket.candle()
        stream.ring.append(closed)
        return stream.timeframe, closed
