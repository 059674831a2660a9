"""The database schema: one table per kind of record the bot keeps.

Several bots may share one database: every record names the bot that made it (``bot``, see :class:`BotOwned`), and
each bot reads and writes only its own (the recorder filters by it). ``bots`` says which bot runs, where, and on which
account, so a second process under the same name is refused.

Times are UTC epoch milliseconds (``BigInteger``), as in the domain objects; money and quantities are exact decimals
(``ExactDecimal``); enums are stored as their string values so the schema stays plain on SQLite and PostgreSQL.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, MetaData, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from ictbot.storage.types import ExactDecimal

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        Decimal: ExactDecimal(),
        dict[str, Any]: JSON(none_as_null=True),
        list[Any]: JSON(),
    }


DEFAULT_BOT = "ictbot"


class BotOwned:
    """A record that belongs to one bot; the recorder fills ``bot`` on insert and filters every query by it."""

    bot: Mapped[str] = mapped_column(String(64), index=True, default=DEFAULT_BOT, server_default=DEFAULT_BOT)


class BotIdentityRecord(Base):
    """A bot known to this database: its account (a fingerprint of its API key, never the key), its symbols, and the
    process that holds it (``holder`` is ``host:pid`` while it runs, ``None`` once it stopped)."""

    __tablename__ = "bots"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    account: Mapped[str] = mapped_column(String(64))
    symbols: Mapped[list[Any]]
    holder: Mapped[str | None] = mapped_column(String(300))
    started_at: Mapped[int] = mapped_column(BigInteger)
    seen_at: Mapped[int] = mapped_column(BigInteger)


class Run(BotOwned, Base):
    """One start-to-stop of the bot (one ``ictbot run``), with the settings it ran with (secrets redacted).

    ``started_at``/``stopped_at`` are wall-clock times; ``market_started_at`` is the market time the run started at,
    which a replay shares with every earlier replay of the same data — so records are told apart by their run."""

    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mode: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[int] = mapped_column(BigInteger)
    stopped_at: Mapped[int | None] = mapped_column(BigInteger)
    stop_reason: Mapped[str | None] = mapped_column(Text)
    config: Mapped[dict[str, Any]]
    symbols: Mapped[list[Any] | None] = mapped_column(JSON())
    market_started_at: Mapped[int | None] = mapped_column(BigInteger)


class BotEvent(BotOwned, Base):
    """Startup, readiness changes, task crashes and restarts, control actions (``source`` says who acted).

    ``time`` is the wall-clock time it happened, ``market_time`` the market time then (the replayed time in a replay,
    so events line up with candles)."""

    __tablename__ = "bot_events"
    __table_args__ = (Index("ix_bot_events_time", "time"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id"))
    time: Mapped[int] = mapped_column(BigInteger)
    market_time: Mapped[int | None] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    source: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any] | None]


class SignalRecord(BotOwned, Base):
    """A strategy signal and the evidence that justified it; ``key`` is the client order id it derives."""

    __tablename__ = "signals"
    __table_args__ = (Index("ix_signals_created_at", "created_at"), UniqueConstraint("bot", "key"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id"))
    symbol: Mapped[str] = mapped_column(String(32), index=True)
    side: Mapped[str] = mapped_column(String(8))
    order_type: Mapped[str] = mapped_column(String(16))
    entry: Mapped[Decimal]
    stop: Mapped[Decimal]
    target: Mapped[Decimal]
    created_at: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[int | None] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(Text)
    evidence: Mapped[list[Any]]
    decision: Mapped[RiskDecision] = relationship(back_populates="signal", lazy="joined")


class RiskDecision(Base):
    """The risk gate's verdict on a signal: accepted (with the client order id) or rejected with a reason code."""

    __tablename__ = "risk_decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    signal_id: Mapped[int] = mapped_column(ForeignKey("signals.id"), unique=True)
    time: Mapped[int] = mapped_column(BigInteger)
    accepted: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str | None] = mapped_column(String(64), index=True)
    detail: Mapped[str | None] = mapped_column(Text)
    client_order_id: Mapped[str | None] = mapped_column(String(64))
    signal: Mapped[SignalRecord] = relationship(back_populates="decision")


class OrderIntentRecord(BotOwned, Base):
    """What the bot asked for, persisted before it is sent; never changes afterwards.

    Entries come from a signal (``stop``/``target`` are the protective levels to place once filled); protective and
    exit orders name their ``parent_client_order_id`` and carry a ``trigger_price`` when they are stop/take-profit.
    """

    __tablename__ = "order_intents"
    __table_args__ = (UniqueConstraint("bot", "client_order_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_order_id: Mapped[str] = mapped_column(String(64))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id"))
    signal_id: Mapped[int | None] = mapped_column(ForeignKey("signals.id"))
    parent_client_order_id: Mapped[str | None] = mapped_column(String(64), index=True)
    purpose: Mapped[str] = mapped_column(String(16))
    symbol: Mapped[str] = mapped_column(String(32), index=True)
    side: Mapped[str] = mapped_column(String(8))
    order_type: Mapped[str] = mapped_column(String(32))
    quantity: Mapped[Decimal | None]
    price: Mapped[Decimal | None]
    trigger_price: Mapped[Decimal | None]
    stop: Mapped[Decimal | None]
    target: Mapped[Decimal | None]
    reduce_only: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[int | None] = mapped_column(BigInteger)


