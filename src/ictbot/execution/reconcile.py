"""Reconciliation: make the database and the bot's view agree with the venue, which is the truth.

Runs at every start and after every user-data-stream reconnect (events in between are lost), before trading resumes:

1. every order the database holds as not final is looked up on the venue by client id and takes the venue's state;
   its trades that no event delivered are booked (once per trade id); an order the venue does not know never reached
   it and is closed as such (it is not re-sent: its moment has passed);
2. open orders of the bot (client ids starting ``ict-``) the database does not hold are cancelled, except a protective
   order of a held position whose record was lost in a crash, which is adopted;
3. every position on the venue must belong to one of the bot's entries (an entry that filled while this ran is
   settled again first); it gets exactly one stop-loss (and its take-profit), placed if missing — of two left by a stop
   move cut short, the newer is kept. A position the bot
   cannot account for is a problem: trading stays HALTED;
4. brackets whose position is gone have their protective orders cancelled;
5. entries still resting past their ``expires_at`` are cancelled (a cancel that failed before is asked again).

The caller then takes the wallet and positions from the report into the account.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from decimal import Decimal

from ictbot.domain import OrderType, Side
from ictbot.execution.client import VenueAlgoOrder
from ictbot.execution.orders import (
    ALGO_STATES,
    ORDER_STATES,
    STOP_LOSS,
    TAKE_PROFIT,
    Bracket,
    EntryPlan,
    OrderManager,
    split_id,
)
from ictbot.storage import OrderState
from ictbot.storage.models import Order

log = logging.getLogger("ictbot.reconcile")
BOT_PREFIX = "ict-"


@dataclass(slots=True)
class Reconciliation:
    """What reconciliation found and did; ``problems`` non-empty means trading must not start."""

    orders_settled: int = 0
    fills_recovered: int = 0
    orphans_cancelled: int = 0
    protective_placed: int = 0
    expired_cancelled: int = 0
    positions: dict[str, tuple[Decimal, Decimal]] = field(default_factory=dict)
    wallet: Decimal = Decimal(0)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        return (
            f"{self.orders_settled} order(s) settled, {self.fills_recovered} fill(s) recovered, "
            f"{self.orphans_cancelled} orphan(s) cancelled, {self.protective_placed} protective order(s) placed, "
            f"{self.expired_cancelled} expired entr(y/ies) cancelled, "
            f"{len(self.positions)} position(s)" + (f"; PROBLEMS: {'; '.join(self.problems)}" if self.problems else "")
        )


async def reconcile(manager: OrderManager, symbols: list[str], *, apply_fills: bool) -> Reconciliation:
    """Compare and repair (see the module docstring); holds the symbols' locks so no order or event interleaves."""
    async with manager.locked(symbols):
        return await _Reconciler(manager, symbols, apply_fills).run()


