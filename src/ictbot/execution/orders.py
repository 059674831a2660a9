"""The order manager: every order is persisted before it is sent, followed to a final state, and protected on the venue.

An entry is written to the intent journal (``storage.journal``: one line, microseconds) and sent at once, on an order
line when one is free (``execution.order_line``); its database record follows once the venue has answered. Every other
order is written to the database before it is sent.

Client ids are deterministic, so after any crash the venue's orders can be matched with the database's and nothing is
sent twice under two names: an entry's id comes from its signal (``risk.gate.client_order_id``); its protective orders
are ``<entry>-sl`` and ``<entry>-tp`` (algo orders that close the whole position, so a partial fill or a grown position
is covered without re-placing them); a market close of its position is ``<entry>-x``.

An order whose outcome is unknown (a timeout, a 5xx) is never re-sent blindly: it is looked up by client id once the
venue can no longer act on the lost request (``settle_s``, Binance's recvWindow), and re-sent only if the venue does not
know it. Venue events arrive late, twice or out of order; states only move forward (``OrderState.advances_to``) and a
fill is booked once per venue trade id.

Protection is an invariant, not a periodic repair: a stop-loss that cannot be placed (the venue answers 5xx, throttles)
is tried again at once, and a position still without its stop ``max_unprotected_s`` after the first try is closed at
market. An entry is never sent after its ``expires_at`` (a wait behind a 429/418 pause drops it as expired), and the
cancel of an expired entry is repeated until the venue confirms it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterable
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ictbot.domain import Fill, OrderIntent, OrderType, Side
from ictbot.execution.client import (
    OrderExpired,
    OrderRejected,
    OutcomeUnknown,
    VenueAlgoOrder,
    VenueClient,
    VenueOrder,
    VenueUnavailable,
)
from ictbot.execution.order_line import LineAnswer
from ictbot.kernel.clock import Clock, WallClock
from ictbot.kernel.samples import Samples
from ictbot.storage import OrderState, Recorder
from ictbot.storage.journal import IntentJournal
from ictbot.storage.models import Order

if TYPE_CHECKING:
    from ictbot.execution.user_stream import AlgoUpdate, OrderUpdate

log = logging.getLogger("ictbot.orders")

STOP_LOSS, TAKE_PROFIT, CLOSE = "sl", "tp", "x"
PROTECTIVE = {
    STOP_LOSS: ("STOP_MARKET", "stop_loss", "stop"),
    TAKE_PROFIT: ("TAKE_PROFIT_MARKET", "take_profit", "target"),
}
# A fill's reason by the purpose of its order; a closing order's own reason (see ``close_position``) comes first.
FILL_REASONS = {"entry": "entry", "stop_loss": "stop", "take_profit": "target", "exit": "manual"}
WOULD_TRIGGER_IMMEDIATELY = -2021

ORDER_STATES = {
    "NEW": OrderState.ACKNOWLEDGED,
    "PARTIALLY_FILLED": OrderState.PARTIALLY_FILLED,
    "FILLED": OrderState.FILLED,
    "CANCELED": OrderState.CANCELLED,
    "EXPIRED": OrderState.EXPIRED,
    "EXPIRED_IN_MATCH": OrderState.EXPIRED,
    "REJECTED": OrderState.REJECTED,
}
ALGO_STATES = {
    "NEW": OrderState.ACKNOWLEDGED,
    "TRIGGERING": OrderState.ACKNOWLEDGED,
    "TRIGGERED": OrderState.ACKNOWLEDGED,
    "FINISHED": OrderState.FILLED,
    "CANCELED": OrderState.CANCELLED,
    "EXPIRED": OrderState.EXPIRED,
    "REJECTED": OrderState.REJECTED,
}

Persist = Callable[..., Awaitable[Any]]  # queues a recorder call on the writer thread when called; await for its result
Job = Callable[[], Awaitable[None]]


def child_id(entry_id: str, kind: str, generation: int = 1) -> str:
    """``<entry>-sl``; a replacement of a finished one (a stop re-placed after a crash) is ``<entry>-sl2``, …"""
    return f"{entry_id}-{kind}" + (str(generation) if generation > 1 else "")


def split_id(client_order_id: str) -> tuple[str, str]:
    """(entry id, kind) of one of the bot's client ids; kind is "" for the entry itself."""
    entry, _, tail = client_order_id.rpartition("-")
    kind = tail.rstrip("0123456789")
    if kind in (STOP_LOSS, TAKE_PROFIT, CLOSE) and entry:
        return entry, kind
    return client_order_id, ""


