"""Matching engine and account: orders, algo triggers, positions, margin, fees, funding and liquidation.

Liquidity is unlimited at the replayed price: a taker order fills at the last trade price, a resting limit order
fills at its own price as soon as the price path reaches it, a triggered stop fills at its trigger price (or at the
open when the candle gaps through it). A market order (a triggered stop or take-profit included) fills
``slippage_ticks`` price steps worse, the spread a taker crosses (0 unless set, as the backtest's
``slippage_ticks`` is). Mark price equals the last price. All money is ``Decimal``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from ictbot.exchange.errors import BinanceError
from ictbot.exchange.numbers import ZERO, fmt, parse_bool, parse_decimal, places
from ictbot.exchange.protection import ProtectionWatch
from ictbot.exchange.records import AlgoOrder, Income, Order, Position, Trade
from ictbot.exchange.replay import MarketReplay, SymbolFeed
from ictbot.symbols import bracket_for, leverage_brackets

MAKER_FEE = Decimal("0.0002")
TAKER_FEE = Decimal("0.0005")
DEFAULT_LEVERAGE = 20
CONDITIONAL_TYPES = ("STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET", "TRAILING_STOP_MARKET")
ALGO_TYPES = ("STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET")
MAX_OPEN_ORDERS = 200
MAX_ALGO_ORDERS = 10
_CLIENT_ID = re.compile(r"^[\.A-Z\:/a-z0-9_-]{1,36}$")

EventSink = Callable[[dict[str, object]], None]
_MONEY = Decimal("1e-8")


def _cents(amount: Decimal) -> Decimal:
    """Wallet movements are booked to 8 decimals, as Binance reports them, so sums stay exact."""
    return amount.quantize(_MONEY)


@dataclass
class SymbolSettings:
    leverage: int = DEFAULT_LEVERAGE
    margin_type: str = "CROSSED"


class Engine:
    """One funded account trading every replayed symbol; emits user-stream events through ``sink``."""

    def __init__(self, replay: MarketReplay, balance: Decimal) -> None:
        self.replay = replay
        self.time = replay.now
        self.wallet = ZERO
        self.dual_side = False
        self.settings = {s: SymbolSettings() for s in replay.feeds}
        self.positions: dict[tuple[str, str], Position] = {}
        self.orders: dict[int, Order] = {}
        self.algos: dict[int, AlgoOrder] = {}
        self.trades: list[Trade] = []
        self.income: list[Income] = []
        self.sink: EventSink = lambda event: None
        self.fill_ratio: Decimal | None = None
        self.slippage_ticks = 0  # price steps a market order fills worse than the last price
        self.reject_next: list[int] = []
        self._next_order_id = 8_389_765_000_000
        self._next_algo_id = 3_000_000_000
        self._next_trade_id = 600_000_000
        self._next_tran_id = 9_000_000_000
        self._auto_id = 0
        self.protection = ProtectionWatch()
        self.deposit(balance)

    # ----------------------------------------------------------------------------------------------- account state
    def deposit(self, amount: Decimal) -> None:
        self.wallet += amount
        self._book_income("", "TRANSFER", amount)

    def mark(self, symbol: str) -> Decimal:
        return self.replay.feeds[symbol].last_price

    def position(self, symbol: str, side: str) -> Position:
        key = (symbol, side)
        if key not in self.positions:
            self.positions[key] = Position(symbol, side)
        return self.positions[key]

    def open_positions(self) -> list[Position]:
        return [p for p in self.positions.values() if p.amount]

    def isolated(self, symbol: str) -> bool:
        return self.settings[symbol].margin_type == "ISOLATED"

    def cross_wallet(self) -> Decimal:
        return self.wallet - sum((p.isolated_wallet for p in self.positions.values()), ZERO)

    def maint_margin(self, p: Position) -> Decimal:
        notional = abs(p.amount) * self.mark(p.symbol)
        tier = bracket_for(p.symbol, notional)
        return max(ZERO, notional * tier.maint_margin_ratio - tier.cum)

    def initial_margin(self, p: Position) -> Decimal:
        return abs(p.amount) * self.mark(p.symbol) / self.settings[p.symbol].leverage

    def open_order_margin(self) -> Decimal:
        return sum(
            (o.remaining * o.price / self.settings[o.symbol].leverage for o in self.open_orders() if not o.reduce_only),
            ZERO,
        )

    def cross_unrealized(self) -> Decimal:
        return sum(
            (p.unrealized(self.mark(p.symbol)) for p in self.open_positions() if not self.isolated(p.symbol)), ZERO
        )

    def available(self) -> Decimal:
        cross_initial = sum(
            (self.initial_margin(p) for p in self.open_positions() if not self.isolated(p.symbol)),
            ZERO,
        )
        return self.cross_wallet() + self.cross_unrealized() - cross_initial - self.open_order_margin()

    def liquidation_price(self, p: Position) -> Decimal:
        """Binance's one-way formula; isolated uses the position's own wallet, cross the whole cross margin."""
        if not p.amount:
            return ZERO
        q, s = abs(p.amount), Decimal(1 if p.amount > 0 else -1)
        tier = bracket_for(p.symbol, q * p.entry_price)
        if self.isolated(p.symbol):
            wallet = p.isolated_wallet
        else:
            others = [o for o in self.open_positions() if o is not p and not self.isolated(o.symbol)]
            wallet = (
                self.cross_wallet()
                - sum((self.maint_margin(o) for o in others), ZERO)
                + sum((o.unrealized(self.mark(o.symbol)) for o in others), ZERO)
            )
        denominator = q * tier.maint_margin_ratio - s * q
        price = (wallet + tier.cum - s * q * p.entry_price) / denominator
        return max(price, ZERO)

    def open_orders(self, symbol: str | None = None) -> list[Order]:
        return [o for o in self.orders.values() if o.is_open and (symbol is None or o.symbol == symbol)]

    def open_algos(self, symbol: str | None = None) -> list[AlgoOrder]:
        return [a for a in self.algos.values() if a.is_open and (symbol is None or a.symbol == symbol)]

    # ------------------------------------------------------------------------------------------------ settings
    def set_leverage(self, symbol: str, leverage: int) -> int:
        self.replay.feed(symbol)
        max_leverage = leverage_brackets(symbol)[0].initial_leverage
        if leverage < 1 or leverage > max_leverage:
            raise BinanceError(-4028, leverage)
        settings = self.settings[symbol]
        has_position = any(p.amount for p in self.open_positions() if p.symbol == symbol)
        if settings.margin_type == "ISOLATED" and has_position and leverage < settings.leverage:
            raise BinanceError(-4161)
        settings.leverage = leverage
        return leverage

    def set_margin_type(self, symbol: str, margin_type: str) -> None:
        self.replay.feed(symbol)
        if margin_type not in ("ISOLATED", "CROSSED"):
            raise BinanceError(-1102, "marginType")
        settings = self.settings[symbol]
        if settings.margin_type == margin_type:
            raise BinanceError(-4046)
        if self.open_orders(symbol) or self.open_algos(symbol):
            raise BinanceError(-4047)
        if any(p.symbol == symbol for p in self.open_positions()):
            raise BinanceError(-4048)
        settings.margin_type = margin_type

    def set_dual_side(self, dual: bool) -> None:
        if dual == self.dual_side:
            raise BinanceError(-4059)
        if self.open_orders() or self.open_algos():
            raise BinanceError(-4067)
        if self.open_positions():
            raise BinanceError(-4068)
        self.dual_side = dual

    # ------------------------------------------------------------------------------------------------- orders
    def place_order(self, params: dict[str, str]) -> tuple[Order, dict[str, object]]:
        """Validate and execute ``POST /fapi/v1/order``; returns the order and its ACK snapshot."""
        feed, side, position_side, reduce_only = self._common_checks(params)
        order_type = params.get("type", "")
        if not order_type:
            raise BinanceError(-1102, "type")
        if order_type in CONDITIONAL_TYPES:
            raise BinanceError(-4120)
        if order_type not in ("LIMIT", "MARKET"):
            raise BinanceError(-1116)
        client_id = self._client_id(params.get("newClientOrderId"), [o.client_order_id for o in self.open_orders()])
        quantity = self._quantity(feed, params, market=order_type == "MARKET")
        if order_type == "LIMIT":
            price = self._price(feed, params, "price")
            tif = params.get("timeInForce") or ""
            if tif not in ("GTC", "IOC", "FOK", "GTX"):
                raise BinanceError(-1102, "timeInForce")
            self._percent_price(feed, side, price)
        else:
            price, tif = ZERO, "GTC"
        reference = price if order_type == "LIMIT" else feed.last_price
        if not reduce_only and quantity * reference < feed.spec.min_notional:
            raise BinanceError(-4164, fmt(feed.spec.min_notional))
        if reduce_only:
            self._check_reduce_only(feed.symbol, side, position_side)
        if len(self.open_orders(feed.symbol)) + len(self.open_algos(feed.symbol)) >= MAX_OPEN_ORDERS:
            raise BinanceError(-2025)
        if self.reject_next:
            raise BinanceError(self.reject_next.pop(0))
        # Only a limit through the last price takes liquidity: one at it joins the book's side at that price, as the
        # backtest's resting entry does, and fills when a later trade reaches it.
        marketable = order_type == "MARKET" or (price > feed.last_price if side == "BUY" else price < feed.last_price)
        if tif == "GTX" and marketable:
            raise BinanceError(-5022)
        if tif == "FOK" and (not marketable or self._taker_qty(quantity, quantity, feed) < quantity):
            raise BinanceError(-5021)
        self._check_margin(feed, side, position_side, quantity, reference, reduce_only)
        order = Order(
            self._new_order_id(),
            client_id,
            feed.symbol,
            side,
            position_side,
            order_type,
            order_type,
            tif,
            quantity,
            price,
            reduce_only,
            False,
            self.time,
            feed.price_places,
            feed.qty_places,
        )
        self.orders[order.order_id] = order
        ack = order.to_json()
        self._order_event(order, "NEW")
        self._execute_new(order, feed, feed.last_price)
        return order, ack

    def cancel_order(self, symbol: str, order_id: int | None, client_id: str | None) -> Order:
        order = self._find_order(symbol, order_id, client_id)
        if order is None or not order.is_open:
            raise BinanceError(-2011)
        self._finish(order, "CANCELED")
        return order

    def cancel_all(self, symbol: str) -> None:
        self.replay.feed(symbol)
        for order in self.open_orders(symbol):
            self._finish(order, "CANCELED")

    def query_order(self, symbol: str, order_id: int | None, client_id: str | None) -> Order:
        order = self._find_order(symbol, order_id, client_id)
        if order is None:
            raise BinanceError(-2013)
        return order

    def _find_order(self, symbol: str, order_id: int | None, client_id: str | None) -> Order | None:
        self.replay.feed(symbol)
        if order_id is None and not client_id:
            raise BinanceError(-1102, "orderId")
        if order_id is not None:
            order = self.orders.get(order_id)
        else:
            matches = [o for o in self.orders.values() if o.client_order_id == client_id]
            order = matches[-1] if matches else None
        return order if order is not None and order.symbol == symbol else None

    # -------------------------------------------------------------------------------------------- algo orders
    def place_algo(self, params: dict[str, str]) -> AlgoOrder:
        """Validate ``POST /fapi/v1/algoOrder`` (CONDITIONAL) and hold it until its trigger trades."""
        if params.get("algoType") != "CONDITIONAL":
            raise BinanceError(-1102, "algoType")
        feed, side, position_side, reduce_only = self._common_checks(params)
        order_type = params.get("type", "")
        if order_type not in ALGO_TYPES:
            raise BinanceError(-1116)
        client_id = self._client_id(params.get("clientAlgoId"), [a.client_algo_id for a in self.open_algos()])
        close_position = parse_bool(params, "closePosition")
        if close_position:
            if order_type not in ("STOP_MARKET", "TAKE_PROFIT_MARKET"):
                raise BinanceError(-4136, order_type, "true")
            if params.get("quantity"):
                raise BinanceError(-4137)
            if reduce_only:
                raise BinanceError(-1106, "reduceOnly")
            quantity = ZERO
        else:
            quantity = self._quantity(feed, params, market=order_type.endswith("MARKET"))
        trigger = self._price(feed, params, "triggerPrice")
        price = self._price(feed, params, "price") if order_type in ("STOP", "TAKE_PROFIT") else ZERO
        working_type = params.get("workingType") or "CONTRACT_PRICE"
        if working_type not in ("CONTRACT_PRICE", "MARK_PRICE"):
            raise BinanceError(-1102, "workingType")
        tif = params.get("timeInForce") or "GTC"
        if close_position and any(
            a.close_position and (a.side, a.position_side, a.order_type) == (side, position_side, order_type)
            for a in self.open_algos(feed.symbol)
        ):
            raise BinanceError(-4130)  # one close-position stop (and one take-profit) per side
        if len(self.open_algos(feed.symbol)) >= MAX_ALGO_ORDERS:
            raise BinanceError(-2025)
        if self.reject_next:
            raise BinanceError(self.reject_next.pop(0))
        algo = AlgoOrder(
            self._next_algo_id,
            client_id,
            feed.symbol,
            side,
            position_side,
            order_type,
            tif,
            quantity,
            price,
            trigger,
            working_type,
            close_position,
            reduce_only,
            self.time,
            feed.price_places,
            feed.qty_places,
        )
        if algo.triggered_by(feed.last_price):
            raise BinanceError(-2021)
        self._next_algo_id += 1
        self.algos[algo.algo_id] = algo
        self._check_protection()
        self.sink(algo.event(self.time))
        return algo

    def cancel_algo(self, algo_id: int | None, client_id: str | None) -> AlgoOrder:
        algo = self._find_algo(algo_id, client_id)
        if algo is None or not algo.is_open:
            raise BinanceError(-2011)
        self._finish_algo(algo, "CANCELED")
        return algo

    def cancel_all_algos(self, symbol: str) -> None:
        self.replay.feed(symbol)
        for algo in self.open_algos(symbol):
            self._finish_algo(algo, "CANCELED")

    def query_algo(self, algo_id: int | None, client_id: str | None) -> AlgoOrder:
        algo = self._find_algo(algo_id, client_id)
        if algo is None:
            raise BinanceError(-2013)
        return algo

    def _find_algo(self, algo_id: int | None, client_id: str | None) -> AlgoOrder | None:
        if algo_id is None and not client_id:
            raise BinanceError(-1102, "algoId")
        if algo_id is not None:
            return self.algos.get(algo_id)
        matches = [a for a in self.algos.values() if a.client_algo_id == client_id]
        return matches[-1] if matches else None

    def _finish_algo(self, algo: AlgoOrder, status: str, reason: str = "") -> None:
        algo.status, algo.update_time = status, self.time
        self._check_protection()
        self.sink(algo.event(self.time, reason))

    # --------------------------------------------------------------------------------------------- validation
    def _common_checks(self, params: dict[str, str]) -> tuple[SymbolFeed, str, str, bool]:
        if not params.get("symbol"):
            raise BinanceError(-1102, "symbol")
        feed = self.replay.feed(params["symbol"])
        side = params.get("side", "")
        if side not in ("BUY", "SELL"):
            raise BinanceError(-1117) if side else BinanceError(-1102, "side")
        position_side = params.get("positionSide") or "BOTH"
        if position_side not in (("LONG", "SHORT") if self.dual_side else ("BOTH",)):
            raise BinanceError(-4061)
        reduce_only = parse_bool(params, "reduceOnly")
        if reduce_only and self.dual_side:
            raise BinanceError(-1106, "reduceOnly")
        return feed, side, position_side, reduce_only

    def _client_id(self, requested: str | None, open_ids: list[str]) -> str:
        if not requested:
            self._auto_id += 1
            return f"ictbotx{self._auto_id:010d}"
        if len(requested) > 36:
            raise BinanceError(-4015)
        if not _CLIENT_ID.match(requested):
            raise BinanceError(-1102, "newClientOrderId")
        if requested in open_ids:
            raise BinanceError(-4116)
        return requested

    def _quantity(self, feed: SymbolFeed, params: dict[str, str], *, market: bool) -> Decimal:
        quantity = parse_decimal(params, "quantity")
        assert quantity is not None
        spec = feed.spec
        if quantity <= 0:
            raise BinanceError(-4003)
        if places(quantity.normalize()) > places(spec.step_size):
            raise BinanceError(-1111)
        if (quantity - spec.min_qty) % spec.step_size:
            raise BinanceError(-4023)
        if quantity < spec.min_qty:
            raise BinanceError(-4004)
        if quantity > (spec.market_max_qty if market else spec.max_qty):
            raise BinanceError(-4005)
        return quantity

    def _price(self, feed: SymbolFeed, params: dict[str, str], name: str) -> Decimal:
        price = parse_decimal(params, name)
        assert price is not None
        if price <= 0:
            raise BinanceError(-4001)
        if places(price.normalize()) > feed.price_places:
            raise BinanceError(-1111)
        if price % feed.spec.tick_size:
            raise BinanceError(-4014)
        return price

    def _percent_price(self, feed: SymbolFeed, side: str, price: Decimal) -> None:
        mark = feed.last_price
        if side == "BUY" and price > mark * feed.spec.percent_up:
            raise BinanceError(-4016)
        if side == "SELL" and price < mark * feed.spec.percent_down:
            raise BinanceError(-4024)

    def _check_reduce_only(self, symbol: str, side: str, position_side: str) -> None:
        amount = self.position(symbol, position_side).amount
        if amount == 0 or (amount > 0) == (side == "BUY"):
            raise BinanceError(-2022)

    def _opening_qty(self, symbol: str, side: str, position_side: str, quantity: Decimal) -> Decimal:
        amount = self.position(symbol, position_side).amount
        if position_side == "BOTH":
            reducing = amount != 0 and (amount > 0) != (side == "BUY")
            return max(ZERO, quantity - abs(amount)) if reducing else quantity
        return quantity if (position_side == "LONG") == (side == "BUY") else ZERO

    def _check_margin(
        self, feed: SymbolFeed, side: str, position_side: str, qty: Decimal, price: Decimal, reduce_only: bool
    ) -> None:
        if reduce_only:
            return
        opening = self._opening_qty(feed.symbol, side, position_side, qty)
        if position_side != "BOTH" and opening == 0 and qty > abs(self.position(feed.symbol, position_side).amount):
            raise BinanceError(-2022)
        required = opening * price / self.settings[feed.symbol].leverage
        if required > self.available():
            raise BinanceError(-2019)

    # ---------------------------------------------------------------------------------------------- execution
    def _taker_qty(self, remaining: Decimal, quantity: Decimal, feed: SymbolFeed) -> Decimal:
        """How much fills now: everything, or the partial-fill fault's share of the order (at least one step)."""
        if self.fill_ratio is None:
            return remaining
        share = (quantity * self.fill_ratio / feed.spec.step_size).to_integral_value(ROUND_DOWN) * feed.spec.step_size
        return min(remaining, max(share, feed.spec.step_size))

    def _execute_new(self, order: Order, feed: SymbolFeed, market_price: Decimal) -> None:
        marketable = order.type == "MARKET" or (
            order.price > market_price if order.side == "BUY" else order.price < market_price
        )
        if marketable:
            price = market_price
            if order.type == "MARKET":
                price += (1 if order.side == "BUY" else -1) * self.slippage_ticks * feed.spec.tick_size
            self._fill(order, self._taker_qty(order.remaining, order.quantity, feed), price, maker=False)
        if not order.is_open:
            return
        if order.type == "MARKET" or order.time_in_force == "IOC" or (order.reduce_only and not self._reducible(order)):
            self._finish(order, "EXPIRED")

    def _reducible(self, order: Order) -> bool:
        amount = self.position(order.symbol, order.position_side).amount
        return amount != 0 and (amount > 0) != (order.side == "BUY")

    def _fill(self, order: Order, qty: Decimal, price: Decimal, *, maker: bool) -> None:
        position = self.position(order.symbol, order.position_side)
        closing = position.amount != 0 and (position.amount > 0) != (order.side == "BUY")
        if order.reduce_only or order.close_position:
            qty = min(qty, abs(position.amount)) if closing else ZERO
        elif order.position_side != "BOTH" and (order.position_side == "LONG") != (order.side == "BUY"):
            qty = min(qty, abs(position.amount))
        if qty <= 0:
            self._finish(order, "EXPIRED")
            return
        feed = self.replay.feeds[order.symbol]
        fee = _cents(qty * price * (MAKER_FEE if maker else TAKER_FEE))
        realized = self._apply_to_position(position, order.side, qty, price)
        self.wallet += realized - fee
        self._next_trade_id += 1
        trade = Trade(
            self._next_trade_id,
            order.order_id,
            order.symbol,
            order.side,
            order.position_side,
            price,
            qty,
            fee,
            realized,
            maker,
            self.time,
            feed.price_places,
            feed.qty_places,
        )
        self.trades.append(trade)
        if realized:
            self._book_income(order.symbol, "REALIZED_PNL", realized, str(trade.trade_id))
        self._book_income(order.symbol, "COMMISSION", -fee, str(trade.trade_id))
        order.executed_qty += qty
        order.cum_quote += qty * price
        order.status = "FILLED" if order.remaining == 0 else "PARTIALLY_FILLED"
        order.update_time = self.time
        self._order_event(order, "TRADE", trade)
        self._account_event("ORDER", [position])

    def _apply_to_position(self, p: Position, side: str, qty: Decimal, price: Decimal) -> Decimal:
        """Move the position by a fill; returns the realized PnL of the part that closed."""
        delta = qty if side == "BUY" else -qty
        leverage = self.settings[p.symbol].leverage
        isolated = self.isolated(p.symbol)
        realized = ZERO
        if p.amount and (p.amount > 0) != (delta > 0):
            closed = min(qty, abs(p.amount))
            realized = _cents(closed * (price - p.entry_price) * (1 if p.amount > 0 else -1))
            if isolated:
                p.isolated_wallet -= _cents(p.isolated_wallet * closed / abs(p.amount))
            p.amount += closed if delta > 0 else -closed
            p.realized += realized
            qty -= closed
            if p.amount == 0:
                p.entry_price, p.isolated_wallet = ZERO, ZERO
        if qty > 0:
            opened = qty if delta > 0 else -qty
            p.entry_price = (abs(p.amount) * p.entry_price + qty * price) / (abs(p.amount) + qty)
            p.amount += opened
            if isolated:
                p.isolated_wallet += _cents(qty * price / leverage)
        p.update_time = self.time
        self._check_protection()
        return realized

    def _check_protection(self) -> None:
        self.protection.check(self.positions.values(), self.algos.values())

    def _finish(self, order: Order, status: str) -> None:
        order.status, order.update_time = status, self.time
        self._order_event(order, status)

    # ------------------------------------------------------------------------------------------- market events
    def on_tick(self, symbol: str, price: Decimal, continuous: bool) -> None:
        """A replayed trade at ``price``: fill resting limits, fire triggers, then check liquidation."""
        for order in self.open_orders(symbol):
            if order.type == "LIMIT" and (price <= order.price if order.side == "BUY" else price >= order.price):
                feed = self.replay.feeds[symbol]
                self._fill(order, self._taker_qty(order.remaining, order.quantity, feed), order.price, maker=True)
                if order.is_open and order.reduce_only and not self._reducible(order):
                    self._finish(order, "EXPIRED")
        for algo in self.open_algos(symbol):
            if algo.triggered_by(price):
                self._trigger(algo, algo.trigger_price if continuous else price)
        self._liquidate_if_needed(symbol, price, continuous)

    def _trigger(self, algo: AlgoOrder, fill_price: Decimal) -> None:
        feed = self.replay.feeds[algo.symbol]
        algo.trigger_time = self.time
        algo.status = "TRIGGERING"
        self.sink(algo.event(self.time))
        position = self.position(algo.symbol, algo.position_side)
        closes = position.amount != 0 and (position.amount > 0) != (algo.side == "BUY")
        quantity = abs(position.amount) if algo.close_position else algo.quantity
        if (algo.close_position or algo.reduce_only) and not closes:
            self._finish_algo(algo, "EXPIRED", "Reduce Only reject")
            return
        limit = algo.order_type in ("STOP", "TAKE_PROFIT")
        order = Order(
            self._new_order_id(),
            algo.client_algo_id,
            algo.symbol,
            algo.side,
            algo.position_side,
            "LIMIT" if limit else "MARKET",
            algo.order_type,
            algo.time_in_force if limit else "GTC",
            quantity,
            algo.price,
            algo.reduce_only,
            algo.close_position,
            self.time,
            feed.price_places,
            feed.qty_places,
            stop_price=algo.trigger_price,
            working_type=algo.working_type,
        )
        self.orders[order.order_id] = order
        algo.actual_order_id, algo.status, algo.update_time = order.order_id, "TRIGGERED", self.time
        self.sink(algo.event(self.time))
        self._order_event(order, "NEW")
        self._execute_new(order, feed, fill_price)
        algo.actual_price = order.avg_price
        self._finish_algo(algo, "FINISHED")

    def settle_funding(self, symbol: str, rate: Decimal) -> None:
        """Pay or receive funding on every open position of ``symbol`` at the current mark."""
        mark = self.mark(symbol)
        touched = []
        paid = ZERO
        for p in self.open_positions():
            if p.symbol != symbol:
                continue
            payment = _cents(-p.amount * mark * rate)
            paid += payment
            self.wallet += payment
            if self.isolated(symbol):
                p.isolated_wallet += payment
            self._book_income(symbol, "FUNDING_FEE", payment)
            touched.append(p)
        if touched:
            self._account_event("FUNDING_FEE", [p for p in touched if self.isolated(symbol)], paid)

    def _liquidate_if_needed(self, symbol: str, price: Decimal, continuous: bool) -> None:
        for p in [p for p in self.open_positions() if p.symbol == symbol and self.isolated(symbol)]:
            lp = self.liquidation_price(p)
            if (p.amount > 0 and price <= lp) or (p.amount < 0 and price >= lp):
                self._liquidate(p, self.replay.feeds[symbol].spec.round_price(lp) if continuous else price, clear=True)
        cross = [p for p in self.open_positions() if not self.isolated(p.symbol)]
        if cross:
            maintenance = sum((self.maint_margin(p) for p in cross), ZERO)
            if self.cross_wallet() + self.cross_unrealized() <= maintenance:
                for p in cross:
                    self._liquidate(p, self.mark(p.symbol), clear=False)

    def _liquidate(self, p: Position, price: Decimal, *, clear: bool) -> None:
        """Close at ``price``; an isolated position also loses the rest of its margin (clearance fee)."""
        feed = self.replay.feeds[p.symbol]
        self._auto_id += 1
        side = "SELL" if p.amount > 0 else "BUY"
        order = Order(
            self._new_order_id(),
            f"autoclose-{self._auto_id}",
            p.symbol,
            side,
            p.side,
            "LIQUIDATION",
            "LIQUIDATION",
            "IOC",
            abs(p.amount),
            price,
            True,
            False,
            self.time,
            feed.price_places,
            feed.qty_places,
        )
        self.orders[order.order_id] = order
        wallet_before = p.isolated_wallet
        realized = self._apply_to_position(p, side, abs(p.amount), price)
        self.wallet += realized
        self._next_trade_id += 1
        trade = Trade(
            self._next_trade_id,
            order.order_id,
            p.symbol,
            side,
            p.side,
            price,
            order.quantity,
            ZERO,
            realized,
            False,
            self.time,
            feed.price_places,
            feed.qty_places,
        )
        self.trades.append(trade)
        self._book_income(p.symbol, "REALIZED_PNL", realized, str(trade.trade_id))
        if clear:
            clearance = wallet_before + realized
            self.wallet -= clearance
            self._book_income(p.symbol, "INSURANCE_CLEAR", -clearance)
        order.executed_qty, order.cum_quote = order.quantity, order.quantity * price
        order.status, order.update_time = "FILLED", self.time
        self._order_event(order, "CALCULATED", trade)
        self._account_event("ORDER", [p])

    # ------------------------------------------------------------------------------------------------- events
    def _new_order_id(self) -> int:
        self._next_order_id += 1
        return self._next_order_id

    def _book_income(self, symbol: str, income_type: str, amount: Decimal, trade_id: str = "") -> None:
        self._next_tran_id += 1
        self.income.append(Income(self._next_tran_id, symbol, income_type, amount, self.time, trade_id))

    def _order_event(self, order: Order, execution: str, trade: Trade | None = None) -> None:
        pp, qp = order.price_places, order.qty_places
        body = {
            "s": order.symbol,
            "c": order.client_order_id,
            "S": order.side,
            "o": order.type,
            "f": order.time_in_force,
            "q": fmt(order.quantity, qp),
            "p": fmt(order.price, pp),
            "ap": fmt(order.avg_price.quantize(Decimal("1e-8"))) if order.executed_qty else "0",
            "sp": fmt(order.stop_price, pp),
            "x": execution,
            "X": order.status,
            "i": order.order_id,
            "l": fmt(trade.qty, qp) if trade else "0",
            "z": fmt(order.executed_qty, qp),
            "L": fmt(trade.price, pp) if trade else "0",
            "N": "USDT",
            "n": fmt(trade.commission, 8) if trade else "0",
            "T": self.time,
            "t": trade.trade_id if trade else 0,
            "b": "0",
            "a": "0",
            "m": trade.maker if trade else False,
            "R": order.reduce_only,
            "wt": order.working_type,
            "ot": order.orig_type,
            "ps": order.position_side,
            "cp": order.close_position,
            "rp": fmt(trade.realized_pnl, 8) if trade else "0",
            "pP": False,
            "si": 0,
            "ss": 0,
            "V": "EXPIRE_MAKER",
            "pm": "NONE",
            "gtd": 0,
            "er": "0",
        }
        self.sink({"e": "ORDER_TRADE_UPDATE", "E": self.time, "T": self.time, "o": body})

    def _account_event(self, reason: str, positions: list[Position], change: Decimal = ZERO) -> None:
        """``ACCOUNT_UPDATE``; ``change`` is Binance's ``bc``: the balance change other than PnL and commission
        (a funding payment)."""
        rows = []
        for p in positions:
            mark = self.mark(p.symbol)
            rows.append(
                {
                    "s": p.symbol,
                    "pa": fmt(p.amount, self.replay.feeds[p.symbol].qty_places),
                    "ep": fmt(p.entry_price.quantize(Decimal("1e-8"))),
                    "bep": fmt(p.entry_price.quantize(Decimal("1e-8"))),
                    "cr": fmt(p.realized, 8),
                    "up": fmt(p.unrealized(mark), 8),
                    "mt": "isolated" if self.isolated(p.symbol) else "cross",
                    "iw": fmt(p.isolated_wallet, 8),
                    "ps": p.side,
                }
            )
        balance = {"a": "USDT", "wb": fmt(self.wallet, 8), "cw": fmt(self.cross_wallet(), 8), "bc": fmt(change, 8)}
        self.sink(
            {"e": "ACCOUNT_UPDATE", "E": self.time, "T": self.time, "a": {"m": reason, "B": [balance], "P": rows}}
        )
