"""The pipeline for one closed base candle: candle book → strategy → risk gate → broker → portfolio.

The same object runs in every mode — the backtest and the running bot both build it — and only the broker and the
source of candles differ.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Protocol

import numpy as np

from ictbot.candles.book import CandleBook
from ictbot.data.funding import FundingSchedule
from ictbot.domain import Candle, Fill, OrderIntent, Rejection, Signal, Timeframe
from ictbot.portfolio.ledger import Portfolio, Trade
from ictbot.risk.gate import AccountView, RiskGate
from ictbot.sdk import Position as PositionView
from ictbot.sdk import PositionAction
from ictbot.strategy.base import Strategy

DAY_MS = 86_400_000
FILL_GRACE_MS = 3_600_000  # how long past its expiry a running bot still expects an entry's fill


class PipelineListener(Protocol):
    """Observers of what the pipeline decides (the recorder, metrics); they never influence it."""

    def on_decision(self, signal: Signal, decision: OrderIntent | Rejection) -> None: ...

    def on_fill(self, fill: Fill) -> None: ...


class Broker(Protocol):
    """Where the pipeline's orders go: the simulated account (backtest, paper) or the venue's order manager."""

    def submit(self, intent: OrderIntent) -> None: ...

    def on_candle(self, symbol: str, candle: Candle) -> list[Fill]: ...

    def pending_entries(self) -> int: ...

    def has_exposure(self, symbol: str) -> bool: ...

    def protection(self, symbol: str) -> tuple[float, float] | None:
        """(stop, target) guarding the open position of ``symbol``, if any."""
        ...

    def manage(self, action: PositionAction) -> None:
        """Apply a strategy's position action (move the stop, take partial profit, close) from the next candle."""
        ...

    def close_now(self, symbol: str, price: Decimal, time: int, reason: str = "manual") -> list[Fill]:
        """Cancel ``symbol``'s resting entries and close its position at ``price`` now, returning the closing fills,
        where this broker matches; a broker whose venue matches returns none (the venue's fills arrive as events)."""
        ...

    def take_cancelled(self) -> list[OrderIntent]:
        """Entries this broker cancelled unfilled since the last call, for the record; a broker whose order manager
        records its own cancellations returns none."""
        ...

    def next_action(self, symbol: str, open_time: np.ndarray, low: np.ndarray, high: np.ndarray, start: int) -> int:
        """First index ≥ ``start`` of these candles at which ``on_candle`` could fill or cancel something, so a
        backtest may skip the candles between; ``len(open_time)`` when nothing is pending."""
        ...


