"""The pipeline's broker when orders go to the venue: the order manager behind the simulated broker's surface."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import numpy as np

from ictbot.domain import Candle, Fill, OrderIntent
from ictbot.execution.orders import OrderManager
from ictbot.sdk import MoveStop, PositionAction, TakePartial
from ictbot.symbols import symbol_spec


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

    def protection(self, symbol: str) -> tuple[float, float] | None:
        guard = self.manager.protection(symbol)
        return None if guard is None else (float(guard[0]), float(guard[1]))

    def manage(self, action: PositionAction) -> None:
        """A moved stop becomes a new stop-loss on the venue (placed before the old one is cancelled); a partial
        take-profit or a close, a reduce-only market order."""
        if isinstance(action, MoveStop):
            price = symbol_spec(action.symbol, action.price).round_price(action.price)
            self.manager.manage(action.symbol, "move_stop", price=price, reason=action.reason)
        elif isinstance(action, TakePartial):
            self.manager.manage(action.symbol, "partial", fraction=Decimal(str(action.fraction)), reason=action.reason)
        else:
            self.manager.manage(action.symbol, "close", reason=action.reason)

    def close_now(self, symbol: str, price: Decimal, time: int, reason: str = "manual") -> list[Fill]:
        """The venue closes through the order manager (``OrderManager.close_symbol``); its fills arrive as events."""
        return []

    def take_cancelled(self) -> list[OrderIntent]:
        """The order manager records the entries it cancels itself."""
        return []

    def next_action(self, symbol: str, open_time: np.ndarray, low: np.ndarray, high: np.ndarray, start: int) -> int:
        """The venue matches, so any candle may bring a fill: none can be skipped."""
        return start
