"""The simulated broker: resting entries with attached stop and target, matched against candles.

Fill model (documented in docs/architecture.md):
* A LIMIT entry rests from the candle after the signal; it fills at its price (maker) when the candle trades through
  it, and is cancelled once ``expires_at`` passes unfilled. A MARKET entry fills at the next candle's open (taker).
* After the entry, the stop fills at its price, or at the open if the candle opens beyond it, with adverse slippage
  (taker). The target is a TAKE_PROFIT_MARKET on the venue, so it fills as a market order once triggered: at its
  price, or at the open if the candle opens beyond it, with the same adverse slippage (taker).
* When one candle reaches both stop and target — or reaches the stop on the candle that filled the entry — the
  stop is assumed first (conservative: the finest data cannot say which came first). A target on the entry candle
  is not taken. A stop the path is already beyond at the tick that fills the entry cannot be placed on a venue
  (it would trigger at once): the position is closed at market, at that tick's price, slipped.
* Isolated-margin liquidation: the risk gate keeps every stop before the liquidation price, so only a candle that
  opens beyond the liquidation price liquidates; the position closes at that open (taker; at the bankruptcy price if
  the open is beyond it) and, as on Binance, the rest of its margin is lost as a clearance fee: the trade loses
  exactly its margin plus fees.
* A fill's time is when the local exchange's documented path through the candle (open → low → high → close for a
  bullish candle, open → high → low → close for a bearish one, at its open, one third, two thirds and last
  millisecond) first reaches the fill's level, as a venue books it; fees are booked to 8 decimals, as Binance does.
* Position actions of the strategy: a moved stop guards from the next candle; a partial take-profit or a close fills
  at the next candle's open (taker, slipped), before that candle's stop and target are matched.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

import numpy as np

from ictbot.domain import Candle, Fill, OrderIntent, OrderType, Side
from ictbot.risk.liquidation import liquidation_price_at_leverage
from ictbot.sdk import ClosePosition, MoveStop, PositionAction, TakePartial
from ictbot.symbols import SymbolSpec

FEE_STEP = Decimal("1e-8")


@dataclass(slots=True)
class _Bracket:
    intent: OrderIntent
    filled: bool = False
    entry_price: Decimal = Decimal(0)
    liquidation: float = 0.0
    pending: TakePartial | ClosePosition | None = None  # filled at the next candle's open


class SimulatedBroker:
    def __init__(
        self,
        specs: dict[str, SymbolSpec],
        maker_fee_rate: float,
        taker_fee_rate: float,
        slippage_ticks: int,
        candle_ms: int,
        leverage: int,
    ) -> None:
        self.specs = specs
        self.candle_ms = candle_ms
        self.leverage = leverage
        self.maker_fee_rate = Decimal(str(maker_fee_rate))
        self.taker_fee_rate = Decimal(str(taker_fee_rate))
        self.slippage_ticks = slippage_ticks
        self._brackets: dict[str, list[_Bracket]] = {}
        self.cancelled: list[OrderIntent] = []
        self._cancelled_taken = 0

    def submit(self, intent: OrderIntent) -> None:
        self._brackets.setdefault(intent.symbol, []).append(_Bracket(intent))

    def pending_entries(self) -> int:
        return sum(1 for lst in self._brackets.values() for b in lst if not b.filled)

    def has_exposure(self, symbol: str) -> bool:
        return bool(self._brackets.get(symbol))

    def protection(self, symbol: str) -> tuple[float, float] | None:
        for bracket in self._brackets.get(symbol, ()):
            if bracket.filled:
                return float(bracket.intent.stop), float(bracket.intent.target)
        return None

    def manage(self, action: PositionAction) -> None:
        for bracket in self._brackets.get(action.symbol, ()):
            if not bracket.filled:
                continue
            if isinstance(action, MoveStop):
                bracket.intent = replace(bracket.intent, stop=self.specs[action.symbol].round_price(action.price))
            elif not isinstance(bracket.pending, ClosePosition):
                bracket.pending = action

    def take_cancelled(self) -> list[OrderIntent]:
        """Entries cancelled unfilled since the last call (their time ran out, or their symbol was closed)."""
        taken = self.cancelled[self._cancelled_taken :]
        self._cancelled_taken = len(self.cancelled)
        return taken

    def close_now(self, symbol: str, price: Decimal, time: int, reason: str = "manual") -> list[Fill]:
        """Cancel the resting entries of ``symbol`` and close its filled positions at ``price`` (taker, slipped)."""
        fills: list[Fill] = []
        for bracket in self._brackets.pop(symbol, []):
            if not bracket.filled:
                self.cancelled.append(bracket.intent)
                continue
            side = bracket.intent.side.opposite
            fills.append(self._fill(bracket.intent, side, self._slipped(symbol, price, side), time, False, reason))
        return fills

    def next_action(self, symbol: str, open_time: np.ndarray, low: np.ndarray, high: np.ndarray, start: int) -> int:
        """First index ≥ ``start`` of these candles at which ``on_candle`` would fill or cancel something.

        Lets a backtest skip candles on which nothing can happen; ``len(open_time)`` when nothing is pending.
        """
        soonest = open_time.shape[0]
        for bracket in self._brackets.get(symbol, ()):
            intent = bracket.intent
            if not bracket.filled:
                if intent.order_type is OrderType.MARKET:
                    return start
                if intent.expires_at is not None:
                    expiry = int(np.searchsorted(open_time, intent.expires_at - self.candle_ms, "left"))
                    soonest = min(soonest, max(expiry, start))
                price = float(intent.price)
                touched = (
                    (lambda a, b, p=price: low[a:b] <= p)
                    if intent.side is Side.BUY
                    else (lambda a, b, p=price: high[a:b] >= p)
                )
                soonest = _first_hit(touched, start, soonest)
                continue
            if bracket.pending is not None:
                return start
            stop, target = float(intent.stop), float(intent.target)
            if intent.side is Side.BUY:
                soonest = _first_hit(lambda a, b, s=stop, t=target: (low[a:b] <= s) | (high[a:b] >= t), start, soonest)
            else:
                soonest = _first_hit(lambda a, b, s=stop, t=target: (high[a:b] >= s) | (low[a:b] <= t), start, soonest)
        return soonest

    def on_candle(self, symbol: str, candle: Candle) -> list[Fill]:
        """Match every order of ``symbol`` against one closed base candle; fills come in time order."""
        brackets = self._brackets.get(symbol)
        if not brackets:
            return []
        fills: list[Fill] = []
        keep: list[_Bracket] = []
        for bracket in brackets:
            if not bracket.filled:
                entry = self._try_entry(bracket, candle)
                if entry is None:
                    if (
                        bracket.intent.expires_at is not None
                        and candle.open_time + self.candle_ms >= bracket.intent.expires_at
                    ):
                        self.cancelled.append(bracket.intent)
                    else:
                        keep.append(bracket)
                    continue
                fills.append(entry)
                bracket.filled = True
                bracket.entry_price = entry.price
                bracket.liquidation = float(
                    liquidation_price_at_leverage(entry.symbol, entry.side, entry.quantity, entry.price, self.leverage)
                )
                exit_fill = self._try_exit(bracket, candle, entry_candle=True)
            else:
                if bracket.pending is not None:
                    reduced = self._reduce(bracket, candle)
                    if reduced is not None:
                        fills.append(reduced)
                    if bracket.intent.quantity == 0:
                        continue
                exit_fill = self._try_exit(bracket, candle, entry_candle=False)
            if exit_fill is None:
                keep.append(bracket)
            else:
                fills.append(exit_fill)
        self._brackets[symbol] = keep
        return fills

    def _reduce(self, bracket: _Bracket, candle: Candle) -> Fill | None:
        """The pending partial take-profit or close, at the open; the bracket keeps guarding what is left."""
        action, bracket.pending = bracket.pending, None
        intent = bracket.intent
        quantity = intent.quantity
        if isinstance(action, TakePartial):
            quantity = min(
                quantity, self.specs[intent.symbol].round_qty_down(intent.quantity * Decimal(str(action.fraction)))
            )
        if quantity <= 0:
            return None
        assert action is not None
        side = intent.side.opposite
        price = self._slipped(intent.symbol, Decimal(str(candle.open)), side)
        fill = self._fill(replace(intent, quantity=quantity), side, price, candle.open_time, False, action.reason)
        bracket.intent = replace(intent, quantity=intent.quantity - quantity)
        return fill

    def _try_entry(self, bracket: _Bracket, candle: Candle) -> Fill | None:
        intent = bracket.intent
        if intent.order_type is OrderType.MARKET:
            price = self._slipped(intent.symbol, Decimal(str(candle.open)), intent.side)
            return self._fill(intent, intent.side, price, candle.open_time, maker=False, reason="entry")
        touched = candle.low <= intent.price if intent.side is Side.BUY else candle.high >= intent.price
        if not touched:
            return None
        time = self._touch_time(candle, float(intent.price), below=intent.side is Side.BUY)
        return self._fill(intent, intent.side, intent.price, time, maker=True, reason="entry")

    def _try_exit(self, bracket: _Bracket, candle: Candle, entry_candle: bool) -> Fill | None:
        intent = bracket.intent
        exit_side = intent.side.opposite
        stop = float(intent.stop)
        if intent.side is Side.BUY:
            stop_hit, target_hit = candle.low <= stop, candle.high >= float(intent.target)
            gapped = candle.open <= stop and not entry_candle
            liquidated = gapped and candle.open <= bracket.liquidation
        else:
            stop_hit, target_hit = candle.high >= stop, candle.low <= float(intent.target)
            gapped = candle.open >= stop and not entry_candle
            liquidated = gapped and candle.open >= bracket.liquidation
        if liquidated:
            return self._liquidation(bracket, candle)
        if stop_hit:
            base = Decimal(str(candle.open)) if gapped else intent.stop
            below = intent.side is Side.BUY
            stage = _touch_stage(candle, stop, below)
            if entry_candle and stage == _touch_stage(candle, float(intent.price), below):
                base = Decimal(str(_path(candle)[stage]))  # beyond the stop before it could be placed: at market
            price = self._slipped(intent.symbol, base, exit_side)
            return self._fill(intent, exit_side, price, self._tick_time(candle, stage), maker=False, reason="stop")
        if target_hit and not entry_candle:
            opened = Decimal(str(candle.open))
            beyond = opened >= intent.target if intent.side is Side.BUY else opened <= intent.target
            price = self._slipped(intent.symbol, opened if beyond else intent.target, exit_side)
            time = self._touch_time(candle, float(intent.target), below=intent.side is Side.SELL)
            return self._fill(intent, exit_side, price, time, maker=False, reason="target")
        return None

    def _liquidation(self, bracket: _Bracket, candle: Candle) -> Fill:
        """Close at the open, but never beyond the bankruptcy price: an isolated loss stops at the margin."""
        intent = bracket.intent
        sign = intent.side.sign
        bankruptcy = bracket.entry_price * (1 - Decimal(sign) / self.leverage)
        opened = Decimal(str(candle.open))
        price = self.specs[intent.symbol].round_price(max(opened, bankruptcy) if sign > 0 else min(opened, bankruptcy))
        taker = self._fill(intent, intent.side.opposite, price, candle.open_time, maker=False, reason="liquidation")
        margin = intent.quantity * bracket.entry_price / self.leverage
        realized = (price - bracket.entry_price) * intent.quantity * intent.side.sign
        clearance = max(Decimal(0), margin + realized)
        return replace(taker, fee=taker.fee + clearance)

    def _touch_time(self, candle: Candle, level: float, below: bool) -> int:
        """When the candle's path first trades at or ``below`` (else at or above) ``level``: the time of that tick."""
        return self._tick_time(candle, _touch_stage(candle, level, below))

    def _tick_time(self, candle: Candle, stage: int) -> int:
        return candle.open_time + (self.candle_ms - 1 if stage == 3 else stage * self.candle_ms // 3)

    def _slipped(self, symbol: str, price: Decimal, side: Side) -> Decimal:
        spec = self.specs[symbol]
        return spec.round_price(price) + side.sign * self.slippage_ticks * spec.tick_size

    def _fill(self, intent: OrderIntent, side: Side, price: Decimal, time: int, maker: bool, reason: str) -> Fill:
        rate = self.maker_fee_rate if maker else self.taker_fee_rate
        fee = (intent.quantity * price * rate).quantize(FEE_STEP)
        return Fill(intent.client_order_id, intent.symbol, side, intent.quantity, price, fee, time, maker, reason)


def _first_hit(hits_between, start: int, end: int) -> int:
    """First index in ``[start, end)`` where the vectorised condition holds, else ``end``; scans in growing windows
    so that a hit close to ``start`` costs little."""
    window = 64
    while start < end:
        stop = min(end, start + window)
        hits = hits_between(start, stop)
        first = int(np.argmax(hits))
        if hits[first]:
            return start + first
        start, window = stop, window * 4
    return end


def _path(candle: Candle) -> tuple[float, float, float, float]:
    o, h, lo, c = candle.open, candle.high, candle.low, candle.close
    return (o, lo, h, c) if c >= o else (o, h, lo, c)


def _touch_stage(candle: Candle, level: float, below: bool) -> int:
    """The first tick of the candle's path at or ``below`` (else at or above) ``level`` (the last if none)."""
    for stage, price in enumerate(_path(candle)):
        if (price <= level) if below else (price >= level):
            return stage
    return 3
