"""Orders, algo orders, positions, trades and income rows, rendered exactly in Binance's JSON shapes."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from ictbot.exchange.numbers import ZERO, fmt

OPEN_STATUSES = ("NEW", "PARTIALLY_FILLED")


@dataclass
class Order:
    """A normal (non-conditional) order; ``price`` is 0 for MARKET."""

    order_id: int
    client_order_id: str
    symbol: str
    side: str
    position_side: str
    type: str
    orig_type: str
    time_in_force: str
    quantity: Decimal
    price: Decimal
    reduce_only: bool
    close_position: bool
    time: int
    price_places: int
    qty_places: int
    stop_price: Decimal = ZERO
    working_type: str = "CONTRACT_PRICE"
    status: str = "NEW"
    executed_qty: Decimal = ZERO
    cum_quote: Decimal = ZERO
    update_time: int = 0

    @property
    def remaining(self) -> Decimal:
        return self.quantity - self.executed_qty

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def avg_price(self) -> Decimal:
        return self.cum_quote / self.executed_qty if self.executed_qty else ZERO

    def to_json(self) -> dict[str, object]:
        pp, qp = self.price_places, self.qty_places
        return {
            "orderId": self.order_id,
            "symbol": self.symbol,
            "status": self.status,
            "clientOrderId": self.client_order_id,
            "price": fmt(self.price, pp),
            "avgPrice": fmt(self.avg_price.quantize(Decimal("1e-8")), None) if self.executed_qty else "0.00",
            "origQty": fmt(self.quantity, qp),
            "executedQty": fmt(self.executed_qty, qp),
            "cumQty": fmt(self.executed_qty, qp),
            "cumQuote": fmt(self.cum_quote, pp + qp),
            "timeInForce": self.time_in_force,
            "type": self.type,
            "reduceOnly": self.reduce_only,
            "closePosition": self.close_position,
            "side": self.side,
            "positionSide": self.position_side,
            "stopPrice": fmt(self.stop_price, pp),
            "workingType": self.working_type,
            "priceProtect": False,
            "origType": self.orig_type,
            "priceMatch": "NONE",
            "selfTradePreventionMode": "EXPIRE_MAKER",
            "goodTillDate": 0,
            "time": self.time,
            "updateTime": self.update_time or self.time,
        }


@dataclass
class AlgoOrder:
    """A conditional order held by the Algo Service until its trigger price trades."""

    algo_id: int
    client_algo_id: str
    symbol: str
    side: str
    position_side: str
    order_type: str
    time_in_force: str
    quantity: Decimal
    price: Decimal
    trigger_price: Decimal
    working_type: str
    close_position: bool
    reduce_only: bool
    create_time: int
    price_places: int
    qty_places: int
    status: str = "NEW"
    update_time: int = 0
    trigger_time: int = 0
    actual_order_id: int | None = None
    actual_price: Decimal = ZERO

    @property
    def is_open(self) -> bool:
        return self.status == "NEW"

    def triggered_by(self, price: Decimal) -> bool:
        """Binance's rule: stops buy at or above / sell at or below; take-profits the other way round."""
        stop = self.order_type in ("STOP", "STOP_MARKET")
        rising = (self.side == "BUY") == stop
        return price >= self.trigger_price if rising else price <= self.trigger_price

    def to_json(self) -> dict[str, object]:
        pp, qp = self.price_places, self.qty_places
        return {
            "algoId": self.algo_id,
            "clientAlgoId": self.client_algo_id,
            "algoType": "CONDITIONAL",
            "orderType": self.order_type,
            "symbol": self.symbol,
            "side": self.side,
            "positionSide": self.position_side,
            "timeInForce": self.time_in_force,
            "quantity": fmt(self.quantity, qp),
            "algoStatus": self.status,
            "actualOrderId": "" if self.actual_order_id is None else str(self.actual_order_id),
            "actualPrice": fmt(self.actual_price, pp),
            "triggerPrice": fmt(self.trigger_price, pp),
            "price": fmt(self.price, pp),
            "icebergQuantity": None,
            "tpTriggerPrice": "0.000",
            "tpPrice": "0.000",
            "slTriggerPrice": "0.000",
            "slPrice": "0.000",
            "tpOrderType": "",
            "selfTradePreventionMode": "EXPIRE_MAKER",
            "workingType": self.working_type,
            "priceMatch": "NONE",
            "closePosition": self.close_position,
            "priceProtect": False,
            "reduceOnly": self.reduce_only,
            "activatePrice": "",
            "callbackRate": "",
            "createTime": self.create_time,
            "updateTime": self.update_time or self.create_time,
            "triggerTime": self.trigger_time,
            "goodTillDate": 0,
        }

    def event(self, time: int, reject_reason: str = "") -> dict[str, object]:
        """An ``ALGO_UPDATE`` user-stream event for the current state."""
        pp, qp = self.price_places, self.qty_places
        return {
            "e": "ALGO_UPDATE",
            "T": time,
            "E": time,
            "o": {
                "caid": self.client_algo_id,
                "aid": self.algo_id,
                "at": "CONDITIONAL",
                "o": self.order_type,
                "s": self.symbol,
                "S": self.side,
                "ps": self.position_side,
                "f": self.time_in_force,
                "q": fmt(self.quantity, qp),
                "X": self.status,
                "ai": "" if self.actual_order_id is None else str(self.actual_order_id),
                "ap": fmt(self.actual_price, pp),
                "aq": "0",
                "act": "0",
                "tp": fmt(self.trigger_price, pp),
                "p": fmt(self.price, pp),
                "V": "EXPIRE_MAKER",
                "wt": self.working_type,
                "pm": "NONE",
                "cp": self.close_position,
                "pP": False,
                "R": self.reduce_only,
                "tt": self.trigger_time,
                "gtd": 0,
                "rm": reject_reason,
            },
        }