class _Reconciler:
    def __init__(self, manager: OrderManager, symbols: list[str], apply_fills: bool) -> None:
        self.m = manager
        self.client = manager.client
        self.recorder = manager.recorder
        self.symbols = symbols
        self.apply = apply_fills
        self.report = Reconciliation()

    async def run(self) -> Reconciliation:
        for record in self.recorder.open_intents():
            await self._settle(record)
        positions = await self.client.positions()
        algos = {a.client_algo_id: a for a in await self.client.open_algo_orders()}
        await self._cancel_orphans(algos, positions)
        for symbol in self.symbols:
            await self._check_symbol(symbol, positions.get(symbol), algos)
        for symbol, position in positions.items():
            if symbol not in self.symbols:
                log.warning("%s: a position on the venue outside the configured symbols; left alone", symbol)
                continue
            self.report.positions[symbol] = (position.quantity, position.entry_price)
        self.report.wallet = (await self.client.balance()).wallet
        return self.report

    async def _settle(self, record: Order) -> None:
        """Give one not-final database order the venue's state, booking its missing trades first."""
        cid, symbol, purpose = record.client_order_id, record.symbol, record.intent.purpose
        if purpose in ("stop_loss", "take_profit"):
            algo = await self.client.algo_order(symbol, cid)
            if algo is not None and algo.actual_order_id:
                self.report.fills_recovered += await self.m.sync_fills(
                    symbol, algo.actual_order_id, cid, apply=self.apply
                )
            state = ALGO_STATES.get(algo.status, OrderState.UNKNOWN) if algo else OrderState.CANCELLED
            venue_id = algo.algo_id if algo else None
        else:
            order = await self.client.order(symbol, cid)
            if order is not None and order.executed_quantity > 0:
                self.report.fills_recovered += await self.m.sync_fills(symbol, order.order_id, cid, apply=self.apply)
            state = ORDER_STATES.get(order.status, OrderState.UNKNOWN) if order else OrderState.CANCELLED
            venue_id = order.order_id if order else None
        detail = {"reconciled": "venue state"} if venue_id is not None else {"reconciled": "not on the venue"}
        await self.m.transition(cid, state, detail, venue_id)
        if state is not OrderState(record.state):
            self.report.orders_settled += 1
            log.info("%s: %s %s → %s (%s)", symbol, purpose, cid, state, detail["reconciled"])

    async def _cancel_orphans(self, algos: dict[str, VenueAlgoOrder], positions: dict) -> None:
        for order in await self.client.open_orders():
            if order.client_order_id.startswith(BOT_PREFIX) and self._is_closed(order.client_order_id):
                await self.client.cancel_order(order.symbol, order.client_order_id)
                self.report.orphans_cancelled += 1
                log.warning("%s: open order %s unknown to the database; cancelled", order.symbol, order.client_order_id)
        for cid, algo in list(algos.items()):
            if not cid.startswith(BOT_PREFIX) or not self._is_closed(cid):
                continue
            entry_id, kind = split_id(cid)
            entry = self.recorder.order_by_client_id(entry_id)
            held = positions.get(algo.symbol)
            owned = entry is not None and held is not None and self._owns(entry, held)
            if owned and kind in (STOP_LOSS, TAKE_PROFIT) and self.recorder.order_by_client_id(cid) is None:
                await self._adopt_protective(entry, kind, algo)
                continue
            await self.client.cancel_algo_order(algo.symbol, cid)
            del algos[cid]
            self.report.orphans_cancelled += 1
            log.warning("%s: protective order %s has no position or record; cancelled", algo.symbol, cid)

    def _is_closed(self, cid: str) -> bool:
        """The database holds no open order under this id (none at all, or a final one)."""
        record = self.recorder.order_by_client_id(cid)
        return record is None or OrderState(record.state).is_terminal

    async def _adopt_protective(self, entry: Order, kind: str, algo: VenueAlgoOrder) -> None:
        purpose = "stop_loss" if kind == STOP_LOSS else "take_profit"
        await self.m.persist(
            self.recorder.record_exit_intent, algo.client_algo_id, algo.symbol, algo.side,
            algo.order_type, purpose=purpose, trigger_price=algo.trigger_price,
            parent_client_order_id=entry.client_order_id,
        )  # fmt: skip
        await self.m.adopt_algo(algo)
        log.warning("%s: %s %s was on the venue but not recorded; adopted", algo.symbol, purpose, algo.client_algo_id)

    def _recent_entries(self, symbol: str) -> list[Order]:
        return [
            o for o in self.recorder.orders(symbol=symbol, with_history=False, limit=50) if o.intent.purpose == "entry"
        ]

    @staticmethod
    def _owns(entry: Order, position) -> bool:
        side = Side(entry.intent.side)
        return entry.filled_quantity > 0 and (position.quantity > 0) == (side is Side.BUY)

    async def _check_symbol(self, symbol: str, position, algos: dict[str, VenueAlgoOrder]) -> None:
        await self._rebuild(symbol, position, algos)
        for bracket in [b for b in self.m.brackets.values() if b.plan.symbol == symbol]:
            if not bracket.state.is_terminal and self.m.past_expiry(bracket.plan):
                log.warning("%s: entry %s still open past its expiry; cancelling", symbol, bracket.plan.client_order_id)
                await self.m.cancel_resting(bracket)
                self.report.expired_cancelled += 1

    async def _rebuild(self, symbol: str, position, algos: dict[str, VenueAlgoOrder]) -> None:
        """Rebuild the brackets of ``symbol`` from the database and protect the venue's position, if any."""
        entries = self._recent_entries(symbol)
        owner = next((e for e in entries if position is not None and self._owns(e, position)), None)
        pending = [e for e in entries if not OrderState(e.state).is_terminal]
        if position is not None and owner is None and pending:
            # The venue keeps trading while this runs: an entry still resting when it was settled above may have
            # filled since, and its position is the one just read. Settle such entries again before judging.
            for entry in pending:
                await self._settle(entry)
            entries = self._recent_entries(symbol)
            owner = next((e for e in entries if self._owns(e, position)), None)
        for entry in entries:
            cid = entry.client_order_id
            if entry is owner or not OrderState(entry.state).is_terminal:
                bracket = self.m.brackets.get(cid) or Bracket(_plan(entry))
                bracket.state, bracket.filled = OrderState(entry.state), entry.filled_quantity
                self.m.brackets[cid] = bracket
            elif entry.filled_quantity > 0:  # its position is gone: nothing may still protect it
                self.m.brackets.pop(cid, None)
                await self.m.cancel_children(cid, symbol)
            else:  # final and never filled (cancelled, expired, never reached the venue): frees its symbol
                self.m.brackets.pop(cid, None)
        if position is None:
            return
        if owner is None:
            self.report.problems.append(
                f"{symbol}: a position of {position.quantity} on the venue that no entry of this bot accounts for; "
                "close it on the venue (or with `ictbot flatten`) and start again"
            )
            return
        bracket = self.m.brackets[owner.client_order_id]
        await self._one_stop(bracket, algos)
        for kind in (STOP_LOSS, TAKE_PROFIT):
            bracket.protected.add(kind)
            if (owner.client_order_id, kind) not in {split_id(cid) for cid in algos}:
                await self.m.place_protective(bracket, kind)
                self.report.protective_placed += 1

    async def _one_stop(self, bracket: Bracket, algos: dict[str, VenueAlgoOrder]) -> None:
        """A stop move cut short after its new stop was placed leaves two: the newest is the one asked for, so the
        older ones are cancelled and the bracket guards at the newest's price."""
        entry = bracket.plan.client_order_id
        stops = sorted((cid for cid in algos if split_id(cid) == (entry, STOP_LOSS)), key=_generation)
        for cid in stops[:-1]:
            algo = await self.client.cancel_algo_order(bracket.plan.symbol, cid)
            if algo is not None:
                await self.m.adopt_algo(algo)
            del algos[cid]
            log.warning("%s: stop %s replaced by %s before a restart; cancelled", bracket.plan.symbol, cid, stops[-1])
        if stops:
            bracket.plan = replace(bracket.plan, stop=algos[stops[-1]].trigger_price)


def _generation(cid: str) -> int:
    digits = cid.rpartition("-")[2].lstrip("abcdefghijklmnopqrstuvwxyz")
    return int(digits or 1)


def _plan(entry: Order) -> EntryPlan:
    intent = entry.intent
    order_type = OrderType(intent.order_type)
    return EntryPlan(
        entry.client_order_id, entry.symbol, Side(intent.side), order_type, intent.quantity,
        intent.price if order_type is OrderType.LIMIT else None, intent.stop, intent.target, intent.expires_at,
    )  # fmt: skip
