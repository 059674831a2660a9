"""The risk gate: nothing reaches a broker without passing it.

Size = risk % of equity ÷ stop distance, capped by max margin × leverage, rounded *down* to the symbol's step; prices
rounded to its tick. A signal that cannot be sized within the limits is rejected with a stable reason code, and every
rejection is kept for the report.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal

from ictbot.config import RiskSettings
from ictbot.domain import OrderIntent, Side, Signal
from ictbot.errors import RiskRejected
from ictbot.venues.symbols import SymbolSpec


@dataclass(frozen=True, slots=True)
class Rejection:
    time: int
    symbol: str
    reason: str
    detail: str


@dataclass(frozen=True, slots=True)
class AccountView:
    """What the gate needs to know about the account at decision time."""

    equity: Decimal
    open_positions: int
    pending_entries: int
    loss_today: Decimal
    symbol_busy: bool


def client_order_id(signal: Signal) -> str:
    """Deterministic id derived from the signal, so a re-sent intent can be recognised by the venue (≤ 36 chars)."""
    key = f"{signal.symbol}|{signal.side.value}|{signal.created_at}|{signal.entry!r}|{signal.stop!r}"
    return "ict-" + hashlib.sha256(key.encode()).hexdigest()[:28]


class RiskGate:
    def __init__(self, settings: RiskSettings, specs: dict[str, SymbolSpec]) -> None:
        self.settings = settings
        self.specs = specs
        self.rejections: list[Rejection] = []

    def rejection_counts(self) -> dict[str, int]:
        return dict(Counter(r.reason for r in self.rejections))

    def check(self, signal: Signal, account: AccountView) -> OrderIntent | None:
        """Return the sized intent, or ``None`` after recording why the signal was rejected."""
        try:
            return self.size(signal, account)
        except RiskRejected as rejected:
            self.rejections.append(Rejection(signal.created_at, signal.symbol, rejected.reason, rejected.detail))
            return None

    def size(self, signal: Signal, account: AccountView) -> OrderIntent:
        s = self.settings
        if account.loss_today >= Decimal(str(s.daily_loss_limit_usdt)):
            raise RiskRejected(
                "daily_loss_limit", f"lost {account.loss_today} USDT today, limit {s.daily_loss_limit_usdt}"
            )
        if account.open_positions + account.pending_entries >= s.max_open_positions:
            raise RiskRejected("max_open_positions", f"{s.max_open_positions} positions or entries already open")
        if account.symbol_busy:
            raise RiskRejected("symbol_busy", f"{signal.symbol} already has a position or a resting entry")
        spec = self.specs[signal.symbol]
        entry = spec.round_price(signal.entry)
        stop = spec.round_price(signal.stop)
        target = spec.round_price(signal.target)
        distance = abs(entry - stop)
        wrong_side = (stop >= entry) if signal.side is Side.BUY else (stop <= entry)
        if distance == 0 or wrong_side:
            raise RiskRejected("invalid_stop", f"stop {stop} is not on the losing side of entry {entry}")
        risk_usdt = account.equity * Decimal(str(s.risk_per_trade_pct)) / 100
        cap_notional = Decimal(str(s.max_position_margin_usdt)) * s.leverage
        quantity = spec.round_qty_down(min(risk_usdt / distance, cap_notional / entry))
        if quantity < spec.min_qty:
            raise RiskRejected("below_min_qty", f"size {quantity} < minimum quantity {spec.min_qty}")
        notional = quantity * entry
        if notional < spec.min_notional:
            raise RiskRejected(
                "below_min_notional",
                f"{quantity} × {entry} = {notional} USDT < minimum notional {spec.min_notional} USDT "
                f"(cap {cap_notional} USDT = max margin × leverage)",
            )
        return OrderIntent(
            client_order_id=client_order_id(signal),
            symbol=signal.symbol,
            side=signal.side,
            order_type=signal.order_type,
            quantity=quantity,
            price=entry,
            stop=stop,
            target=target,
            created_at=signal.created_at,
            expires_at=signal.expires_at,
            signal=signal,
        )
