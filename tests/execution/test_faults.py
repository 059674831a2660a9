"""The fault suite: whatever fails — the process, the venue, the network — execution ends in a known, safe state.

Every scenario runs against the local exchange through ccxt over real HTTP, with the bot's real SQLite file. A
"crash" keeps exactly what a SIGKILL keeps: the database file and the venue; the restarted bot builds everything else
anew and reconciles before it may trade.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from helpers import until
from ictbot.domain import Fill, OrderType, Side
from ictbot.exchange import LocalExchange
from ictbot.execution.client import VenueClient
from ictbot.execution.orders import OrderManager, RecentIds
from ictbot.storage import OrderState

from .harness import Bot, Killed, assert_consistent, killing_client, market_intent, venue_state

KILL_POINTS = {
    "before the entry is sent": ("place_order", False, ""),
    "entry sent, before its answer": ("place_order", True, ""),
    "entry filled, before the stop is sent": ("place_algo_order", False, "-sl"),
    "stop sent, before its answer": ("place_algo_order", True, "-sl"),
    "stop placed, before the take-profit is sent": ("place_algo_order", False, "-tp"),
    "take-profit sent, before its answer": ("place_algo_order", True, "-tp"),
}


@pytest.mark.parametrize("point", list(KILL_POINTS))
async def test_a_crash_at_any_step_of_an_entry_leaves_one_protected_position_or_none(
    bot: Bot, exchange: LocalExchange, point: str
) -> None:
    method, after_request, suffix = KILL_POINTS[point]
    manager = await bot.start(killing_client(method, after_request=after_request, id_suffix=suffix))
    intent = market_intent(exchange)
    manager.submit(intent)
    with pytest.raises(Killed):
        await bot.run_jobs()
    await bot.crash()

    await bot.start()
    # An entry is journalled before it is sent and written to the database after: a crash around the send leaves it
    # only in the journal, which the restart restores from.
    assert bot.restored == ([intent.client_order_id] if method == "place_order" else [])
    report = await bot.reconcile(apply_fills=False)

    assert report.ok, report.problems
    assert_consistent(exchange, bot.recorder)
    venue = venue_state(exchange)
    entry_sent = after_request or method != "place_order"
    assert venue["orders"].count(intent.client_order_id) == (1 if entry_sent else 0)
    assert venue["positions"] == ({"BTCUSDT": intent.quantity} if entry_sent else {})
    entry = bot.recorder.order_by_client_id(intent.client_order_id)
    assert entry.state == (OrderState.FILLED if entry_sent else OrderState.CANCELLED)
    if entry_sent:
        protective = {a.order_type: a for a in venue["open_algos"].values()}
        assert protective["STOP_MARKET"].trigger_price == intent.stop
        assert protective["TAKE_PROFIT_MARKET"].trigger_price == intent.target

    again = await bot.reconcile()  # a second pass finds nothing left to do
    assert (again.orders_settled, again.orphans_cancelled, again.protective_placed) == (0, 0, 0)


async def test_a_crash_between_a_stop_fill_and_the_take_profit_cancel_leaves_nothing_open(
    bot: Bot, exchange: LocalExchange
) -> None:
    manager = await bot.start(killing_client("cancel_algo_order", after_request=False, id_suffix="-tp"))
    intent = market_intent(exchange, stop_pct=0.05, target_pct=5.0)
    manager.submit(intent)
    await bot.run_jobs()
    for _ in range(300):
        await exchange.advance(1)
        if not venue_state(exchange)["positions"]:
            break
    assert not venue_state(exchange)["positions"], "the stop 0.05 % away should trigger within 300 real minutes"
    with pytest.raises(Killed):
        await bot.reconcile()  # learns of the stop's fill, dies cancelling the take-profit
    await bot.crash()

    await bot.start()
    assert (await bot.reconcile(apply_fills=False)).ok
    assert_consistent(exchange, bot.recorder)
    assert venue_state(exchange)["open_algos"] == {}
    stop_fill = bot.recorder.fills(client_order_id=f"{intent.client_order_id}-sl")
    assert [f.reason for f in stop_fill] == ["stop"]


@pytest.mark.parametrize("executed", [True, False], ids=["executed", "not-executed"])
async def test_an_order_whose_outcome_is_unknown_is_found_not_duplicated(
    bot: Bot, exchange: LocalExchange, executed: bool
) -> None:
    manager = await bot.start()
    exchange.unknown_status(executed=executed)
    intent = market_intent(exchange)
    manager.submit(intent)
    await bot.run_jobs()

    assert_consistent(exchange, bot.recorder)
    assert venue_state(exchange)["orders"].count(intent.client_order_id) == 1
    assert venue_state(exchange)["positions"] == {"BTCUSDT": intent.quantity}
    history = [t.state for t in bot.recorder.order_by_client_id(intent.client_order_id).transitions]
    assert OrderState.UNKNOWN in history and history[-1] == OrderState.FILLED


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_server_errors_on_placement_end_in_exactly_one_order(
    bot: Bot, exchange: LocalExchange, status: int
) -> None:
    manager = await bot.start()
    exchange.fail_requests(1, status=status)
    intent = market_intent(exchange)
    manager.submit(intent)
    await bot.run_jobs()
    assert venue_state(exchange)["orders"].count(intent.client_order_id) == 1
    assert_consistent(exchange, bot.recorder)


@pytest.mark.parametrize(
    ("code", "reason"), [(-2019, "Margin is insufficient"), (-2010, "rejected")], ids=["margin", "generic"]
)
async def test_a_rejected_entry_is_recorded_with_its_reason_and_frees_the_symbol(
    bot: Bot, exchange: LocalExchange, code: int, reason: str
) -> None:
    manager = await bot.start()
    exchange.reject_orders(1, code=code)
    intent = market_intent(exchange)
    manager.submit(intent)
    await bot.run_jobs()
    record = bot.recorder.order_by_client_id(intent.client_order_id)
    assert record.state == OrderState.REJECTED
    assert record.transitions[-1].payload["code"] == code
    assert not manager.has_exposure("BTCUSDT")
    assert venue_state(exchange)["positions"] == {}


async def test_an_entry_below_the_minimum_notional_is_rejected_by_the_venue(bot: Bot, exchange: LocalExchange) -> None:
    manager = await bot.start()
    intent = market_intent(exchange, quantity="0.001")  # ≈ 95 USDT < 100 USDT
    manager.submit(intent)
    await bot.run_jobs()
    record = bot.recorder.order_by_client_id(intent.client_order_id)
    assert (record.state, record.transitions[-1].payload["code"]) == (OrderState.REJECTED, -4164)


async def test_a_partial_fill_is_protected_and_the_rest_cancelled_at_expiry(bot: Bot, exchange: LocalExchange) -> None:
    manager = await bot.start()
    exchange.partial_fills(0.5)
    intent = market_intent(exchange, order_type=OrderType.LIMIT, offset_pct=-0.05, quantity="0.004")  # marketable
    manager.submit(intent)
    await bot.run_jobs()
    entry = bot.recorder.order_by_client_id(intent.client_order_id)
    assert entry.state == OrderState.PARTIALLY_FILLED and entry.filled_quantity == Decimal("0.002")
    assert venue_state(exchange)["positions"] == {"BTCUSDT": Decimal("0.002")}
    assert_consistent(exchange, bot.recorder)

    exchange.partial_fills(None)
    await manager.cancel_entry("BTCUSDT", intent.client_order_id)
    assert bot.recorder.order_by_client_id(intent.client_order_id).state == OrderState.CANCELLED
    assert_consistent(exchange, bot.recorder)  # the half position keeps its stop
    assert manager.has_exposure("BTCUSDT")


async def test_a_reduce_only_close_without_a_position_is_rejected_and_recorded(
    bot: Bot, exchange: LocalExchange
) -> None:
    manager = await bot.start()
    await manager.close_position("BTCUSDT", Decimal("0.002"), "ict-close-test", "test")
    record = bot.recorder.order_by_client_id("ict-close-test")
    assert (record.state, record.transitions[-1].payload["code"]) == (OrderState.REJECTED, -2022)


async def test_the_kill_switch_leaves_no_order_and_no_position(bot: Bot, exchange: LocalExchange) -> None:
    manager = await bot.start()
    manager.submit(market_intent(exchange))
    manager.submit(market_intent(exchange, "ETHUSDT", Side.SELL, quantity="0.05"))
    resting = market_intent(exchange, order_type=OrderType.LIMIT, offset_pct=2.0)
    await bot.run_jobs()
    manager.submit(resting)  # BTC now also has a resting entry far below the market
    await bot.run_jobs()
    assert len(venue_state(exchange)["positions"]) == 2

    for symbol in ("BTCUSDT", "ETHUSDT"):
        await manager.close_symbol(symbol, "kill switch", exchange.replay.now)

    venue = venue_state(exchange)
    assert (venue["open"], venue["open_algos"], venue["positions"]) == (set(), {}, {})
    assert_consistent(exchange, bot.recorder)
    assert not manager.has_exposure("BTCUSDT") and not manager.has_exposure("ETHUSDT")


async def test_a_position_the_bot_cannot_account_for_keeps_trading_halted(bot: Bot, exchange: LocalExchange) -> None:
    await bot.start()
    other = VenueClient(exchange.ccxt_config())
    await other.start()
    await other.place_order("ETHUSDT", Side.BUY, "MARKET", Decimal("0.05"), client_order_id="manual-1")
    await other.close()
    report = await bot.reconcile(apply_fills=False)
    assert not report.ok
    assert "ETHUSDT" in report.problems[0] and "flatten" in report.problems[0]


def _lined(config: dict) -> VenueClient:
    return VenueClient(config, order_line=True)


async def test_an_entry_submitted_while_jobs_run_has_left_when_submit_returns_and_ends_protected(
    bot: Bot, exchange: LocalExchange
) -> None:
    manager = await bot.start(_lined)
    manager.run_job = lambda job: job()
    intent = market_intent(exchange)
    manager.submit(intent)
    assert manager.leaving == 0 and bot.client.line_entries == 1  # on the socket already
    assert bot.journal.path.read_bytes(), "journalled before it left"
    while manager.tasks:
        await asyncio.gather(*manager.tasks)
    venue = venue_state(exchange)
    assert venue["orders"] == [intent.client_order_id] and venue["positions"] == {"BTCUSDT": Decimal("0.002")}
    assert sorted(a.order_type for a in venue["open_algos"].values()) == ["STOP_MARKET", "TAKE_PROFIT_MARKET"]
    assert_consistent(exchange, bot.recorder)
    assert not bot.journal.path.read_bytes(), "emptied once the database holds the intent"


async def test_an_entry_job_cancelled_before_it_starts_frees_its_symbol(bot: Bot, exchange: LocalExchange) -> None:
    """A restarted execution stage cancels its jobs; the symbol's lock and the market-data hold must not outlive them.
    Reconciliation then settles the entry that left."""
    manager = await bot.start(_lined)
    manager.run_job = lambda job: job()
    intent = market_intent(exchange)
    manager.submit(intent)
    for task in manager.tasks:
        task.cancel()
    await asyncio.gather(*manager.tasks, return_exceptions=True)
    assert not manager.lock("BTCUSDT").locked() and manager.leaving == 0
    await until(lambda: all(line.ready for line in bot.client._lines))  # the venue answered the request that left
    await bot.persist(lambda: None)  # and what its answer made the bot record is written
    report = await bot.reconcile()
    assert report.ok
    assert_consistent(exchange, bot.recorder)


async def test_a_trade_delivered_again_long_after_is_still_booked_once(
    bot: Bot, exchange: LocalExchange, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The order manager remembers only the newest trade ids; an older one the venue sends again (a reconciliation
    after a long outage) is refused by the database, and the account is not charged twice."""
    monkeypatch.setattr(OrderManager, "BOOKED_IDS", 2)
    manager = await bot.start()
    trades = [
        Fill(f"entry-{i}", "BTCUSDT", Side.BUY, Decimal("0.001"), Decimal(30_000), Decimal("0.012"),
             1_700_000_000_000 + i * 60_000, False, "entry")
        for i in range(4)
    ]  # fmt: skip
    booked = [await manager.book(fill, f"trade-{i}", Decimal(0)) for i, fill in enumerate(trades)]
    again = await manager.book(trades[0], "trade-0", Decimal(0))
    assert (booked, again) == ([True] * 4, False)
    assert bot.fills == trades
    assert len(bot.recorder.fills(symbol="BTCUSDT", limit=1000)) == 4


