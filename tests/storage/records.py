"""Real-looking records for the recorder tests: a signal carrying detector records, its intent and a rejection."""

from __future__ import annotations

from decimal import Decimal

from ictbot.domain import Fill, OrderIntent, OrderType, Rejection, Side, Signal, client_order_id
from ictbot.ict.records import FairValueGap, StructureBreak

T0 = 1_704_067_200_000  # 2024-01-01 00:00 UTC


class ManualClock:
    def __init__(self, now: int = T0) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


def make_signal(created_at: int = T0, entry: float = 42_123.4, symbol: str = "BTCUSDT") -> Signal:
    gap = FairValueGap(direction=1, top=42_123.4, bottom=42_050.1, formed_at=created_at - 600_000, known_at=created_at)
    gap.touched_at = created_at + 300_000
    brk = StructureBreak(
        direction=1, top=42_200.0, bottom=42_200.0, formed_at=created_at - 900_000, known_at=created_at, kind="choch"
    )
    return Signal(
        symbol=symbol,
        side=Side.BUY,
        entry=entry,
        stop=41_980.05,
        target=42_409.1,
        created_at=created_at,
        reason="bullish sweep → choch → fvg entry, target liquidity",
        order_type=OrderType.LIMIT,
        expires_at=created_at + 3_600_000,
        evidence=(brk, gap),
    )


def make_intent(signal: Signal | None = None, quantity: str = "0.003") -> OrderIntent:
    signal = signal or make_signal()
    return OrderIntent(
        client_order_id=client_order_id(signal),
        symbol=signal.symbol,
        side=signal.side,
        order_type=signal.order_type,
        quantity=Decimal(quantity),
        price=Decimal("42123.4"),
        stop=Decimal("41980.0"),
        target=Decimal("42409.1"),
        created_at=signal.created_at,
        expires_at=signal.expires_at,
        signal=signal,
    )


def make_rejection(signal: Signal) -> Rejection:
    return Rejection(signal.created_at, signal.symbol, "max_open_positions", "3 positions or entries already open")


def make_fill(cid: str, quantity: str, price: str, fee: str = "0", time: int = T0, symbol: str = "BTCUSDT") -> Fill:
    return Fill(cid, symbol, Side.BUY, Decimal(quantity), Decimal(price), Decimal(fee), time, True, "entry")
