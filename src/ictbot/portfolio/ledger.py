"""Positions, realized PnL, fees and round-trip trades, in exact Decimal arithmetic.

Cash = initial equity + Σ realized PnL − Σ fees + Σ funding holds by construction (funding is signed: received
positive, paid negative); equity adds the unrealized PnL at mark.
Average entry prices are kept to 12 decimals so that every later product and sum stays exact.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from ictbot.domain import Fill, Position, Side

ENTRY_PRICE_QUANTUM = Decimal("1e-12")


@dataclass(slots=True)
class Trade:
    """One round trip from flat to flat on one symbol."""

    symbol: str
    side: Side
    entry_time: int
    entry_price: Decimal
    quantity: Decimal
    exit_time: int | None = None
    exit_price: Decimal | None = None
    fees: Decimal = Decimal(0)
    realized: Decimal = Decimal(0)
    funding: Decimal = Decimal(0)
    exit_reason: str = ""
    entry_reason: str = ""
    client_order_id: str = ""
    _exit_qty: Decimal = Decimal(0)
    _exit_value: Decimal = Decimal(0)

    @property
    def pnl(self) -> Decimal:
        """Net result: realized price PnL minus every fee of the round trip, plus the funding it received."""
        return self.realized - self.fees + self.funding


@dataclass
class Portfolio:
    """A backtest keeps every fill and closed round trip for its report; a running bot (``keep_history=False``)
    keeps none, so that months of trading cost no memory: its recorder has them all. Totals always cover
    everything."""

    initial_equity: Decimal
    positions: dict[str, Position] = field(default_factory=dict)
    realized: Decimal = Decimal(0)
    fees: Decimal = Decimal(0)
    funding: Decimal = Decimal(0)
    fills: list[Fill] = field(default_factory=list)
    closed_trades: list[Trade] = field(default_factory=list)
    open_trades: dict[str, Trade] = field(default_factory=dict)
    keep_history: bool = True

    @property
    def cash(self) -> Decimal:
        return self.initial_equity + self.realized - self.fees + self.funding

    def apply_funding(self, symbol: str, rate: Decimal, mark: Decimal) -> Decimal:
        """Settle one funding payment: notional at mark × rate; a positive rate makes longs pay shorts."""
        position = self.positions.get(symbol)
        if position is None or position.quantity == 0:
            return Decimal(0)
        amount = -position.quantity * mark * rate
        self.book_funding(symbol, amount)
        return amount

    def book_funding(self, symbol: str, amount: Decimal) -> None:
        """A funding payment the venue settled (signed: negative when paid), credited to the open trade if any."""
        self.funding += amount
        trade = self.open_trades.get(symbol)
        if trade is not None:
            trade.funding += amount

    def position(self, symbol: str) -> Position:
        return self.positions.setdefault(symbol, Position(symbol))

    def open_position_count(self) -> int:
        return sum(1 for p in self.positions.values() if p.quantity != 0)

    def equity(self, marks: dict[str, float]) -> Decimal:
        unrealized = sum(
            (p.unrealized_pnl(Decimal(str(marks[s]))) for s, p in self.positions.items() if p.quantity != 0),
            Decimal(0),
        )
        return self.cash + unrealized

    def adopt(self, wallet: Decimal, positions: dict[str, tuple[Decimal, Decimal]], time: int) -> None:
        """Take the venue's account as the truth: cash becomes its wallet balance and each position (signed quantity,
        entry price) its position. A position the ledger did not hold opens a trade at the venue's entry price; one
        the venue no longer holds is dropped (its closing fills, when known, were booked before)."""
        self.initial_equity += wallet - self.cash
        for symbol in set(self.positions) | set(positions):
            quantity, entry_price = positions.get(symbol, (Decimal(0), Decimal(0)))
            position = self.position(symbol)
            if position.quantity == quantity and position.entry_price == entry_price:
                continue
            position.quantity, position.entry_price = quantity, entry_price
            if quantity == 0:
                self.open_trades.pop(symbol, None)
                continue
            side = Side.BUY if quantity > 0 else Side.SELL
            trade = self.open_trades.setdefault(
                symbol, Trade(symbol, side, time, entry_price, abs(quantity), entry_reason="held on the venue")
            )
            trade.side, trade.entry_price, trade.quantity = side, entry_price, abs(quantity)

    def apply(self, fill: Fill, entry_reason: str = "") -> Decimal:
        """Book a fill; returns the PnL it realized."""
        if self.keep_history:
            self.fills.append(fill)
        self.fees += fill.fee
        pos = self.position(fill.symbol)
        delta = fill.quantity * fill.side.sign
        realized = Decimal(0)
        old = pos.quantity
        if old == 0 or (old > 0) == (delta > 0):
            total = abs(old) + abs(delta)
            average = (pos.entry_price * abs(old) + fill.price * abs(delta)) / total
            pos.entry_price = average.quantize(ENTRY_PRICE_QUANTUM)
            pos.quantity = old + delta
        else:
            closed = min(abs(old), abs(delta))
            realized = (fill.price - pos.entry_price) * closed * (1 if old > 0 else -1)
            pos.quantity = old + delta
            if pos.quantity == 0:
                pos.entry_price = Decimal(0)
            elif (pos.quantity > 0) != (old > 0):
                pos.entry_price = fill.price
        self.realized += realized
        self._track_trade(fill, old, pos.quantity, realized, entry_reason)
        return realized

    def _track_trade(self, fill: Fill, old: Decimal, new: Decimal, realized: Decimal, entry_reason: str) -> None:
        trade = self.open_trades.get(fill.symbol)
        if trade is None:
            trade = Trade(
                fill.symbol,
                fill.side,
                fill.time,
                fill.price,
                abs(new),
                entry_reason=entry_reason,
                client_order_id=fill.client_order_id,
            )
            self.open_trades[fill.symbol] = trade
            trade.fees += fill.fee
            return
        trade.fees += fill.fee
        trade.realized += realized
        if abs(new) > abs(old) and (new > 0) == (old > 0):
            trade.entry_price = self.positions[fill.symbol].entry_price
            trade.quantity = abs(new)
            return
        trade._exit_qty += fill.quantity
        trade._exit_value += fill.quantity * fill.price
        if new == 0:
            trade.exit_time = fill.time
            trade.exit_price = trade._exit_value / trade._exit_qty
            trade.exit_reason = fill.reason
            if self.keep_history:
                self.closed_trades.append(trade)
            del self.open_trades[fill.symbol]
