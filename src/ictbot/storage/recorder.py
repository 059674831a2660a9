"""The recorder: everything the bot decides and the venue reports, written as it happens.

Threading: the engine makes every write from **one dedicated writer thread** (a single-worker executor, e.g.
``loop.run_in_executor(recorder_executor, recorder.record_fill, fill)``), so the event loop never waits on disk and
records land in the order they happened. Each write is one short transaction that takes SQLite's write lock up front,
so a second writer would wait, not fail. Reads (the ``RecordReader`` methods) may run from any thread, e.g. via
``asyncio.to_thread``; each is one consistent snapshot and, with WAL, never blocks the writer.

Writes that the venue or a restart may repeat are idempotent: signals (by the client order id they derive), intents
(client order id), fills (venue trade id), funding (symbol and time), equity (time) and exact repeats of an order
transition are recorded once. Times are UTC epoch milliseconds; ``at=None`` means "now" by the recorder's clock.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Engine, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ictbot.config import Settings
from ictbot.domain import Fill, OrderIntent, Position, Rejection, Side, Signal, client_order_id
from ictbot.portfolio.ledger import Trade
from ictbot.storage.engine import SQLITE_BEGIN_OPTION, StorageError, create_engine, redacted_url
from ictbot.storage.identity import BotIdentity, claim, release, touch
from ictbot.storage.migrate import upgrade_database
from ictbot.storage.models import (
    DEFAULT_BOT,
    BotEvent,
    DailyPnl,
    EquitySnapshot,
    FillRecord,
    FundingPayment,
    Order,
    OrderIntentRecord,
    OrderTransition,
    PositionSnapshot,
    RiskDecision,
    Run,
    SignalRecord,
    TradeRecord,
)
from ictbot.storage.reads import RecordReader
from ictbot.storage.states import OrderState
from ictbot.storage.types import exact, jsonable

REDACTED = "**********"
SECRET_WORDS = ("key", "secret", "token", "password")
Number = Decimal | float | int | str
# How often equity records also mark the bot alive (``touch``): a claim lapses only after minutes of silence
# (``STALE_MS``), and a fast replay writes an equity record per candle, hundreds a second.
TOUCH_EVERY_MS = 1_000
# Times per ``IN (...)`` list when looking up which equity times are known: within every backend's bound-parameter limit
IN_LIST_MAX = 500


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


class Recorder(RecordReader):
    def __init__(self, engine: Engine, clock: Callable[[], int] = wall_clock_ms, *, bot: str = DEFAULT_BOT) -> None:
        super().__init__(engine, bot=bot)
        self.clock = clock
        self.market_clock = clock  # the market's time: a replay's replayed time, else the wall clock
        self.run_id: int | None = None
        self._batch = threading.local()  # the transaction ``atomically`` opened on this thread, if any
        self._touched_at: int | None = None  # when record_equity last marked the bot alive, by ``clock``

    @contextmanager
    def atomically(self) -> Iterator[None]:
        """Group the records made inside into one transaction on this thread: all or none, one commit."""
        if getattr(self._batch, "session", None) is not None:
            with self._write():  # inside ``grouped``: one savepoint for all of them
                yield
            return
        with self._write() as session:
            self._batch.session = session
            try:
                yield
            finally:
                self._batch.session = None

    @contextmanager
    def grouped(self) -> Iterator[None]:
        """One transaction and one commit for the writes made inside, each still whole or not at all on its own: a
        write that fails is rolled back alone (to its savepoint) and the others are kept. The writer thread commits
        queued routine records this way (``RecordWriter``'s ``group``)."""
        with self.atomically():
            self._batch.grouped = True
            try:
                yield
            finally:
                self._batch.grouped = False

    @contextmanager
    def _write(self) -> Iterator[Session]:
        """One short transaction: committed on success, rolled back on any error (or the enclosing ``atomically``)."""
        batch = getattr(self._batch, "session", None)
        if batch is not None:
            if getattr(self._batch, "grouped", False) and not getattr(self._batch, "saved", False):
                self._batch.saved = True
                try:
                    with batch.begin_nested():
                        yield batch
                finally:
                    self._batch.saved = False
                return
            yield batch
            return
        with self._sessions() as session, session.begin():
            session.connection(execution_options={SQLITE_BEGIN_OPTION: "IMMEDIATE"})
            yield session

    # the bot's identity

    def claim_bot(self, identity: BotIdentity) -> None:
        """Record that this process runs ``identity`` (this recorder's bot), or raise ``BotConflict`` if another live
        process does, or another bot trades the same symbols on the same account."""
        if identity.name != self.bot:
            raise ValueError(f"this recorder keeps bot {self.bot!r}'s records, not {identity.name!r}'s")
        with self._write() as session:
            claim(session, identity, self._now(None))

    # runs and events

    def start_run(
        self, settings: Settings, *, at: int | None = None, market_clock: Callable[[], int] | None = None
    ) -> int:
        """Open a run with a snapshot of the settings, secrets redacted; later records are tied to it.

        ``market_clock`` is the market's time when it is not the wall clock (a replay): events record it beside their
        wall-clock time, and the run the market time it started at."""
        if market_clock is not None:
            self.market_clock = market_clock
        with self._write() as session:
            run = Run(
                mode=settings.mode,
                started_at=self._now(at),
                config=config_snapshot(settings),
                symbols=list(settings.symbols),
                market_started_at=self.market_clock(),
            )
            session.add(run)
            session.flush()
            self.run_id = run.id
        return run.id

    def stop_run(self, reason: str = "", *, at: int | None = None) -> None:
        if self.run_id is None:
            return
        with self._write() as session:
            run = session.get_one(Run, self.run_id)
            run.stopped_at, run.stop_reason = self._now(at), reason
            release(session, self.bot)
        self.run_id = None

    def record_event(
        self,
        kind: str,
        detail: str = "",
        source: str | None = None,
        *,
        at: int | None = None,
        data: dict[str, Any] | None = None,
    ) -> None:
        """A bot event (see ``EventKind``); ``source`` says who acted, e.g. ``"api:127.0.0.1"`` for a control action.
        ``at`` is its wall-clock time; its market time is the market clock's now."""
        event = BotEvent(
            run_id=self.run_id,
            time=self._now(at),
            market_time=self.market_clock(),
            kind=str(kind),
            source=source,
            detail=detail,
            data=jsonable(data) if data is not None else None,
        )
        with self._write() as session:
            session.add(event)

    # decisions

    def record_signal(self, signal: Signal, decision: OrderIntent | Rejection) -> None:
        """A signal, its evidence and the risk gate's verdict: the sized intent, or the rejection."""
        key = client_order_id(signal)
        with self._write() as session:
            if session.scalar(select(SignalRecord.id).where(SignalRecord.key == key)) is not None:
                return
            record = SignalRecord(
                key=key,
                run_id=self.run_id,
                symbol=signal.symbol,
                side=signal.side.value,
                order_type=signal.order_type.value,
                entry=exact(signal.entry),
                stop=exact(signal.stop),
                target=exact(signal.target),
                created_at=signal.created_at,
                expires_at=signal.expires_at,
                reason=signal.reason,
                evidence=jsonable(signal.evidence),
                decision=_decision(decision),
            )
            session.add(record)
            session.flush()
            # An intent recorded first (an order is persisted before its signal's evidence) is linked now.
            session.execute(
                update(OrderIntentRecord)
                .where(OrderIntentRecord.client_order_id == key, OrderIntentRecord.signal_id.is_(None))
                .values(signal_id=record.id)
            )

    # orders

    def record_intent(self, intent: OrderIntent, *, at: int | None = None) -> None:
        """Persist an entry intent before it is sent; a second call with the same client order id changes nothing."""
        signal_id = select(SignalRecord.id).where(SignalRecord.key == client_order_id(intent.signal))
        self._add_intent(
            OrderIntentRecord(
                client_order_id=intent.client_order_id,
                run_id=self.run_id,
                signal_id=signal_id.scalar_subquery(),
                purpose="entry",
                symbol=intent.symbol,
                side=intent.side.value,
                order_type=intent.order_type.value,
                quantity=intent.quantity,
                price=intent.price,
                stop=intent.stop,
                target=intent.target,
                reduce_only=False,
                created_at=intent.created_at,
                expires_at=intent.expires_at,
            ),
            self._now(at),
        )

    def record_entry_sent(self, intent: OrderIntent, *, note: str | None = None, at: int | None = None) -> None:
        """An entry intent, marked as being sent: one small transaction, one disk sync. Its signal and evidence are
        recorded beside it, and linked to it whichever lands first."""
        with self.atomically():
            self.record_intent(intent, at=at)
            self.record_order_transition(
                intent.client_order_id, OrderState.SENT, {"note": note} if note else None, at=at
            )

    def record_exit_intent(
        self,
        client_order_id: str,
        symbol: str,
        side: Side,
        order_type: str,
        *,
        purpose: str,
        quantity: Decimal | None = None,
        price: Decimal | None = None,
        trigger_price: Decimal | None = None,
        parent_client_order_id: str | None = None,
        at: int | None = None,
    ) -> None:
        """Persist a reduce-only order before it is sent: a protective ``stop_loss`` / ``take_profit`` (venue type such
        as ``STOP_MARKET``; ``quantity=None`` closes the whole position) or an ``exit``. Idempotent like entries."""
        now = self._now(at)
        self._add_intent(
            OrderIntentRecord(
                client_order_id=client_order_id,
                run_id=self.run_id,
                parent_client_order_id=parent_client_order_id,
                purpose=purpose,
                symbol=symbol,
                side=side.value,
                order_type=order_type,
                quantity=quantity,
                price=price,
                trigger_price=trigger_price,
                reduce_only=True,
                created_at=now,
            ),
            now,
        )

    def _add_intent(self, intent: OrderIntentRecord, now: int) -> None:
        cid = intent.client_order_id
        try:
            with self._write() as session:
                if session.scalar(select(Order.id).where(Order.client_order_id == cid)) is not None:
                    return
                order = Order(
                    intent=intent,
                    client_order_id=cid,
                    symbol=intent.symbol,
                    state=OrderState.INTENT.value,
                    filled_quantity=Decimal(0),
                    created_at=now,
                    updated_at=now,
                )
                order.transitions = [OrderTransition(state=OrderState.INTENT.value, time=now)]
                session.add(order)
        except IntegrityError:
            if self.order_by_client_id(cid) is None:
                raise

    def record_order_transition(
        self,
        client_order_id: str,
        state: OrderState,
        payload: dict[str, Any] | None = None,
        at: int | None = None,
        *,
        venue_order_id: str | None = None,
    ) -> bool:
        """Add a state change to an order's history; return whether it became the order's current state.

        Every distinct report is kept in the history; an exact repeat (same state, time and payload) is ignored. The
        current state follows ``OrderState.advances_to``: late or repeated venue events never move an order back.
        """
        state = OrderState(state)
        now = self._now(at)
        body = jsonable(payload) if payload is not None else None
        with self._write() as session:
            order = session.scalar(select(Order).where(Order.client_order_id == client_order_id))
            if order is None:
                raise StorageError(f"no order with client order id {client_order_id!r}; record its intent first")
            repeats = session.scalars(
                select(OrderTransition.payload).where(
                    OrderTransition.order_id == order.id,
                    OrderTransition.state == state.value,
                    OrderTransition.time == now,
                )
            )
            if body in list(repeats):
                return False
            session.add(OrderTransition(order_id=order.id, state=state.value, time=now, payload=body))
            if venue_order_id is not None:
                order.venue_order_id = venue_order_id
            if not OrderState(order.state).advances_to(state):
                return False
            order.state, order.updated_at = state.value, max(order.updated_at, now)
            return True

    # executions and account

    def record_fill(self, fill: Fill, *, trade_id: str | None = None, realized_pnl: Number = 0) -> bool:
        """Record an execution (once per venue ``trade_id`` when given); return whether it was new.

        The order's filled quantity and average price and the day's PnL are updated in the same transaction.
        """
        with self._write() as session:
            if trade_id is not None and session.scalar(select(FillRecord.id).where(FillRecord.trade_id == trade_id)):
                return False
            realized = exact(realized_pnl)
            session.add(
                FillRecord(
                    trade_id=trade_id,
                    client_order_id=fill.client_order_id,
                    symbol=fill.symbol,
                    side=fill.side.value,
                    quantity=fill.quantity,
                    price=fill.price,
                    fee=fill.fee,
                    realized_pnl=realized,
                    time=fill.time,
                    is_maker=fill.is_maker,
                    reason=fill.reason,
                )
            )
            order = session.scalar(select(Order).where(Order.client_order_id == fill.client_order_id))
            if order is not None and fill.quantity:
                filled = order.filled_quantity + fill.quantity
                paid = (order.average_price or 0) * order.filled_quantity + fill.price * fill.quantity
                order.filled_quantity, order.average_price = filled, paid / filled
            day = _day(session, fill.time)
            day.realized_pnl += realized
            day.fees += fill.fee
            day.fill_count += 1
        return True

    def record_trade(self, trade: Trade) -> None:
        """Record a closed round trip (its fills are recorded on their own as they happen)."""
        if trade.exit_time is None or trade.exit_price is None:
            raise ValueError(f"{trade.symbol} trade entered at {trade.entry_time} is still open; record it when closed")
        with self._write() as session:
            session.add(
                TradeRecord(
                    run_id=self.run_id,
                    symbol=trade.symbol,
                    side=trade.side.value,
                    client_order_id=trade.client_order_id,
                    entry_time=trade.entry_time,
                    entry_price=trade.entry_price,
                    quantity=trade.quantity,
                    exit_time=trade.exit_time,
                    exit_price=trade.exit_price,
                    exit_reason=trade.exit_reason,
                    entry_reason=trade.entry_reason,
                    realized=trade.realized,
                    fees=trade.fees,
                    funding=trade.funding,
                )
            )

    def record_funding(
        self,
        symbol: str,
        time: int,
        amount: Number,
        *,
        rate: Number | None = None,
        position_quantity: Number | None = None,
    ) -> bool:
        """A funding settlement (``amount`` signed: negative when paid); once per symbol and time."""
        with self._write() as session:
            known = select(FundingPayment.id).where(FundingPayment.symbol == symbol, FundingPayment.time == time)
            if session.scalar(known) is not None:
                return False
            payment = FundingPayment(
                symbol=symbol,
                time=time,
                amount=exact(amount),
                rate=exact(rate),
                position_quantity=exact(position_quantity),
            )
            session.add(payment)
            _day(session, time).funding += payment.amount
        return True

    def record_position(
        self, position: Position, time: int, *, mark: Number | None = None, unrealized_pnl: Number | None = None
    ) -> None:
        """A snapshot of one position; unrealized PnL is derived from ``mark`` unless given."""
        mark_price = exact(mark)
        unrealized = exact(unrealized_pnl)
        if unrealized is None and mark_price is not None:
            unrealized = position.unrealized_pnl(mark_price)
        snapshot = PositionSnapshot(
            time=time,
            symbol=position.symbol,
            quantity=position.quantity,
            entry_price=position.entry_price,
            mark_price=mark_price,
            unrealized_pnl=unrealized,
        )
        with self._write() as session:
            session.add(snapshot)

    def record_equity(
        self,
        time: int,
        equity: Number,
        *,
        wallet_balance: Number | None = None,
        unrealized_pnl: Number | None = None,
    ) -> bool:
        """An equity snapshot of the current run (once per run and market time); it also sets the day's opening
        (first) and closing (latest) equity."""
        snapshot = EquitySnapshot(
            run_id=self.run_id,
            time=time,
            equity=exact(equity),
            wallet_balance=exact(wallet_balance),
            unrealized_pnl=exact(unrealized_pnl),
        )
        return self._add_equity([snapshot]) == 1

    def record_equity_many(self, points: Sequence[tuple[int, Number]]) -> int:
        """Equity snapshots ``(time, equity)`` in one transaction, as ``record_equity`` for each in turn records them
        (a time already recorded, or given twice, keeps its first equity) but with one query for the known times and
        one per day: a fast replay records one per candle. Returns how many were new."""
        return self._add_equity([EquitySnapshot(run_id=self.run_id, time=t, equity=exact(e)) for t, e in points])

    def _add_equity(self, snapshots: list[EquitySnapshot]) -> int:
        times = sorted({s.time for s in snapshots})
        with self._write() as session:
            known: set[int] = set()
            for start in range(0, len(times), IN_LIST_MAX):
                chunk = times[start : start + IN_LIST_MAX]
                recorded = select(EquitySnapshot.time).where(EquitySnapshot.time.in_(chunk), _of_run(self.run_id))
                known.update(session.scalars(recorded))
            new = []
            for snapshot in snapshots:
                if snapshot.time not in known:
                    known.add(snapshot.time)
                    new.append(snapshot)
            if not new:
                return 0
            session.add_all(new)
            now = self._now(None)
            if self._touched_at is None or not 0 <= now - self._touched_at < TOUCH_EVERY_MS:
                touch(session, self.bot, now)
                self._touched_at = now
            days: dict[str, DailyPnl] = {}
            for snapshot in new:  # in the order given: a day's first sets its opening equity, its last its closing
                key = _day_key(snapshot.time)
                if key not in days:
                    days[key] = _day(session, snapshot.time)
                day = days[key]
                if day.equity_open is None:
                    day.equity_open = snapshot.equity
                day.equity_close = snapshot.equity
        return len(new)

    def _now(self, at: int | None) -> int:
        return self.clock() if at is None else at


def open_recorder(url: str, clock: Callable[[], int] = wall_clock_ms, *, bot: str = DEFAULT_BOT) -> Recorder:
    """A recorder of ``bot``'s records on ``url``, its schema migrated to the latest version."""
    engine = create_engine(url)
    upgrade_database(engine)
    return Recorder(engine, clock, bot=bot)


def open_bot_recorder(settings: Settings) -> Recorder:
    """What ``ictbot run`` records through: the settings' database, as the settings' bot, claimed for this process
    (``BotConflict`` if another process runs it)."""
    recorder = open_recorder(settings.database_url, bot=settings.bot_name)
    try:
        recorder.claim_bot(BotIdentity.of(settings))
    except BaseException:
        recorder.engine.dispose()
        raise
    return recorder


def config_snapshot(settings: Settings) -> dict[str, Any]:
    """The settings as stored with a run: secrets and the database password never leave the process."""
    snapshot = _redact(settings.redacted())
    snapshot["database_url"] = redacted_url(settings.database_url)
    return snapshot


def _redact(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: REDACTED if v is not None and any(w in k.lower() for w in SECRET_WORDS) else _redact(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_redact(v) for v in value]
    return value


def _of_run(run_id: int | None) -> ColumnElement[bool]:
    return EquitySnapshot.run_id.is_(None) if run_id is None else EquitySnapshot.run_id == run_id


def _decision(decision: OrderIntent | Rejection) -> RiskDecision:
    if isinstance(decision, Rejection):
        return RiskDecision(time=decision.time, accepted=False, reason=decision.reason, detail=decision.detail)
    return RiskDecision(time=decision.created_at, accepted=True, client_order_id=decision.client_order_id)


def _day(session: Session, time: int) -> DailyPnl:
    """The day's PnL row (UTC), created at zero when the day's first record arrives."""
    key = _day_key(time)
    day = session.scalar(select(DailyPnl).where(DailyPnl.day == key))
    if day is None:
        day = DailyPnl(day=key, realized_pnl=Decimal(0), fees=Decimal(0), funding=Decimal(0), fill_count=0)
        session.add(day)
    return day


def _day_key(time: int) -> str:
    return datetime.fromtimestamp(time // 1000, UTC).date().isoformat()
