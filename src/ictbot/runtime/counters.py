"""What flowed through the pipeline: the counts behind the heartbeat line, ``/status`` and metrics.

Stages increment a shared ``Counters``; the heartbeat takes the counts since its last line, while the totals since
start keep growing for status and metrics.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from ictbot.domain import Timeframe

StreamKey = tuple[str, Timeframe]


@dataclass(frozen=True, slots=True)
class CountSnapshot:
    """Counts over some span: closed candles per stream, signals, orders sent, fills and rejections by reason."""

    candles: dict[StreamKey, int] = field(default_factory=dict)
    signals: int = 0
    orders: int = 0
    fills: int = 0
    rejections: dict[str, int] = field(default_factory=dict)

    @property
    def rejected(self) -> int:
        return sum(self.rejections.values())

    def to_dict(self) -> dict[str, object]:
        return {
            "candles": {stream_name(key): n for key, n in self.candles.items()},
            "signals": self.signals,
            "orders": self.orders,
            "fills": self.fills,
            "rejections": dict(self.rejections),
        }


class _Tally:
    def __init__(self) -> None:
        self.candles: Counter[StreamKey] = Counter()
        self.rejections: Counter[str] = Counter()
        self.signals = 0
        self.orders = 0
        self.fills = 0

    def snapshot(self) -> CountSnapshot:
        return CountSnapshot(
            candles=dict(self.candles),
            signals=self.signals,
            orders=self.orders,
            fills=self.fills,
            rejections=dict(self.rejections),
        )


class Counters:
    """Counts incremented by the engine; read as an interval (since the last heartbeat) and as totals."""

    def __init__(self) -> None:
        self._interval = _Tally()
        self._total = _Tally()

    def candle(self, symbol: str, timeframe: Timeframe, n: int = 1) -> None:
        for tally in (self._interval, self._total):
            tally.candles[(symbol, timeframe)] += n

    def signal(self, n: int = 1) -> None:
        for tally in (self._interval, self._total):
            tally.signals += n

    def order(self, n: int = 1) -> None:
        for tally in (self._interval, self._total):
            tally.orders += n

    def fill(self, n: int = 1) -> None:
        for tally in (self._interval, self._total):
            tally.fills += n

    def rejection(self, reason: str, n: int = 1) -> None:
        for tally in (self._interval, self._total):
            tally.rejections[reason] += n

    def take_interval(self) -> CountSnapshot:
        """The counts since the previous call, and start a new interval."""
        snapshot = self._interval.snapshot()
        self._interval = _Tally()
        return snapshot

    def totals(self) -> CountSnapshot:
        return self._total.snapshot()


def stream_name(key: StreamKey) -> str:
    """``BTCUSDT:1m`` — how a stream is named in checks, logs and JSON."""
    symbol, timeframe = key
    return f"{symbol}:{timeframe.value}"
