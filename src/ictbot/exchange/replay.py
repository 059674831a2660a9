"""Replay of real candle history on one shared clock, as a stream of ticks, closed candles and funding times.

Each candle is walked along a fixed intra-candle path so that orders and triggers fire in a realistic order:
a bullish candle (close ≥ open) goes open → low → high → close, a bearish one open → high → low → close. The four
ticks sit at the open, one third, two thirds and the last millisecond of the candle. Only the open may gap from the
previous close; between ticks the price moves continuously, so a level crossed inside a segment trades at that level.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np

from ictbot.data.frame import CandleFrame
from ictbot.exchange.errors import BinanceError
from ictbot.exchange.numbers import fmt, places
from ictbot.symbols import SymbolSpec, symbol_spec

FUNDING_INTERVAL_MS = 8 * 3_600_000
DEFAULT_FUNDING_RATE = Decimal("0.0001")
TICKS_PER_CANDLE = 4

INTERVAL_MS = {
    "1m": 60_000,
    "3m": 180_000,
    "5m": 300_000,
    "15m": 900_000,
    "30m": 1_800_000,
    "1h": 3_600_000,
    "2h": 7_200_000,
    "4h": 14_400_000,
    "6h": 21_600_000,
    "8h": 28_800_000,
    "12h": 43_200_000,
    "1d": 86_400_000,
    "3d": 259_200_000,
}


@dataclass(frozen=True, slots=True)
class Tick:
    """One price on a candle's path; ``continuous`` is False for the open, which may gap."""

    symbol: str
    time: int
    price: Decimal
    continuous: bool
    index: int
    stage: int


@dataclass(frozen=True, slots=True)
class CandleClosed:
    symbol: str
    time: int
    index: int


@dataclass(frozen=True, slots=True)
class FundingDue:
    symbol: str
    time: int
    rate: Decimal


MarketEvent = Tick | CandleClosed | FundingDue


@dataclass
class SymbolFeed:
    """One symbol's candles, filters, funding rates and replay position."""

    frame: CandleFrame
    spec: SymbolSpec
    funding: dict[int, Decimal] = field(default_factory=dict)
    closed: int = 0
    stage: int = 0
    last_price: Decimal = Decimal(0)

    @property
    def symbol(self) -> str:
        return self.spec.symbol

    @property
    def tf_ms(self) -> int:
        return self.frame.timeframe.ms

    @property
    def price_places(self) -> int:
        return places(self.spec.tick_size)

    @property
    def qty_places(self) -> int:
        return places(self.spec.step_size)

    def price(self, value: float) -> Decimal:
        return self.spec.round_price(value)

    def path(self, i: int) -> list[Decimal]:
        """The four prices of candle ``i`` in the documented order."""
        f = self.frame
        o, h, lo, c = (self.price(float(a[i])) for a in (f.open, f.high, f.low, f.close))
        return [o, lo, h, c] if c >= o else [o, h, lo, c]

    def tick_time(self, i: int, stage: int) -> int:
        start = int(self.frame.open_time[i])
        return start + self.tf_ms - 1 if stage == TICKS_PER_CANDLE - 1 else start + stage * self.tf_ms // 3

    def funding_rate(self, time: int) -> Decimal:
        return self.funding.get(time, DEFAULT_FUNDING_RATE)