@dataclass(frozen=True, slots=True)
class EntryPlan:
    """What an entry asks for: the risk gate's intent, or the same read back from the database after a restart."""

    client_order_id: str
    symbol: str
    side: Side
    order_type: OrderType
    quantity: Decimal
    price: Decimal | None
    stop: Decimal
    target: Decimal
    expires_at: int | None

    @classmethod
    def from_intent(cls, intent: OrderIntent) -> EntryPlan:
        price = intent.price if intent.order_type is OrderType.LIMIT else None
        return cls(
            intent.client_order_id, intent.symbol, intent.side, intent.order_type, intent.quantity, price,
            intent.stop, intent.target, intent.expires_at,
        )  # fmt: skip


@dataclass(slots=True)
class Bracket:
    """An entry and the orders that protect its position, as the bot knows them."""

    plan: EntryPlan
    intent: OrderIntent | None = None  # the risk gate's intent, until it is persisted
    recorded: Awaitable[None] | None = None  # its database write, once queued
    left: bool = False  # its request has been written to the socket, or could not be
    arrived_ns: int = 0  # when the closed kline that led to it arrived (time.perf_counter_ns), for latency
    state: OrderState = OrderState.INTENT
    filled: Decimal = Decimal(0)
    protected: set[str] = field(default_factory=set)
    expiring: bool = False  # its cancel at the end of its time is queued
    #: The stop the strategy last asked for, until its move job places it: ``plan.stop`` stays the stop the venue holds
    #: or is being sent, so a first placement still in progress sends (and records) the entry's own stop.
    asked_stop: Decimal | None = None

    @property
    def pending(self) -> bool:
        """Still waiting for its first fill."""
        return self.filled == 0 and not self.state.is_terminal


class SymbolLock(asyncio.Lock):
    """asyncio's lock, which synchronous code can also take when that needs no wait."""

    def try_acquire(self) -> bool:
        """Take the lock if ``acquire`` would not have to wait; False (and nothing taken) otherwise."""
        if self.locked():
            return False
        acquiring = self.acquire()
        try:
            acquiring.send(None)
        except StopIteration:
            return True
        acquiring.close()  # it would have waited behind others: withdraw
        return False


class RecentIds:
    """The newest ``size`` ids seen: a check in memory before the database's own, bounded so that months of trades
    do not pile up in it. An older id that comes again is still refused by the database."""

    __slots__ = ("_ids", "_order", "_size")

    def __init__(self, size: int) -> None:
        self._ids: set[str] = set()
        self._order: deque[str] = deque()
        self._size = size

    def add(self, id_: str) -> bool:
        """Remember ``id_``; False if it was already remembered."""
        if id_ in self._ids:
            return False
        self._ids.add(id_)
        self._order.append(id_)
        if len(self._order) > self._size:
            self._ids.discard(self._order.popleft())
        return True


