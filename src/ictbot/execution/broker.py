"""The pipeline's broker when orders go to the venue: the order manager behind the simulated broker's surface."""

from __future__ import annotations

from collections.abc import Callable

from ictbot.domain import Candle, Fill, OrderIntent
from ictbot.execution.orders import OrderManager


class VenueBroker:
    """Entries are handed to the order manager; fills come back from the venue's user-data stream, not from candles."""

    def __init__(self, manager: OrderManager, arrival_ns: Callable[[], int] = lambda: 0) -> None:
        """``arrival_ns`` tells when the closed kline being processed arrived, for the send latency."""
        self.manager = manager
        self._arrival_ns = arrival_ns

    def submit(self, intent: OrderIntent) -> None:
        self.manager.submit(intent, self._arrival_ns())

    def on_candle(self, symbol: str, candle: Candle) -> list[Fill]:
        """The venue matches; a closed candle only tells which unfilled entries have outlived their time."""
        self.manager.expire(symbol, candle.open_time)
        return []

    def pending_entries(self) -> int:
        return self.manager.pending_entries()

    def has_exposure(self, symbol: str) -> bool:
        return self.manager.has_exposure(symbol)