@dataclass
class Position:
    """One position; ``amount`` is signed (negative short), also for SHORT in hedge mode, as Binance reports."""

    symbol: str
    side: str
    amount: Decimal = ZERO
    entry_price: Decimal = ZERO
    isolated_wallet: Decimal = ZERO
    realized: Decimal = ZERO
    update_time: int = 0

    def unrealized(self, mark: Decimal) -> Decimal:
        return (mark - self.entry_price) * self.amount


@dataclass(frozen=True)
class Trade:
    trade_id: int
    order_id: int
    symbol: str
    side: str
    position_side: str
    price: Decimal
    qty: Decimal
    commission: Decimal
    realized_pnl: Decimal
    maker: bool
    time: int
    price_places: int
    qty_places: int

    def to_json(self) -> dict[str, object]:
        return {
            "buyer": self.side == "BUY",
            "commission": fmt(self.commission, 8),
            "commissionAsset": "USDT",
            "id": self.trade_id,
            "maker": self.maker,
            "orderId": self.order_id,
            "price": fmt(self.price, self.price_places),
            "qty": fmt(self.qty, self.qty_places),
            "quoteQty": fmt(self.price * self.qty, self.price_places + self.qty_places),
            "realizedPnl": fmt(self.realized_pnl, 8),
            "side": self.side,
            "positionSide": self.position_side,
            "symbol": self.symbol,
            "time": self.time,
        }


@dataclass(frozen=True)
class Income:
    """A wallet movement: TRANSFER, REALIZED_PNL, COMMISSION, FUNDING_FEE or INSURANCE_CLEAR."""

    tran_id: int
    symbol: str
    income_type: str
    income: Decimal
    time: int
    trade_id: str = ""

    def to_json(self) -> dict[str, object]:
        return {
            "symbol": self.symbol,
            "incomeType": self.income_type,
            "income": fmt(self.income, 8),
            "asset": "USDT",
            "info": self.income_type,
            "time": self.time,
            "tranId": self.tran_id,
            "tradeId": self.trade_id,
        }
