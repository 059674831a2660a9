"""The risk gate: nothing reaches a broker without passing it.

Size = risk % of equity ÷ stop distance, capped by max margin × leverage, rounded *down* to the symbol's step; prices
rounded to its tick. A signal that cannot be sized within the limits is rejected with a stable reason code, and every
rejection is kept for the report.

Trading state: ACTIVE takes entries; REDUCING (daily loss limit reached) takes none until the next UTC day; HALTED
(set by an operator or a supervisor) takes none until resumed. Exits are never the gate's business: they always pass.
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from ictbot.config import RiskSettings
from ictbot.domain import OrderIntent, Rejection, Side, Signal, client_order_id
from ictbot.errors import RiskRejected
from ictbot.risk.liquidation import liquidation_price_at_leverage
from ictbot.symbols import SymbolSpec

DAY_MS = 86_400_000
MINUTE_MS = 60_000


class TradingState(enum.Enum):
    ACTIVE = "ACTIVE"
    REDUCING = "REDUCING"
    HALTED = "HALTED"


@dataclass(frozen=True, slots=True)
class AccountView:
    """What the gate needs to know about the account at decision time."""

    equity: Decimal
    open_positions: int
    pending_entries: int
    loss_today: Decimal
    symbol_busy: bool


class RiskGate:
    def __init__(self, settings: RiskSettings, specs: dict[str, SymbolSpec], keep_history: bool = True) -> None:
        """A backtest keeps every rejection for its report; a running bot (``keep_history=False``) keeps only the
        latest, its recorder has them all."""
        self.settings = settings
        self.specs = specs
        self._keep_history = keep_history
        self.rejections: list[Rejection] = []
        self.last_rejection: Rejection | None = None
        self.state = TradingState.ACTIVE
        self.state_reason = ""
        self._reducing_day: int | None = None
        self._accepted_times: deque[int] = deque()
        #: Called with the reason and the UTC day when the daily loss limit is reached (a running bot records it).
        self.on_reducing: Callable[[str, int], None] = lambda reason, day: None

    def halt(self, reason: str) -> None:
        """Stop taking entries until ``resume``; the reason is reported with every rejection."""
        self.state, self.state_reason = TradingState.HALTED, reason

    def reduce(self, reason: str, day: int) -> None:
        """Take no entries until the end of UTC ``day`` (days since the epoch): the limit was reached earlier today."""
        self.state, self.state_reason, self._reducing_day = TradingState.REDUCING, reason, day

    def resume(self) -> None:
        self.state, self.state_reason, self._reducing_day = TradingState.ACTIVE, "", None

    def check(self, signal: Signal, account: AccountView) -> OrderIntent | None:
        """Return the sized intent, or ``None`` after recording why the signal was rejected."""
        try:
            self._check_state(signal.created_at, account)
            self._check_order_rate(signal.created_at)
            intent = self.size(signal, account)
        except RiskRejected as rejected:
            self.last_rejection = Rejection(signal.created_at, signal.symbol, rejected.reason, rejected.detail)
            if self._keep_history:
                self.rejections.append(self.last_rejection)
            return None
        self._accepted_times.append(signal.created_at)
        return intent

    def _check_state(self, now: int, account: AccountView) -> None:
        limit = self.settings.daily_loss_limit_usdt
        if self.state is TradingState.REDUCING and now // DAY_MS != self._reducing_day:
            self.state, self.state_reason, self._reducing_day = TradingState.ACTIVE, "", None
        if self.state is TradingState.ACTIVE and account.loss_today >= Decimal(str(limit)):
            self.state, self._reducing_day = TradingState.REDUCING, now // DAY_MS
            self.state_reason = f"lost {account.loss_today} USDT today, limit {limit}; exits only until 00:00 UTC"
            self.on_reducing(self.state_reason, self._reducing_day)
        if self.state is TradingState.REDUCING:
            raise RiskRejected("daily_loss_limit", self.state_reason)
        if self.state is TradingState.HALTED:
            raise RiskRejected("halted", self.state_reason or "trading is halted")

    def _check_order_rate(self, now: int) -> None:
        window = self._accepted_times
        while window and window[0] <= now - MINUTE_MS:
            window.popleft()
        if len(window) >= self.settings.max_orders_per_minute:
            raise RiskRejected(
                "max_orders_per_minute",
                f"{len(window)} entries in the last minute, limit {self.settings.max_orders_per_minute}",
            )

    def size(self, signal: Signal, account: AccountView) -> OrderIntent:
        s = self.settings
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
        liquidation = liquidation_price_at_leverage(signal.symbol, signal.side, quantity, entry, s.leverage)
        buffer = entry * Decimal(str(s.liquidation_buffer_pct)) / 100
        if (signal.side is Side.BUY and stop <= liquidation + buffer) or (
            signal.side is Side.SELL and stop >= liquidation - buffer
        ):
            raise RiskRejected(
                "stop_beyond_liquidation",
                f"stop {stop} is within {s.liquidation_buffer_pct} % of the liquidation price "
                f"{liquidation.quantize(spec.tick_size)} at {s.leverage}x; lower the leverage or tighten the stop",
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