class OrderManager:
    """Sends entries and their protective orders, follows the venue's answers and events, books fills once."""

    BOOKED_IDS = 1_000  # venue trade ids remembered in memory; older ones are checked by the database alone

    def __init__(
        self,
        client: VenueClient,
        recorder: Recorder,
        persist: Persist,
        on_fill: Callable[[Fill], None],
        journal: IntentJournal,
        *,
        candle_ms: int = 60_000,
        settle_s: float = 5.0,
        on_sent: Callable[[], None] = lambda: None,
        now_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000,
        max_unprotected_s: float = 10.0,
        clock: Clock | None = None,
    ) -> None:
        """``on_sent`` is called once per submitted entry, when its request has been written to the socket (or could
        not be): the engine holds back routine work while an entry is on its way out. ``now_ms`` is market time (an
        entry's ``expires_at`` is read against it); ``max_unprotected_s`` bounds, in seconds of ``clock`` (default: the
        wall clock), how long a filled position may wait for its stop-loss before it is closed at market. The settle
        waits and the stop's retries sleep on ``clock`` too, so a test drives them without real waiting."""
        self.client = client
        self.recorder = recorder
        self.persist = persist
        self._on_fill = on_fill
        self.journal = journal
        self._on_sent = on_sent
        client.on_order_written = self._written
        self._candle_ms = candle_ms
        self._settle_s = settle_s
        self._now_ms = now_ms
        self._max_unprotected_s = max_unprotected_s
        self._clock: Clock = clock if clock is not None else WallClock()
        self.brackets: dict[str, Bracket] = {}
        self._locks: dict[str, SymbolLock] = {}
        self.jobs: asyncio.Queue[Job] = asyncio.Queue()  # jobs waiting for someone to run them
        #: Set while a stage runs jobs (wrapping each in its error handling): jobs then start as they come, each in
        #: its own task, so an entry does not wait for that stage to be woken and take it off the queue first.
        self.run_job: Callable[[Job], Coroutine[Any, Any, None]] | None = None
        self.tasks: set[asyncio.Task[None]] = set()  # jobs started and not finished
        self.leaving = 0  # entries handed over whose request has not been written to the socket yet
        self._booked = RecentIds(self.BOOKED_IDS)
        self.send_latencies = Samples(10_000)  # closed kline arrival → entry request written to the socket (ns)

    def lock(self, symbol: str) -> SymbolLock:
        """One symbol's orders and events are handled one at a time; symbols never wait for each other."""
        lock = self._locks.get(symbol)
        if lock is None:
            lock = self._locks[symbol] = SymbolLock()
        return lock

    @contextlib.asynccontextmanager
    async def locked(self, symbols: Iterable[str]) -> AsyncIterator[None]:
        """Hold several symbols' locks (reconciliation), taken in a fixed order."""
        async with contextlib.AsyncExitStack() as stack:
            for symbol in sorted(set(symbols)):
                await stack.enter_async_context(self.lock(symbol))
            yield

    @property
    def busy(self) -> bool:
        """Jobs queued or running, or a symbol's lock held."""
        return not self.jobs.empty() or bool(self.tasks) or any(lock.locked() for lock in self._locks.values())

    def start(self, job: Job) -> asyncio.Task[None]:
        """Run ``job`` in its own task (``run_job`` must be set)."""
        assert self.run_job is not None
        task = asyncio.create_task(self.run_job(job))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    def _enqueue(self, job: Job) -> None:
        if self.run_job is None:
            self.jobs.put_nowait(job)
        else:
            self.start(job)

    # ------------------------------------------------------------------ what the pipeline sees (synchronous)

    def submit(self, intent: OrderIntent, arrived_ns: int = 0) -> None:
        """Send the entry now, in the caller's step, when its symbol is free and the order line can take it;
        otherwise in a job. Either way it is in the journal before it leaves."""
        plan = EntryPlan.from_intent(intent)
        bracket = self.brackets[plan.client_order_id] = Bracket(plan, intent, arrived_ns=arrived_ns)
        self.leaving += 1
        lock = self.lock(plan.symbol)
        if self.run_job is None or not lock.try_acquire():
            self._enqueue(lambda: self.open(plan.symbol, plan.client_order_id))
            return
        try:
            self.journal.write(intent)
            bracket.state = OrderState.SENT
            sent = self.client.send_order_now(
                plan.symbol, plan.side, plan.order_type.value, plan.quantity,
                price=plan.price, client_order_id=plan.client_order_id,
            )  # fmt: skip
        except BaseException:
            lock.release()
            self._left(bracket)
            raise
        # The lock is released when the job ends however it ends, even cancelled before it started.
        self.start(lambda: self._settle(bracket, sent)).add_done_callback(lambda _: self._release(bracket, lock))

    def pending_entries(self) -> int:
        return sum(1 for b in self.brackets.values() if b.pending)

    def has_exposure(self, symbol: str) -> bool:
        """A position or a live entry on ``symbol``. An unfilled entry whose time is up and whose cancel is on its way
        no longer counts (the backtest drops it on that candle): a new entry waits behind the cancel on the symbol's
        lock, and a cancel that fails counts the entry again."""
        return any(b.plan.symbol == symbol and not (b.expiring and not b.filled) for b in self.brackets.values())

    def expire(self, symbol: str, candle_open_time: int) -> None:
        """Cancel entries of ``symbol`` whose time is up at the close of this candle (the backtest's rule)."""
        for cid, bracket in list(self.brackets.items()):
            plan = bracket.plan
            due = plan.expires_at is not None and candle_open_time + self._candle_ms >= plan.expires_at
            if plan.symbol == symbol and due and not bracket.state.is_terminal and not bracket.expiring:
                bracket.expiring = True
                self._enqueue(lambda cid=cid: self.cancel_entry(symbol, cid))

    # ------------------------------------------------------------------ entries

    async def open(self, symbol: str, cid: str) -> None:
        """Persist, send, and settle one entry."""
        bracket = self.brackets.get(cid)
        try:
            await self._open(symbol, cid)
        finally:
            if bracket is None:
                self._on_sent()
            else:
                self._left(bracket)

    def _written(self, client_order_id: str) -> None:
        """The client wrote a new order's request to the socket: for an entry, its latency is taken there."""
        bracket = self.brackets.get(client_order_id)
        if bracket is not None and not bracket.left:
            if bracket.arrived_ns:
                self.send_latencies.append(time.perf_counter_ns() - bracket.arrived_ns)
            self._left(bracket)

    def _left(self, bracket: Bracket) -> None:
        if not bracket.left:
            bracket.left = True
            self.leaving -= 1
            self._on_sent()

    async def _open(self, symbol: str, cid: str) -> None:
        async with self.lock(symbol):
            bracket = self.brackets.get(cid)
            if bracket is None or bracket.state is not OrderState.INTENT:
                return
            intent = bracket.intent
            assert intent is not None
            self.journal.write(intent)
            bracket.state = OrderState.SENT
            await self._settle(bracket, None)

    def _release(self, bracket: Bracket, lock: SymbolLock) -> None:
        lock.release()
        self._left(bracket)
        if bracket.recorded is None and bracket.intent is not None:  # cancelled before it started: record it anyway
            cid = bracket.intent.client_order_id
            recorded = asyncio.ensure_future(self._record_sent(bracket))
            recorded.add_done_callback(lambda done: done.cancelled() or done.exception() or self.journal.recorded(cid))

    async def _settle(self, bracket: Bracket, sent: asyncio.Future[LineAnswer] | None) -> None:
        """Follow a sent entry to its answer (``sent``; None: send it now, through ccxt) and adopt what the venue
        says about it."""
        intent = bracket.intent
        assert intent is not None
        try:
            order = await self._send_entry(bracket, sent)
        finally:
            self._left(bracket)
            await self._record_sent(bracket)
            self.journal.recorded(intent.client_order_id)
        if order is not None:
            await self._adopt_entry(bracket, order)

    async def _send_entry(self, bracket: Bracket, sent: asyncio.Future[LineAnswer] | None) -> VenueOrder | None:
        plan = bracket.plan
        for attempt in range(3):
            try:
                return await self.client.place_order(
                    plan.symbol, plan.side, plan.order_type.value, plan.quantity,
                    price=plan.price, client_order_id=plan.client_order_id, sent=sent,
                    valid=lambda: not self.past_expiry(plan),
                )  # fmt: skip
            except OrderRejected as exc:
                await self._record_sent(bracket)
                await self._rejected(bracket, exc)
                return None
            except OrderExpired:
                await self._record_sent(bracket)
                log.warning("%s: entry %s expired before it could be sent; dropped", plan.symbol, plan.client_order_id)
                await self.transition(plan.client_order_id, OrderState.EXPIRED, {"reason": "expired before sending"})
                bracket.state = OrderState.EXPIRED
                self.brackets.pop(plan.client_order_id, None)
                return None
            except OutcomeUnknown as exc:
                sent = None
                await self._record_sent(bracket)
                await self.transition(plan.client_order_id, OrderState.UNKNOWN, {"error": str(exc)})
                found = await self._look_up(plan.symbol, plan.client_order_id)
                if found is not None:
                    return found
                log.warning("%s: entry %s never reached the venue (attempt %d); sending it again",
                            plan.symbol, plan.client_order_id, attempt + 1)  # fmt: skip
        log.error(
            "%s: entry %s outcome still unknown; reconciliation will settle it", plan.symbol, plan.client_order_id
        )
        bracket.state = OrderState.UNKNOWN
        return None

    def _record_sent(self, bracket: Bracket) -> Awaitable[None]:
        """The database write of a sent entry's intent, queued once: after the venue's answer (or the send's
        failure), so the writer thread does not compete with the send, and before anything else about the order."""
        if bracket.recorded is None:
            bracket.recorded = self.persist(self.recorder.record_entry_sent, bracket.intent)
        return bracket.recorded

    async def _look_up(self, symbol: str, cid: str) -> VenueOrder | None:
        """The venue's view of an order whose send failed, once the lost request can no longer be executed."""
        await self._clock.sleep(self._settle_s)
        return await self.client.order(symbol, cid)  # reads retry by themselves; a dead venue fails the job

    async def _rejected(self, bracket: Bracket, exc: OrderRejected) -> None:
        plan = bracket.plan
        log.warning("%s: entry %s rejected by the venue: %s", plan.symbol, plan.client_order_id, exc)
        await self.transition(plan.client_order_id, OrderState.REJECTED, {"code": exc.code, "message": exc.message})
        bracket.state = OrderState.REJECTED
        self.brackets.pop(plan.client_order_id, None)

    async def _adopt_entry(self, bracket: Bracket, order: VenueOrder) -> None:
        if order.executed_quantity > 0:  # fills first: a crash in between leaves the order open, so it is re-checked
            await self.sync_fills(bracket.plan.symbol, order.order_id, bracket.plan.client_order_id)
        state = ORDER_STATES.get(order.status, OrderState.UNKNOWN)
        await self.transition(bracket.plan.client_order_id, state, _order_payload(order), order.order_id)
        if bracket.state.advances_to(state):
            bracket.state = state
        await self._after_entry_change(bracket)

    def past_expiry(self, plan: EntryPlan) -> bool:
        """The entry's time to live is over (market time): it must not be sent, and if it rests, it is cancelled."""
        return plan.expires_at is not None and self._now_ms() >= plan.expires_at

    async def cancel_entry(self, symbol: str, cid: str) -> None:
        """Cancel a resting entry until the venue confirms it is final. A cancel that fails (the venue is down) raises,
        which reconciles at once; the next candle's expiry check and every reconciliation ask again."""
        async with self.lock(symbol):
            bracket = self.brackets.get(cid)
            if bracket is not None and not bracket.state.is_terminal:
                await self.cancel_resting(bracket)

    async def cancel_resting(self, bracket: Bracket) -> None:
        """Cancel the bracket's entry and adopt the venue's answer, asking again while the venue says it is open
        (the caller holds the symbol's lock)."""
        symbol, cid = bracket.plan.symbol, bracket.plan.client_order_id
        try:
            for attempt in range(3):
                try:
                    order = await self.client.cancel_order(symbol, cid)
                except OutcomeUnknown:
                    order = None
                order = order or await self.client.order(symbol, cid)
                if order is not None:
                    await self._adopt_entry(bracket, order)
                if order is None or bracket.state.is_terminal:
                    return
                log.warning("%s: entry %s still open after its cancel (attempt %d)", symbol, cid, attempt + 1)
        finally:  # not confirmed: the next candle queues the cancel again
            bracket.expiring = bracket.state.is_terminal

    async def _after_entry_change(self, bracket: Bracket) -> None:
        if bracket.filled > 0:
            await self._protect(bracket)
        elif bracket.state.is_terminal:
            self.brackets.pop(bracket.plan.client_order_id, None)

    # ------------------------------------------------------------------ protective orders

    async def _protect(self, bracket: Bracket) -> None:
        """Place the stop-loss, then the take-profit, each once; a level already crossed closes at market instead."""
        for kind in (STOP_LOSS, TAKE_PROFIT):
            if kind in bracket.protected or bracket.plan.client_order_id not in self.brackets:
                continue
            bracket.protected.add(kind)
            await self.place_protective(bracket, kind)

    async def place_protective(
        self, bracket: Bracket, kind: str, cid: str | None = None, quantity: Decimal | None = None
    ) -> None:
        """``quantity``: a reduce-only order for that much instead of one that closes the whole position (Binance
        refuses a second close-position stop of the same side, -4130, so a moved stop is placed this way)."""
        plan = bracket.plan
        cid = cid or self._unused_child_id(plan.client_order_id, kind)
        order_type, purpose, level = PROTECTIVE[kind]
        trigger = getattr(plan, level)
        await self.persist(
            self.recorder.record_exit_intent, cid, plan.symbol, plan.side.opposite, order_type,
            purpose=purpose, quantity=quantity, trigger_price=trigger, parent_client_order_id=plan.client_order_id,
        )  # fmt: skip
        await self.transition(cid, OrderState.SENT)
        deadline_ms = self._clock.now_ms() + round(self._max_unprotected_s * 1000)
        delay = 0.1
        while True:
            try:
                await self._place_protective(bracket, kind, cid, trigger, quantity)
                return
            except VenueUnavailable as exc:  # not processed by the venue (503, throttled, unreachable): send again
                left = (deadline_ms - self._clock.now_ms()) / 1000
                if left <= 0:
                    break
                log.warning("%s: %s %s not placed (%s); trying again", plan.symbol, purpose, cid, exc)
                await self._clock.sleep(min(delay, left))
                delay = min(delay * 2, 2.0)
        await self.transition(cid, OrderState.REJECTED, {"reason": "could not be placed"})
        if kind == STOP_LOSS:
            log.error("%s: no stop-loss after %.0f s; closing the position at market", plan.symbol,
                      self._max_unprotected_s)  # fmt: skip
            await self.close_bracket(bracket, reason="no stop", detail="stop-loss could not be placed")
        else:
            log.error("%s: %s could not be placed; reconciliation will place it", plan.symbol, purpose)
            bracket.protected.discard(kind)

    async def _place_protective(
        self, bracket: Bracket, kind: str, cid: str, trigger: Decimal, quantity: Decimal | None
    ) -> None:
        """Send the order as recorded: a stop move queued meanwhile places its own, newer one."""
        plan = bracket.plan
        order_type, purpose, level = PROTECTIVE[kind]
        for _ in range(3):
            try:
                algo = await self.client.place_algo_order(
                    plan.symbol, plan.side.opposite, order_type, trigger, client_algo_id=cid,
                    quantity=quantity, close_position=quantity is None, reduce_only=quantity is not None,
                )  # fmt: skip
            except OrderRejected as exc:
                await self.transition(cid, OrderState.REJECTED, {"code": exc.code, "message": exc.message})
                crossed = exc.code == WOULD_TRIGGER_IMMEDIATELY
                log.warning("%s: %s at %s %s; closing the position at market", plan.symbol, purpose, trigger,
                            "already crossed" if crossed else f"refused ({exc})")  # fmt: skip
                detail = f"{purpose} {'crossed' if crossed else 'refused'}"
                await self.close_bracket(bracket, reason=level if crossed else detail, detail=detail)
                return
            except OutcomeUnknown as exc:
                await self.transition(cid, OrderState.UNKNOWN, {"error": str(exc)})
                await self._clock.sleep(self._settle_s)
                found = await self.client.algo_order(plan.symbol, cid)
                if found is None:
                    continue  # never reached the venue: send it again, under the same id
                algo = found
            await self.adopt_algo(algo)
            log.info("%s: %s placed at %s (%s)", plan.symbol, purpose, trigger, cid)
            return
        log.error("%s: %s %s outcome still unknown; reconciliation will place or adopt it", plan.symbol, purpose, cid)

    def _unused_child_id(self, entry_id: str, kind: str) -> str:
        """The first id of this kind that no finished order holds: a retry of a lost send keeps its id."""
        generation = 1
        while True:
            cid = child_id(entry_id, kind, generation)
            record = self.recorder.order_by_client_id(cid)
            if record is None or not OrderState(record.state).is_terminal:
                return cid
            generation += 1

    # ------------------------------------------------------------------ the strategy's position actions

    def protection(self, symbol: str) -> tuple[Decimal, Decimal] | None:
        """(stop, target) the open position of ``symbol`` is guarded by, as last asked for."""
        bracket = self._open_bracket(symbol)
        if bracket is None:
            return None
        return (bracket.plan.stop if bracket.asked_stop is None else bracket.asked_stop), bracket.plan.target

    def manage(self, symbol: str, action: str, *, price: Decimal | None = None, fraction: Decimal | None = None,
               reason: str = "") -> None:  # fmt: skip
        """Queue a position action: ``move_stop`` to ``price``, ``partial`` of ``fraction``, or ``close``."""
        bracket = self._open_bracket(symbol)
        if bracket is not None and action == "move_stop" and price is not None:
            bracket.asked_stop = price  # what the strategy sees from now on; the venue's stop moves in its job
        self._enqueue(lambda: self._manage(symbol, action, price, fraction, reason))

    def _open_bracket(self, symbol: str) -> Bracket | None:
        return next((b for b in self.brackets.values() if b.plan.symbol == symbol and b.filled > 0), None)

    async def _manage(
        self, symbol: str, action: str, price: Decimal | None, fraction: Decimal | None, reason: str
    ) -> None:
        async with self.lock(symbol):
            bracket = self._open_bracket(symbol)
            if bracket is None:
                return
            if action == "move_stop" and price is not None:
                await self.move_stop(bracket, price)
            elif action == "partial" and fraction is not None:
                position = (await self.client.positions()).get(symbol)
                if position is not None and position.quantity != 0:
                    quantity = _round_down(abs(position.quantity) * fraction, bracket.plan.quantity)
                    if quantity > 0:
                        cid = self._fresh_id(bracket.plan.client_order_id, "p")
                        await self.close_position(symbol, quantity.copy_sign(position.quantity), cid, reason)
            elif action == "close":
                await self.close_bracket(bracket, reason=reason)

    async def move_stop(self, bracket: Bracket, price: Decimal) -> None:
        """Place the new stop first, then cancel the old one: the position is never without a stop. The new one is a
        reduce-only stop for the entry's whole quantity (the venue clips it to what is left), as Binance holds one
        close-position stop per side only. A crash between the two leaves both on the venue (the tighter one acts
        first); reconciliation keeps the newer. It runs under the symbol's lock, so after the bracket's first
        placement, which holds that lock from the fill on."""
        plan = bracket.plan
        old = [
            r.client_order_id for r in self.recorder.children(plan.client_order_id)
            if r.intent.purpose == "stop_loss" and not OrderState(r.state).is_terminal
        ]  # fmt: skip
        bracket.plan = replace(plan, stop=price)
        if bracket.asked_stop == price:
            bracket.asked_stop = None
        await self.place_protective(bracket, STOP_LOSS, self._fresh_id(plan.client_order_id, STOP_LOSS), plan.quantity)
        if plan.client_order_id not in self.brackets:
            return  # the new stop was already through the market: the position was closed instead
        for cid in old:
            try:
                algo = await self.client.cancel_algo_order(plan.symbol, cid) or await self.client.algo_order(
                    plan.symbol, cid
                )
            except OutcomeUnknown:
                algo = await self.client.algo_order(plan.symbol, cid)
            if algo is None:
                await self.transition(cid, OrderState.CANCELLED, {"reason": "not on the venue"})
            else:
                await self.adopt_algo(algo)
        log.info("%s: stop moved to %s", plan.symbol, price)

    def _fresh_id(self, entry_id: str, kind: str) -> str:
        """The first id of this kind no order has held: a new order, never a retry of an earlier one."""
        generation = 1
        while self.recorder.order_by_client_id(cid := child_id(entry_id, kind, generation)) is not None:
            generation += 1
        return cid

    async def adopt_algo(self, algo: VenueAlgoOrder) -> None:
        state = ALGO_STATES.get(algo.status, OrderState.UNKNOWN)
        await self.transition(algo.client_algo_id, state, _algo_payload(algo), algo.algo_id)

    async def close_bracket(self, bracket: Bracket, *, reason: str, detail: str = "") -> None:
        """Close the bracket's position with a reduce-only market order and cancel its protective orders; its fills
        are booked with ``reason``."""
        plan = bracket.plan
        position = (await self.client.positions()).get(plan.symbol)
        await self.cancel_children(plan.client_order_id, plan.symbol)
        self.brackets.pop(plan.client_order_id, None)
        if position is None or position.quantity == 0:
            return
        cid = self._unused_child_id(plan.client_order_id, CLOSE)
        await self.close_position(plan.symbol, position.quantity, cid, reason, detail)

    async def close_position(
        self, symbol: str, quantity: Decimal, cid: str, reason: str, detail: str = ""
    ) -> list[Fill]:
        """A reduce-only market order for the whole signed ``quantity``, persisted before it is sent; returns its
        fills (none when refused or lost), booked with ``reason`` ("stop", "target", the strategy's own, "manual"),
        which its first transition keeps so that fills booked after a restart carry it too."""
        side = Side.SELL if quantity > 0 else Side.BUY
        await self.persist(self.recorder.record_exit_intent, cid, symbol, side, "MARKET", purpose="exit",
                            quantity=abs(quantity))  # fmt: skip
        await self.transition(cid, OrderState.SENT, {"reason": reason, **({"detail": detail} if detail else {})})
        try:
            order = await self.client.place_order(symbol, side, "MARKET", abs(quantity), client_order_id=cid,
                                                  reduce_only=True)  # fmt: skip
        except OrderRejected as exc:
            await self.transition(cid, OrderState.REJECTED, {"code": exc.code, "message": exc.message})
            log.error("%s: closing order refused: %s", symbol, exc)
            return []
        except OutcomeUnknown as exc:
            await self.transition(cid, OrderState.UNKNOWN, {"error": str(exc)})
            order = await self._look_up(symbol, cid)
            if order is None:
                return []
        if order.executed_quantity > 0:
            await self.sync_fills(symbol, order.order_id, cid)
        state = ORDER_STATES.get(order.status, OrderState.UNKNOWN)
        await self.transition(cid, state, _order_payload(order), order.order_id)
        return self._fills_of(cid)

    def _fills_of(self, cid: str) -> list[Fill]:
        """The booked fills of one order, oldest first, whichever way they arrived (its answer or its events)."""
        records = self.recorder.fills(client_order_id=cid, limit=1000)
        return [
            Fill(r.client_order_id, r.symbol, Side(r.side), r.quantity, r.price, r.fee, r.time, r.is_maker, r.reason)
            for r in reversed(records)
        ]

    async def cancel_children(self, entry_id: str, symbol: str) -> None:
        """Cancel the entry's protective orders still open; one the venue does not know is closed as such."""
        for record in self.recorder.children(entry_id):
            cid = record.client_order_id
            if record.intent.purpose not in ("stop_loss", "take_profit") or OrderState(record.state).is_terminal:
                continue
            try:
                algo = await self.client.cancel_algo_order(symbol, cid) or await self.client.algo_order(symbol, cid)
            except OutcomeUnknown:
                algo = await self.client.algo_order(symbol, cid)
            if algo is None:
                await self.transition(cid, OrderState.CANCELLED, {"reason": "not on the venue"})
            else:
                await self.adopt_algo(algo)

    # ------------------------------------------------------------------ operator actions

    async def close_symbol(self, symbol: str, reason: str, now_ms: int) -> list[Fill]:
        """Cancel every order of ``symbol`` (the bot's and any other) and close its position at market; returns the
        closing fills."""
        async with self.lock(symbol):
            for cid, bracket in list(self.brackets.items()):
                if bracket.plan.symbol != symbol:
                    continue
                self.brackets.pop(cid)
                if not bracket.state.is_terminal:
                    with contextlib.suppress(OutcomeUnknown):  # its state is read back just below
                        await self.client.cancel_order(symbol, cid)
                    order = await self.client.order(symbol, cid)
                    if order is not None:
                        await self._adopt_entry(bracket, order)
                await self.cancel_children(cid, symbol)
            await self.client.cancel_all(symbol)
            position = (await self.client.positions()).get(symbol)
            if position is None or position.quantity == 0:
                return []
            return await self.close_position(
                symbol, position.quantity, f"ict-close-{symbol}-{now_ms:x}", "manual", detail=reason
            )

    # ------------------------------------------------------------------ the user-data stream

    async def on_order_update(self, event: OrderUpdate) -> None:
        async with self.lock(event.symbol):
            await self._order_update(event)

    async def on_algo_update(self, event: AlgoUpdate) -> None:
        async with self.lock(event.symbol):
            if self.recorder.order_by_client_id(event.client_algo_id) is None:
                return
            if event.status == "FINISHED" and event.actual_order_id:
                # The trade's own event may come later or be lost: book it before the order is final.
                await self.sync_fills(event.symbol, event.actual_order_id, event.client_algo_id)
            state = ALGO_STATES.get(event.status, OrderState.UNKNOWN)
            await self.transition(event.client_algo_id, state, {"status": event.status}, event.algo_id)

    async def _order_update(self, event: OrderUpdate) -> None:
        cid = event.client_order_id
        record = self.recorder.order_by_client_id(cid)
        if event.execution_type == "TRADE" and event.trade_id is not None:
            fill = Fill(cid, event.symbol, event.side, event.last_filled_quantity, event.last_filled_price,
                        event.commission, event.time, event.maker, _fill_reason(cid, record))  # fmt: skip
            await self.book(fill, str(event.trade_id), event.realized_pnl)
        if record is not None:
            state = ORDER_STATES.get(event.status, OrderState.UNKNOWN)
            if state.is_terminal:
                booked = self.recorder.order_by_client_id(cid)
                if booked is not None and booked.filled_quantity < event.cumulative_quantity:
                    # A part's event was lost: book what the venue traded before the order is final.
                    await self.sync_fills(event.symbol, event.order_id, cid)
            payload = {"status": event.status, "execution_type": event.execution_type}
            await self.transition(cid, state, payload, event.order_id)
        await self._after_order_event(cid, event.status)

    async def _after_order_event(self, cid: str, status: str) -> None:
        entry_id, kind = split_id(cid)
        bracket = self.brackets.get(entry_id)
        if bracket is None:
            return
        if kind == "":
            state = ORDER_STATES.get(status, OrderState.UNKNOWN)
            if bracket.state.advances_to(state):
                bracket.state = state
            await self._after_entry_change(bracket)
        elif status == "FILLED" or (status == "EXPIRED" and await self._flat(bracket.plan.symbol)):
            # A reduce-only stop larger than what is left fills that and expires: the position is closed all the same.
            self.brackets.pop(entry_id, None)
            await self.cancel_children(entry_id, bracket.plan.symbol)

    async def _flat(self, symbol: str) -> bool:
        position = (await self.client.positions()).get(symbol)
        return position is None or position.quantity == 0

    async def book(self, fill: Fill, trade_id: str, realized_pnl: Decimal, *, apply: bool = True) -> bool:
        """Record one venue trade, once, and apply it to the account (``apply=False`` at startup, where the account
        is taken from the venue as a whole); an entry's fill grows its bracket."""
        if not self._booked.add(trade_id):
            return False
        new = await self.persist(self.recorder.record_fill, fill, trade_id=trade_id, realized_pnl=realized_pnl)
        if not new:
            return False
        if apply:
            self._on_fill(fill)
        entry_id, kind = split_id(fill.client_order_id)
        bracket = self.brackets.get(entry_id)
        if bracket is not None and kind == "":
            bracket.filled += fill.quantity
        return True

    async def sync_fills(self, symbol: str, order_id: int, cid: str, *, apply: bool = True) -> int:
        """Book the trades of one order that no event has delivered (an answer that came before its events, a stream
        outage); returns how many were new."""
        reason = _fill_reason(cid, self.recorder.order_by_client_id(cid))
        new = 0
        for trade in await self.client.trades(symbol, order_id=order_id):
            fill = Fill(cid, symbol, trade.side, trade.quantity, trade.price, trade.commission, trade.time,
                        trade.maker, reason)  # fmt: skip
            new += await self.book(fill, str(trade.trade_id), trade.realized_pnl, apply=apply)
        return new

    async def transition(
        self, cid: str, state: OrderState, payload: dict[str, Any] | None = None, venue_id: int | None = None
    ) -> None:
        await self.persist(
            self.recorder.record_order_transition, cid, state, payload,
            venue_order_id=str(venue_id) if venue_id is not None else None,
        )  # fmt: skip


def _round_down(quantity: Decimal, like: Decimal) -> Decimal:
    """``quantity`` rounded down to the decimals of ``like`` (an order quantity already on the symbol's step)."""
    exponent = like.normalize().as_tuple().exponent
    step = Decimal(1).scaleb(min(0, exponent if isinstance(exponent, int) else 0))
    return (quantity // step) * step


def _fill_reason(cid: str, record: Order | None) -> str:
    """Why a fill happened: a closing order's own reason, else the purpose of the order it filled; the venue's own
    orders say what they are."""
    if record is not None:
        if record.intent.purpose == "exit":
            asked = next((t.payload["reason"] for t in record.transitions if t.payload and "reason" in t.payload), None)
            if asked is not None:
                return asked
        return FILL_REASONS.get(record.intent.purpose, record.intent.purpose)
    return "liquidation" if cid.startswith("autoclose") else "venue"


def _order_payload(order: VenueOrder) -> dict[str, Any]:
    return {"status": order.status, "executed": str(order.executed_quantity), "average": str(order.average_price)}


def _algo_payload(algo: VenueAlgoOrder) -> dict[str, Any]:
    return {"status": algo.status, "actual_order_id": algo.actual_order_id}