class Order(BotOwned, Base):
    """The venue side of an intent: its current state and what has filled so far."""

    __tablename__ = "orders"
    __table_args__ = (Index("ix_orders_updated_at", "updated_at"), UniqueConstraint("bot", "client_order_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    intent_id: Mapped[int] = mapped_column(ForeignKey("order_intents.id"), unique=True)
    client_order_id: Mapped[str] = mapped_column(String(64))
    symbol: Mapped[str] = mapped_column(String(32), index=True)
    state: Mapped[str] = mapped_column(String(24), index=True)
    venue_order_id: Mapped[str | None] = mapped_column(String(64))
    filled_quantity: Mapped[Decimal]
    average_price: Mapped[Decimal | None]
    created_at: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)
    intent: Mapped[OrderIntentRecord] = relationship(lazy="joined")
    transitions: Mapped[list[OrderTransition]] = relationship(
        back_populates="order", order_by="OrderTransition.id", lazy="raise"
    )


class OrderTransition(Base):
    """One state change of an order as it happened, with the venue's payload that reported it."""

    __tablename__ = "order_transitions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    state: Mapped[str] = mapped_column(String(24))
    time: Mapped[int] = mapped_column(BigInteger)
    payload: Mapped[dict[str, Any] | None]
    order: Mapped[Order] = relationship(back_populates="transitions")


class FillRecord(BotOwned, Base):
    """An execution; ``trade_id`` is the venue's trade id, unique when known."""

    __tablename__ = "fills"
    __table_args__ = (Index("ix_fills_time", "time"), UniqueConstraint("bot", "trade_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trade_id: Mapped[str | None] = mapped_column(String(64))
    client_order_id: Mapped[str] = mapped_column(String(64), index=True)
    symbol: Mapped[str] = mapped_column(String(32), index=True)
    side: Mapped[str] = mapped_column(String(8))
    quantity: Mapped[Decimal]
    price: Mapped[Decimal]
    fee: Mapped[Decimal]
    realized_pnl: Mapped[Decimal]
    time: Mapped[int] = mapped_column(BigInteger)
    is_maker: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(Text)


class TradeRecord(BotOwned, Base):
    """A closed round trip from flat to flat on one symbol, as the portfolio booked it (``client_order_id`` is its
    entry's; empty for a position the bot found on the venue)."""

    __tablename__ = "trades"
    __table_args__ = (Index("ix_trades_entry_time", "entry_time"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id"))
    symbol: Mapped[str] = mapped_column(String(32), index=True)
    side: Mapped[str] = mapped_column(String(8))
    client_order_id: Mapped[str] = mapped_column(String(64))
    entry_time: Mapped[int] = mapped_column(BigInteger)
    entry_price: Mapped[Decimal]
    quantity: Mapped[Decimal]
    exit_time: Mapped[int] = mapped_column(BigInteger)
    exit_price: Mapped[Decimal]
    exit_reason: Mapped[str] = mapped_column(Text)
    entry_reason: Mapped[str] = mapped_column(Text)
    realized: Mapped[Decimal]
    fees: Mapped[Decimal]
    funding: Mapped[Decimal]


class PositionSnapshot(BotOwned, Base):
    """A position as it stood at ``time`` (signed quantity: positive long, negative short)."""

    __tablename__ = "position_snapshots"
    __table_args__ = (Index("ix_position_snapshots_symbol_time", "symbol", "time"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    time: Mapped[int] = mapped_column(BigInteger)
    symbol: Mapped[str] = mapped_column(String(32))
    quantity: Mapped[Decimal]
    entry_price: Mapped[Decimal]
    mark_price: Mapped[Decimal | None]
    unrealized_pnl: Mapped[Decimal | None]


class FundingPayment(BotOwned, Base):
    """A funding settlement; ``amount`` is signed USDT (negative: paid). One per symbol and funding time."""

    __tablename__ = "funding_payments"
    __table_args__ = (UniqueConstraint("bot", "symbol", "time"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    symbol: Mapped[str] = mapped_column(String(32))
    time: Mapped[int] = mapped_column(BigInteger)
    amount: Mapped[Decimal]
    rate: Mapped[Decimal | None]
    position_quantity: Mapped[Decimal | None]


class DailyPnl(BotOwned, Base):
    """Per UTC day: realized PnL, fees and funding from the fills and payments recorded, first and last equity."""

    __tablename__ = "daily_pnl"
    __table_args__ = (UniqueConstraint("bot", "day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[str] = mapped_column(String(10))
    realized_pnl: Mapped[Decimal]
    fees: Mapped[Decimal]
    funding: Mapped[Decimal]
    fill_count: Mapped[int] = mapped_column(Integer)
    equity_open: Mapped[Decimal | None]
    equity_close: Mapped[Decimal | None]

    @property
    def net_pnl(self) -> Decimal:
        return self.realized_pnl - self.fees + self.funding


class EquitySnapshot(BotOwned, Base):
    """Account equity at market ``time``: one snapshot per run and time (replays of the same data share times)."""

    __tablename__ = "equity_snapshots"
    __table_args__ = (UniqueConstraint("run_id", "time"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id"))
    time: Mapped[int] = mapped_column(BigInteger)
    equity: Mapped[Decimal]
    wallet_balance: Mapped[Decimal | None]
    unrealized_pnl: Mapped[Decimal | None]