async def test_an_entry_that_fills_while_reconciliation_runs_is_not_taken_for_a_stranger_s_position(
    bot: Bot, exchange: LocalExchange
) -> None:
    """The venue keeps trading during a reconciliation: a resting limit entry, looked up while still open, fills
    before the positions are read. Its position is the bot's own, gets its stop and target, and trading goes on."""

    class FillsMidway(VenueClient):
        async def positions(self):  # type: ignore[no-untyped-def]
            for _ in range(300):
                if venue_state(exchange)["positions"]:
                    break
                await exchange.advance(1)
            return await super().positions()

    manager = await bot.start(FillsMidway)
    intent = market_intent(exchange, "ETHUSDT", quantity="0.06", order_type=OrderType.LIMIT, offset_pct=0.1)
    manager.submit(intent)
    await bot.run_jobs()
    assert bot.recorder.order_by_client_id(intent.client_order_id).state == OrderState.ACKNOWLEDGED
    report = await bot.reconcile(apply_fills=True)
    assert report.ok, report.problems
    assert report.positions["ETHUSDT"][0] == Decimal("0.06")
    assert bot.recorder.order_by_client_id(intent.client_order_id).filled_quantity == Decimal("0.06")
    assert_consistent(exchange, bot.recorder)


def test_trade_ids_in_memory_are_only_the_newest_ones() -> None:
    ids = RecentIds(2)
    assert [ids.add(i) for i in ("t1", "t2", "t2", "t3")] == [True, True, False, True]
    assert ids.add("t1")  # forgotten: from here on only the database can refuse it
    assert not ids.add("t3")
