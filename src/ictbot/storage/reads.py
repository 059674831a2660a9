"""Read side of the recorder, for the HTTP API and for reconciliation; safe to use from any thread.

Lists are newest first and paginated with ``limit``/``offset`` (``limit`` is capped at ``MAX_PAGE``); rows are returned
detached with their columns loaded, so they can be read after the session is gone.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TypeVar

from sqlalchemy import Engine, Select, event, func, select
from sqlalchemy.orm import ORMExecuteState, Session, selectinload, sessionmaker, with_loader_criteria

from ictbot.storage.models import (
    DEFAULT_BOT,
    BotEvent,
    BotOwned,
    DailyPnl,
    EquitySnapshot,
    FillRecord,
    Order,
    OrderIntentRecord,
    PositionSnapshot,
    RiskDecision,
    Run,
    SignalRecord,
    TradeRecord,
)
from ictbot.storage.states import OPEN_STATES

MAX_PAGE = 1000
_Row = TypeVar("_Row")


class RecordReader:
    """The records of one bot (``bot``): every query sees only its rows, every insert is marked as its own, so bots
    sharing a database never read, reconcile or update each other's records."""

    def __init__(self, engine: Engine, *, bot: str = DEFAULT_BOT) -> None:
        self.engine = engine
        self.bot = bot
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        event.listen(self._sessions, "do_orm_execute", self._only_this_bot)
        event.listen(self._sessions, "before_flush", self._mark_as_this_bot)

    def _only_this_bot(self, state: ORMExecuteState) -> None:
        if state.is_select or state.is_update or state.is_delete:
            bot = self.bot
            criteria = with_loader_criteria(BotOwned, lambda cls: cls.bot == bot, include_aliases=True)
            state.statement = state.statement.options(criteria)

    def _mark_as_this_bot(self, session: Session, _context: object, _instances: object) -> None:
        for record in session.new:
            if isinstance(record, BotOwned):
                record.bot = self.bot

    @contextmanager
    def _session(self) -> Iterator[Session]:
        with self._sessions() as session:
            yield session

    def _page(self, query: Select[tuple[_Row]], limit: int, offset: int) -> list[_Row]:
        query = query.limit(max(1, min(limit, MAX_PAGE))).offset(max(0, offset))
        with self._session() as session:
            return list(session.scalars(query).unique())

    def runs(self, *, limit: int = 100, offset: int = 0) -> list[Run]:
        return self._page(select(Run).order_by(Run.id.desc()), limit, offset)

    def events(
        self, *, kind: str | None = None, run_id: int | None = None, limit: int = 100, offset: int = 0
    ) -> list[BotEvent]:
        """Bot events newest first (by wall-clock time), of one run or (``None``) every run."""
        query = select(BotEvent).order_by(BotEvent.time.desc(), BotEvent.id.desc())
        if kind is not None:
            query = query.where(BotEvent.kind == kind)
        if run_id is not None:
            query = query.where(BotEvent.run_id == run_id)
        return self._page(query, limit, offset)

    def signals(self, *, symbol: str | None = None, limit: int = 100, offset: int = 0) -> list[SignalRecord]:
        """Signals with their risk decision (``.decision``) and evidence."""
        query = select(SignalRecord).order_by(SignalRecord.created_at.desc(), SignalRecord.id.desc())
        if symbol is not None:
            query = query.where(SignalRecord.symbol == symbol)
        return self._page(query, limit, offset)

    def rejections(
        self, *, symbol: str | None = None, reason: str | None = None, limit: int = 100, offset: int = 0
    ) -> list[SignalRecord]:
        """Signals the risk gate refused; ``.decision.reason`` is the reason code."""
        query = (
            select(SignalRecord)
            .join(SignalRecord.decision)
            .where(RiskDecision.accepted.is_(False))
            .order_by(SignalRecord.created_at.desc(), SignalRecord.id.desc())
        )
        if symbol is not None:
            query = query.where(SignalRecord.symbol == symbol)
        if reason is not None:
            query = query.where(RiskDecision.reason == reason)
        return self._page(query, limit, offset)

    def orders(
        self,
        *,
        symbol: str | None = None,
        open_only: bool = False,
        with_history: bool = True,
        limit: int = 100,
        offset: int = 0,
    ) -> list[Order]:
        """Orders with their intent (``.intent``) and, ``with_history``, their state transitions (``.transitions``)."""
        query = select(Order).order_by(Order.created_at.desc(), Order.id.desc())
        if symbol is not None:
            query = query.where(Order.symbol == symbol)
        if open_only:
            query = query.where(Order.state.in_(OPEN_STATES))
        if with_history:
            query = query.options(selectinload(Order.transitions))
        return self._page(query, limit, offset)

    def order_state_counts(self) -> dict[str, int]:
        """How many orders are in each state (for metrics)."""
        query = select(Order.state, func.count()).group_by(Order.state)
        with self._session() as session:
            return {state: count for state, count in session.execute(query)}

    def order_by_client_id(self, client_order_id: str) -> Order | None:
        query = select(Order).where(Order.client_order_id == client_order_id).options(selectinload(Order.transitions))
        with self._session() as session:
            return session.scalars(query).unique().one_or_none()

    def children(self, parent_client_order_id: str) -> list[Order]:
        """The protective and closing orders placed for one entry, oldest first."""
        query = (
            select(Order)
            .join(Order.intent)
            .where(OrderIntentRecord.parent_client_order_id == parent_client_order_id)
            .order_by(Order.created_at, Order.id)
        )
        with self._session() as session:
            return list(session.scalars(query).unique())

    def open_intents(self) -> list[Order]:
        """Every order whose outcome is not final (intent, sent, acknowledged, partially filled, unknown), oldest
        first with its history: what reconciliation must compare with the venue. Not paginated: it must be whole."""
        query = (
            select(Order)
            .where(Order.state.in_(OPEN_STATES))
            .order_by(Order.created_at, Order.id)
            .options(selectinload(Order.transitions))
        )
        with self._session() as session:
            return list(session.scalars(query).unique())

    def fills(
        self, *, symbol: str | None = None, client_order_id: str | None = None, limit: int = 100, offset: int = 0
    ) -> list[FillRecord]:
        query = select(FillRecord).order_by(FillRecord.time.desc(), FillRecord.id.desc())
        if symbol is not None:
            query = query.where(FillRecord.symbol == symbol)
        if client_order_id is not None:
            query = query.where(FillRecord.client_order_id == client_order_id)
        return self._page(query, limit, offset)

    def trades(
        self, *, symbol: str | None = None, run_id: int | None = None, limit: int = 100, offset: int = 0
    ) -> list[TradeRecord]:
        """Closed round trips, newest entry first, of one run or (``None``) every run."""
        query = select(TradeRecord).order_by(TradeRecord.entry_time.desc(), TradeRecord.id.desc())
        if symbol is not None:
            query = query.where(TradeRecord.symbol == symbol)
        if run_id is not None:
            query = query.where(TradeRecord.run_id == run_id)
        return self._page(query, limit, offset)

    def trades_from(
        self, start: int, count: int, *, symbol: str | None = None, run_id: int | None = None
    ) -> list[TradeRecord]:
        """``count`` closed round trips from index ``start`` of :meth:`trades`' order, read a page at a time: a merged
        page of open and closed trades may need a few rows more than one page."""
        found: list[TradeRecord] = []
        while len(found) < count:
            asked = min(count - len(found), MAX_PAGE)
            batch = self.trades(symbol=symbol, run_id=run_id, limit=asked, offset=start + len(found))
            found += batch
            if len(batch) < asked:
                break
        return found

    def positions(self, *, symbol: str | None = None, limit: int = 100, offset: int = 0) -> list[PositionSnapshot]:
        """Position snapshots, newest first."""
        query = select(PositionSnapshot).order_by(PositionSnapshot.time.desc(), PositionSnapshot.id.desc())
        if symbol is not None:
            query = query.where(PositionSnapshot.symbol == symbol)
        return self._page(query, limit, offset)

    def position_before(self, symbol: str, time: int) -> PositionSnapshot | None:
        """The last snapshot of ``symbol``'s position taken before ``time`` (how it stood then), None if none."""
        query = (
            select(PositionSnapshot)
            .where(PositionSnapshot.symbol == symbol, PositionSnapshot.time < time)
            .order_by(PositionSnapshot.time.desc(), PositionSnapshot.id.desc())
            .limit(1)
        )
        with self._session() as session:
            return session.scalar(query)

    def open_positions(self) -> list[PositionSnapshot]:
        """The latest snapshot of each symbol whose position is not flat, by symbol."""
        latest = select(func.max(PositionSnapshot.id)).group_by(PositionSnapshot.symbol).scalar_subquery()
        query = select(PositionSnapshot).where(PositionSnapshot.id.in_(latest)).order_by(PositionSnapshot.symbol)
        with self._session() as session:
            return [p for p in session.scalars(query) if p.quantity != 0]

    def daily_pnl(self, *, limit: int = 100, offset: int = 0) -> list[DailyPnl]:
        return self._page(select(DailyPnl).order_by(DailyPnl.day.desc()), limit, offset)

    def equity_curve(
        self,
        *,
        run_id: int | None = None,
        start: int | None = None,
        end: int | None = None,
        limit: int = MAX_PAGE,
        newest: bool = False,
    ) -> list[EquitySnapshot]:
        """Equity snapshots of one run (``None``: every run) with ``start ≤ time ≤ end``, oldest first: the oldest
        ``limit`` of them (page on with the last time + 1), or with ``newest`` the newest ``limit`` (page back with
        the first time − 1)."""
        query = select(EquitySnapshot)
        if run_id is not None:
            query = query.where(EquitySnapshot.run_id == run_id)
        if start is not None:
            query = query.where(EquitySnapshot.time >= start)
        if end is not None:
            query = query.where(EquitySnapshot.time <= end)
        if not newest:
            return self._page(query.order_by(EquitySnapshot.time, EquitySnapshot.id), limit, 0)
        found = self._page(query.order_by(EquitySnapshot.time.desc(), EquitySnapshot.id.desc()), limit, 0)
        return found[::-1]