class MarketReplay:
    """Candles of several symbols on one clock; ``now`` is the replay time in epoch ms.

    At start the first ``warmup`` candles of each symbol are already closed history, so klines and backfill work at
    once. ``step()`` moves the clock by one base candle and returns what happened in time order.
    """

    def __init__(self, frames: list[CandleFrame], warmup: int, funding: dict[str, dict[int, Decimal]] | None = None):
        if not frames:
            raise ValueError("the replay needs at least one candle file")
        self.feeds: dict[str, SymbolFeed] = {}
        for frame in frames:
            if frame.symbol is None:
                raise ValueError(f"{frame.source}: no symbol in the file name; pass the symbol explicitly")
            if len(frame) < 2:
                raise ValueError(f"{frame.source}: needs at least two candles")
            spec = symbol_spec(frame.symbol, float(frame.close[0]))
            self.feeds[frame.symbol] = SymbolFeed(frame, spec, dict((funding or {}).get(frame.symbol, {})))
        self.step_ms = min(feed.tf_ms for feed in self.feeds.values())
        starts = []
        for feed in self.feeds.values():
            history = max(1, min(warmup, len(feed.frame) - 1))
            starts.append(int(feed.frame.open_time[history - 1]) + feed.tf_ms)
        self.now = max(starts)
        self.end = max(int(f.frame.open_time[-1]) + f.tf_ms for f in self.feeds.values())
        for feed in self.feeds.values():
            feed.closed = int(np.searchsorted(feed.frame.open_time, self.now - feed.tf_ms, "right"))
            feed.last_price = feed.price(float(feed.frame.close[max(feed.closed - 1, 0)]))

    @property
    def finished(self) -> bool:
        return self.now >= self.end

    def feed(self, symbol: str) -> SymbolFeed:
        feed = self.feeds.get(symbol)
        if feed is None:
            raise BinanceError(-1121)
        return feed

    def step(self) -> list[MarketEvent]:
        """Advance the clock by one base candle; ticks, closes and funding in time order."""
        t0, t1 = self.now, self.now + self.step_ms
        events: list[tuple[int, int, MarketEvent]] = []
        for feed in self.feeds.values():
            ot = feed.frame.open_time
            first = int(np.searchsorted(ot, t0 - feed.tf_ms, "right"))
            last = int(np.searchsorted(ot, t1, "left"))
            for i in range(first, last):
                for stage, price in enumerate(feed.path(i)):
                    time = feed.tick_time(i, stage)
                    if t0 <= time < t1:
                        events.append((time, 1, Tick(feed.symbol, time, price, stage > 0, i, stage)))
                        if stage == TICKS_PER_CANDLE - 1:
                            events.append((time, 2, CandleClosed(feed.symbol, time, i)))
            due = -(-t0 // FUNDING_INTERVAL_MS) * FUNDING_INTERVAL_MS
            if due < t1 and int(ot[0]) <= due <= int(ot[-1]) + feed.tf_ms:
                events.append((due, 0, FundingDue(feed.symbol, due, feed.funding_rate(due))))
        self.now = t1
        events.sort(key=lambda e: (e[0], e[1]))
        return [e[2] for e in events]

    def apply(self, event: MarketEvent) -> None:
        """Record a processed event in the symbol's replay position."""
        feed = self.feeds[event.symbol]
        if isinstance(event, Tick):
            feed.closed, feed.stage, feed.last_price = event.index, event.stage + 1, event.price
        elif isinstance(event, CandleClosed):
            feed.closed, feed.stage = event.index + 1, 0

    def next_funding_time(self) -> int:
        return (self.now // FUNDING_INTERVAL_MS + 1) * FUNDING_INTERVAL_MS

    def kline_payload(self, symbol: str, index: int, stage: int) -> dict[str, object]:
        """The ``k`` object of a kline stream event for candle ``index`` after ``stage`` ticks."""
        feed = self.feeds[symbol]
        o, h, lo, c, v = self._partial(feed, index, stage)
        start = int(feed.frame.open_time[index])
        pp, qp = feed.price_places, feed.qty_places
        interval = feed.frame.timeframe.binance
        return {
            "t": start,
            "T": start + feed.tf_ms - 1,
            "s": symbol,
            "i": interval,
            "f": -1,
            "L": -1,
            "o": fmt(o, pp),
            "c": fmt(c, pp),
            "h": fmt(h, pp),
            "l": fmt(lo, pp),
            "v": fmt(v, qp),
            "n": 0,
            "x": stage >= TICKS_PER_CANDLE,
            "q": fmt(v * c, pp),
            "V": "0",
            "Q": "0",
            "B": "0",
        }

    def _partial(self, feed: SymbolFeed, index: int, stage: int) -> tuple[Decimal, Decimal, Decimal, Decimal, Decimal]:
        volume = Decimal(str(float(feed.frame.volume[index]))).quantize(feed.spec.step_size)
        if stage >= TICKS_PER_CANDLE:
            path = feed.path(index)
            return path[0], max(path), min(path), path[-1], volume
        seen = feed.path(index)[:stage] or [feed.last_price]
        fraction = Decimal(max(stage - 1, 0)) / 3
        return seen[0], max(seen), min(seen), seen[-1], (volume * fraction).quantize(feed.spec.step_size)

    def klines(self, symbol: str, interval: str, start: int | None, end: int | None, limit: int) -> list[list[object]]:
        """REST kline rows: closed candles plus the one in progress, aggregated to ``interval``."""
        feed = self.feed(symbol)
        iv = INTERVAL_MS.get(interval)
        if iv is None or iv < feed.tf_ms or iv % feed.tf_ms:
            raise BinanceError(-1120, msg="Invalid interval.")
        f = feed.frame
        visible = feed.closed
        cols = [a[:visible].astype(np.float64) for a in (f.open, f.high, f.low, f.close, f.volume)]
        times = f.open_time[:visible]
        if visible < len(f) and int(f.open_time[visible]) <= self.now:
            o, h, lo, c, v = self._partial(feed, visible, feed.stage)
            times = np.append(times, f.open_time[visible])
            cols = [np.append(a, float(x)) for a, x in zip(cols, (o, h, lo, c, v), strict=True)]
        buckets = times // iv * iv
        keep = np.ones(len(buckets), dtype=bool)
        if start is not None:
            keep &= buckets >= start
        if end is not None:
            keep &= buckets <= end
        buckets, times = buckets[keep], times[keep]
        cols = [a[keep] for a in cols]
        if len(buckets) == 0:
            return []
        firsts = np.flatnonzero(np.r_[True, buckets[1:] != buckets[:-1]])
        rows_open = buckets[firsts]
        agg_open = cols[0][firsts]
        agg_high = np.maximum.reduceat(cols[1], firsts)
        agg_low = np.minimum.reduceat(cols[2], firsts)
        agg_close = cols[3][np.r_[firsts[1:] - 1, len(buckets) - 1]]
        agg_volume = np.add.reduceat(cols[4], firsts)
        n = len(rows_open)
        chosen = range(0, min(n, limit)) if start is not None else range(max(0, n - limit), n)
        pp, qp = feed.price_places, feed.qty_places
        rows: list[list[object]] = []
        for k in chosen:
            close = feed.price(float(agg_close[k]))
            volume = Decimal(str(float(agg_volume[k]))).quantize(feed.spec.step_size)
            rows.append(
                [
                    int(rows_open[k]),
                    fmt(feed.price(float(agg_open[k])), pp),
                    fmt(feed.price(float(agg_high[k])), pp),
                    fmt(feed.price(float(agg_low[k])), pp),
                    fmt(close, pp),
                    fmt(volume, qp),
                    int(rows_open[k]) + iv - 1,
                    fmt(volume * close, pp),
                    0,
                    "0",
                    "0",
                    "0",
                ]
            )
        return rows