class Pipeline:
    def __init__(
        self,
        symbols: list[str],
        base: Timeframe,
        strategy: Strategy,
        gate: RiskGate,
        broker: Broker,
        portfolio: Portfolio,
        funding: dict[str, FundingSchedule] | None = None,
        keep_history: bool = True,
    ) -> None:
        """A backtest keeps every signal and intent for its report. A running bot (``keep_history=False``) keeps no
        signal, and an intent only until its entry can no longer fill, so that months of trading cost no memory:
        its recorder has them all."""
        self.funding = funding or {}
        self._keep_history = keep_history
        self.book = CandleBook(symbols, set(strategy.timeframes), base=base)
        self.gate = gate
        self.broker = broker
        self.portfolio = portfolio
        self.strategy = strategy
        self._strategy_timeframes = frozenset(strategy.timeframes)
        self.signals: list[Signal] = []
        self.actions: list[PositionAction] = []
        self.marks: dict[str, float] = {}
        self._day = -1
        self._day_start_equity = portfolio.initial_equity
        self.intents: dict[str, OrderIntent] = {}
        self.listeners: list[PipelineListener] = []
        self.last_realized = Decimal(0)  # PnL realized by the fill the listeners are being told about
        self.last_closed: Trade | None = None  # the round trip that fill closed, if it closed one

    def restore_day(self, day: int, opening_equity: Decimal) -> None:
        """Carry on a UTC day begun before this process: its loss counts from ``opening_equity`` (rebuilt from the
        account's history, ``risk.daily``), not from the equity at the first candle seen."""
        self._day, self._day_start_equity = day, opening_equity

    @property
    def strategy(self) -> Strategy:
        return self._strategy

    @strategy.setter
    def strategy(self, strategy: Strategy) -> None:
        """A strategy that manages positions reads them from this pipeline's account."""
        self._strategy = strategy
        bind = getattr(strategy, "bind", None)
        if bind is not None:
            bind(self.position_view)

    def position_view(self, symbol: str) -> PositionView | None:
        """The open position of ``symbol`` as a strategy sees it (read-only), with the stop and target guarding it."""
        position = self.portfolio.positions.get(symbol)
        trade = self.portfolio.open_trades.get(symbol)
        if position is None or position.side is None or trade is None:
            return None
        guard = self.broker.protection(symbol)
        stop, target = guard if guard is not None else (None, None)
        return PositionView(
            position.side, float(abs(position.quantity)), float(position.entry_price), trade.entry_time, stop, target
        )

    def warm_up(self, symbol: str, candle: Candle) -> bool:
        """Feed a historical candle to the candle book and the strategy only: detectors learn, nothing trades."""
        closed = self.book.add(symbol, candle)
        for timeframe, htf_candle in closed:
            if timeframe in self._strategy_timeframes:
                self.strategy.on_candle(symbol, timeframe, htf_candle)
        return bool(closed)

    def on_base_candle(self, symbol: str, candle: Candle) -> list[tuple[Timeframe, Candle]]:
        """Process one closed base candle; returns every candle that closed with it, none when it was already seen
        (a candle is never processed twice)."""
        closed = self.book.add(symbol, candle)
        if closed:
            self.process(symbol, candle, [item for item in closed if item[0] in self._strategy_timeframes])
        return closed

    def process(self, symbol: str, candle: Candle, closed: Iterable[tuple[Timeframe, Candle]]) -> None:
        """Everything after the candle book: funding, fills, marks, the strategy and the risk gate."""
        schedule = self.funding.get(symbol)
        if schedule is not None:
            for rate, mark in schedule.due(candle.open_time):
                self.portfolio.apply_funding(symbol, rate, mark)
        for fill in self.broker.on_candle(symbol, candle):
            self.apply_fill(fill)
        self.marks[symbol] = candle.close
        day = candle.open_time // DAY_MS
        if day != self._day:
            self._day = day
            self._day_start_equity = self.equity()
        if not self._keep_history:
            self._forget_intents(candle.open_time - FILL_GRACE_MS)
        for timeframe, htf_candle in closed:
            for signal in self.strategy.on_candle(symbol, timeframe, htf_candle):
                if not isinstance(signal, Signal):
                    if self._keep_history:
                        self.actions.append(signal)
                    self.broker.manage(signal)
                    continue
                if self._keep_history:
                    self.signals.append(signal)
                intent = self.gate.check(signal, self._account(signal.symbol))
                if intent is not None:
                    self.intents[intent.client_order_id] = intent
                    self.broker.submit(intent)  # first: an entry leaves before anything is logged or recorded
                decision = intent if intent is not None else self.gate.last_rejection
                assert decision is not None
                for listener in self.listeners:
                    listener.on_decision(signal, decision)

    def _forget_intents(self, before: int) -> None:
        """Drop the oldest intents whose entry expired before ``before`` (they are kept in the order they were made,
        so this stops at the first one still live)."""
        while self.intents:
            oldest = next(iter(self.intents.values()))
            if (oldest.expires_at or oldest.created_at) >= before:
                return
            del self.intents[oldest.client_order_id]

    def apply_fill(self, fill: Fill) -> None:
        """Book a fill in the portfolio and tell the listeners; fills reach here in the order they happened."""
        intent = self.intents.get(fill.client_order_id)
        trade = self.portfolio.open_trades.get(fill.symbol)
        self.last_realized = self.portfolio.apply(fill, entry_reason=intent.signal.reason if intent else "")
        self.last_closed = trade if trade is not None and trade.exit_time is not None else None
        for listener in self.listeners:
            listener.on_fill(fill)

    def equity(self) -> Decimal:
        return self.portfolio.equity(self.marks)

    def _account(self, symbol: str) -> AccountView:
        equity = self.equity()
        position = self.portfolio.positions.get(symbol)
        return AccountView(
            equity=equity,
            open_positions=self.portfolio.open_position_count(),
            pending_entries=self.broker.pending_entries(),
            loss_today=max(Decimal(0), self._day_start_equity - equity),
            symbol_busy=self.broker.has_exposure(symbol) or (position is not None and position.quantity != 0),
        )
