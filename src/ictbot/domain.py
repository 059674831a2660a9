"""Typed domain objects shared by every stage of the pipeline.

Prices and quantities that cross the exchange boundary are ``Decimal`` (rounded to the symbol's tick and step);
candles carry floats because analytics run on float64 arrays.
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass, field
from decimal import Decimal

MINUTE_MS = 60_000


class Timeframe(enum.Enum):
    """A candle interval; the value is Binance's interval string."""

    M1 = "1m"
    M3 = "3m"
    M5 = "5m"
    M15 = "15m"
    M30 = "30m"
    H1 = "1h"
    H2 = "2h"
    H4 = "4h"
    H8 = "8h"
    D1 = "1d"

    @property
    def ms(self) -> int:
        """Duration in milliseconds."""
        return _DURATION_MINUTES[self] * MINUTE_MS

    @property
    def minutes(self) -> int:
        return _DURATION_MINUTES[self]

    @property
    def binance(self) -> str:
        """The interval string Binance uses in REST and WebSocket requests."""
        return self.value

    @classmethod
    def parse(cls, text: str) -> Timeframe:
        """Parse ``"5m"``/``"1h"``…; raises ``ValueError`` listing the supported values."""
        try:
            return cls(text.strip())
        except ValueError:
            supported = ", ".join(tf.value for tf in cls)
            raise ValueError(f"unknown timeframe {text!r}; supported: {supported}") from None

    @classmethod
    def from_ms(cls, duration_ms: int) -> Timeframe:
        for tf in cls:
            if tf.ms == duration_ms:
                return tf
        raise ValueError(f"no supported timeframe lasts {duration_ms} ms")

    def __str__(self) -> str:
        return self.value


_DURATION_MINUTES = {
    Timeframe.M1: 1,
    Timeframe.M3: 3,
    Timeframe.M5: 5,
    Timeframe.M15: 15,
    Timeframe.M30: 30,
    Timeframe.H1: 60,
    Timeframe.H2: 120,
    Timeframe.H4: 240,
    Timeframe.H8: 480,
    Timeframe.D1: 1440,
}


@dataclass(frozen=True, slots=True)
class Candle:
    """One OHLCV candle; ``open_time`` is the UTC open time in epoch milliseconds."""

    open_time: int
    open: float
    high: float
    low: float
    close: float
    volume: float
    closed: bool = True

    def close_time(self, timeframe: Timeframe) -> int:
        """Epoch ms of the candle's last millisecond, as Binance reports it."""
        return self.open_time + timeframe.ms - 1


class Side(enum.Enum):
    BUY = "BUY"
    SELL = "SELL"

    @property
    def sign(self) -> int:
        return 1 if self is Side.BUY else -1

    @property
    def opposite(self) -> Side:
        return Side.SELL if self is Side.BUY else Side.BUY


class OrderType(enum.Enum):
    MARKET = "MARKET"
    LIMIT = "LIMIT"


@dataclass(frozen=True, slots=True)
class Signal:
    """A strategy's wish to enter a trade; the risk gate decides whether and how big."""

    symbol: str
    side: Side
    entry: float
    stop: float
    target: float
    created_at: int
    reason: str
    order_type: OrderType = OrderType.LIMIT
    expires_at: int | None = None
    evidence: tuple = field(default=())

    @property
    def risk_per_unit(self) -> float:
        return abs(self.entry - self.stop)


@dataclass(frozen=True, slots=True)
class OrderIntent:
    """A sized, exchange-rounded order that passed the risk gate."""

    client_order_id: str
    symbol: str
    side: Side
    order_type: OrderType
    quantity: Decimal
    price: Decimal
    stop: Decimal
    target: Decimal
    created_at: int
    expires_at: int | None
    signal: Signal


@dataclass(frozen=True, slots=True)
class Fill:
    """An execution; ``fee`` is in USDT and always non-negative."""

    client_order_id: str
    symbol: str
    side: Side
    quantity: Decimal
    price: Decimal
    fee: Decimal
    time: int
    is_maker: bool
    reason: str


@dataclass(slots=True)
class Position:
    """A one-way-mode position: ``quantity`` is signed (positive long, negative short)."""

    symbol: str
    quantity: Decimal = Decimal(0)
    entry_price: Decimal = Decimal(0)

    @property
    def side(self) -> Side | None:
        if self.quantity > 0:
            return Side.BUY
        if self.quantity < 0:
            return Side.SELL
        return None

    def unrealized_pnl(self, mark: Decimal) -> Decimal:
        return (mark - self.entry_price) * self.quantity


@dataclass(frozen=True, slots=True)
class Rejection:
    """A signal the risk gate refused, with a stable reason code and a sentence saying why."""

    time: int
    symbol: str
    reason: str
    detail: str


def client_order_id(signal: Signal) -> str:
    """Deterministic id derived from the signal, so a re-sent intent can be recognised by the venue (≤ 36 chars)."""
    key = f"{signal.symbol}|{signal.side.value}|{signal.created_at}|{signal.entry!r}|{signal.stop!r}"
    return "ict-" + hashlib.sha256(key.encode()).hexdigest()[:28]
