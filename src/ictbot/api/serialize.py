"""Plain JSON shapes of the bot's objects. Money and quantities are strings, so exact decimals stay exact; times are
UTC epoch milliseconds."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import numpy as np
from sqlalchemy import inspect

from ictbot.domain import Fill, Position, Side
from ictbot.portfolio.ledger import Trade
from ictbot.storage.models import TradeRecord


def money(value: Decimal | float | None) -> str | None:
    """Exact decimals as their string; floats (strategy prices) by their shortest repr."""
    return None if value is None else str(value) if isinstance(value, Decimal) else repr(float(value))


def row(record: Any, *exclude: str) -> dict[str, Any]:
    """A database row's columns as JSON values."""
    out = {}
    for column in inspect(record).mapper.column_attrs:
        if column.key in exclude:
            continue
        value = getattr(record, column.key)
        out[column.key] = money(value) if isinstance(value, Decimal) else value
    return out


def order_dict(order: Any) -> dict[str, Any]:
    """An order with its intent and state history."""
    out = row(order, "id", "intent_id")
    out["intent"] = row(order.intent, "id", "run_id", "signal_id", "client_order_id", "symbol")
    out["history"] = [row(t, "id", "order_id") for t in order.transitions]
    return out


def signal_dict(signal: Any) -> dict[str, Any]:
    """A signal, the detector records that justified it (``evidence``) and the risk gate's decision."""
    out = row(signal, "id", "run_id")
    out["decision"] = row(signal.decision, "id", "signal_id")
    return out


def fill_dict(fill: Fill) -> dict[str, Any]:
    return {
        "client_order_id": fill.client_order_id,
        "symbol": fill.symbol,
        "side": fill.side.value,
        "quantity": money(fill.quantity),
        "price": money(fill.price),
        "fee": money(fill.fee),
        "time": fill.time,
        "is_maker": fill.is_maker,
        "reason": fill.reason,
    }


def closed_trade(record: TradeRecord) -> Trade:
    """A recorded round trip as the portfolio's trade, so that open and closed ones are served alike."""
    return Trade(
        record.symbol,
        Side(record.side),
        record.entry_time,
        record.entry_price,
        record.quantity,
        exit_time=record.exit_time,
        exit_price=record.exit_price,
        fees=record.fees,
        realized=record.realized,
        funding=record.funding,
        exit_reason=record.exit_reason,
        entry_reason=record.entry_reason,
        client_order_id=record.client_order_id,
    )


def trade_dict(trade: Trade) -> dict[str, Any]:
    return {
        "symbol": trade.symbol,
        "side": trade.side.value,
        "client_order_id": trade.client_order_id,
        "entry_time": trade.entry_time,
        "entry_price": money(trade.entry_price),
        "quantity": money(trade.quantity),
        "exit_time": trade.exit_time,
        "exit_price": money(trade.exit_price),
        "exit_reason": trade.exit_reason,
        "entry_reason": trade.entry_reason,
        "realized": money(trade.realized),
        "fees": money(trade.fees),
        "funding": money(trade.funding),
        "pnl": money(trade.pnl),
    }


def position_dict(position: Position, mark: float | None) -> dict[str, Any]:
    mark_price = None if mark is None else Decimal(str(mark))
    side = position.side
    return {
        "symbol": position.symbol,
        "side": side.value if side else None,
        "quantity": money(position.quantity),
        "entry_price": money(position.entry_price),
        "mark_price": money(mark_price),
        "unrealized_pnl": None if mark_price is None else money(position.unrealized_pnl(mark_price)),
    }


def candle_dict(column: np.ndarray) -> dict[str, Any]:
    """One column of the candle book: open_time, open, high, low, close, volume."""
    t, o, h, low, c, v = column.tolist()
    return {"time": int(t), "open": o, "high": h, "low": low, "close": c, "volume": v}
