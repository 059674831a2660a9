"""Protection as an invariant: a position gets its stop even when the venue fails right after the entry's fill, or is
closed; an expired entry is cancelled until the venue confirms it, and never sent late.

Every scenario runs against the local exchange over real HTTP, its faults turned by its own knobs.
"""

from __future__ import annotations

import asyncio
import dataclasses
from decimal import Decimal
from typing import Any

import pytest

from helpers import until
from helpers.clocks import AskedClock
from ictbot.domain import OrderType, Side
from ictbot.exchange import LocalExchange
from ictbot.execution.client import VenueAlgoOrder, VenueClient, VenueUnavailable
from ictbot.execution.orders import OrderManager
from ictbot.storage import OrderState

from .harness import Bot, assert_consistent, market_intent, venue_state

CANDLE_MS = 60_000


def failing_stops(exchange: LocalExchange, *, times: int | None) -> type[VenueClient]:
    """A client for which the venue answers three 503s to each of the first ``times`` stop placements (all of them
    when None): the client's own retries are used up, as when the venue is briefly down right after a fill."""
    calls = {"n": 0}

    class FailingStops(VenueClient):
        async def place_algo_order(self, *args: Any, **kwargs: Any) -> VenueAlgoOrder:
            if kwargs["client_algo_id"].endswith("-sl") and (times is None or calls["n"] < times):
                calls["n"] += 1
                exchange.fail_requests(3, status=503)
            return await super().place_algo_order(*args, **kwargs)

    return FailingStops


async def test_three_503s_right_after_an_entry_fill_still_leave_the_position_protected(
    bot: Bot, exchange: LocalExchange
) -> None:
    manager = await bot.start(failing_stops(exchange, times=1))
    intent = market_intent(exchange)
    manager.submit(intent)
    await bot.run_jobs()  # the failed placement is tried again at once, not left to a periodic sync

    venue = venue_state(exchange)
    assert venue["positions"] == {"BTCUSDT": intent.quantity}
    stops = [a for a in venue["open_algos"].values() if a.order_type == "STOP_MARKET"]
    assert [(s.client_algo_id, s.trigger_price) for s in stops] == [(f"{intent.client_order_id}-sl", intent.stop)]
    assert_consistent(exchange, bot.recorder)


async def no_wait(_seconds: float) -> None:
    """The client's own retry pauses, skipped: only the order manager's waits are under test."""


async def test_a_stop_placement_is_retried_on_the_clock_and_the_position_closed_when_the_bound_passes_on_it(
    bot: Bot, exchange: LocalExchange
) -> None:
    """The stop's retries wait 0.1 s doubling up to 2 s, then what is left of the 10 s bound, all on the order
    manager's clock: nothing happens until that clock moves, and the close comes when it has moved 10 s."""
    clock = AskedClock()
    stops = failing_stops(exchange, times=None)
    manager = await bot.start(lambda config: stops(config, sleep=no_wait), clock=clock, max_unprotected_s=10)
    intent = market_intent(exchange)
    manager.submit(intent)
    job = asyncio.create_task(bot.run_jobs())
    expected = [0.1, 0.2, 0.4, 0.8, 1.6, 2.0, 2.0, 2.0, 0.9]  # 10 s in all: 0.1+0.2+0.4+0.8+1.6+3×2+0.9
    try:
        for turn, delay in enumerate(expected):
            await until(lambda turn=turn: len(clock.asked) > turn or job.done(), 30, f"retry wait {turn + 1}")
            assert clock.asked == pytest.approx(expected[: turn + 1])
            assert clock.sleeping == 1 and not job.done(), "the retry waits on the clock, not on real time"
            assert venue_state(exchange)["positions"] == {"BTCUSDT": intent.quantity}
            await clock.advance(delay)
        await asyncio.wait_for(job, 30)
    finally:
        job.cancel()

    assert clock.now_ms() == 10_000
    venue = venue_state(exchange)
    assert venue["positions"] == {} and venue["open_algos"] == {}
    close = bot.recorder.order_by_client_id(f"{intent.client_order_id}-x")
    assert (close.state, close.filled_quantity) == (OrderState.FILLED, intent.quantity)
    assert bot.recorder.order_by_client_id(f"{intent.client_order_id}-sl").state == OrderState.REJECTED
    assert_consistent(exchange, bot.recorder)


def resting_entry(exchange: LocalExchange, *, candles: int):
    """A limit buy 2 % below the market that expires ``candles`` candles from now."""
    intent = market_intent(exchange, order_type=OrderType.LIMIT, offset_pct=2.0)
    return dataclasses.replace(intent, expires_at=int(exchange.replay.now) + candles * CANDLE_MS)


async def test_a_failed_cancel_of_an_expired_entry_is_asked_again_until_the_venue_confirms(
    bot: Bot, exchange: LocalExchange
) -> None:
    manager = await bot.start()
    intent = resting_entry(exchange, candles=1)
    manager.submit(intent)
    await bot.run_jobs()
    assert bot.recorder.order_by_client_id(intent.client_order_id).state == OrderState.ACKNOWLEDGED

    now = int(exchange.replay.now)
    exchange.fail_requests(3, status=503)
    manager.expire("BTCUSDT", now)
    with pytest.raises(VenueUnavailable):
        await bot.run_jobs()
    assert intent.client_order_id in venue_state(exchange)["open"]

    manager.expire("BTCUSDT", now + CANDLE_MS)  # the next candle asks again
    await bot.run_jobs()
    assert intent.client_order_id not in venue_state(exchange)["open"]
    assert bot.recorder.order_by_client_id(intent.client_order_id).state == OrderState.CANCELLED
    assert not manager.has_exposure("BTCUSDT")
    assert_consistent(exchange, bot.recorder)


async def test_reconciliation_cancels_an_entry_resting_past_its_expiry(bot: Bot, exchange: LocalExchange) -> None:
    manager = await bot.start()
    intent = resting_entry(exchange, candles=2)
    manager.submit(intent)
    await bot.run_jobs()
    await bot.crash()  # its cancel never ran
    await exchange.advance(3)

    await bot.start()
    report = await bot.reconcile()
    assert report.ok and report.expired_cancelled == 1
    assert venue_state(exchange)["open"] == set()
    assert bot.recorder.order_by_client_id(intent.client_order_id).state == OrderState.CANCELLED
    assert_consistent(exchange, bot.recorder)


async def test_an_entry_that_waited_out_a_ban_past_its_expiry_is_dropped_not_sent(
    bot: Bot, exchange: LocalExchange
) -> None:
    """The ban lasts two market minutes (the replay moves while the client waits); the entry had one."""

    async def sleep(_seconds: float) -> None:
        await exchange.advance(2)
        exchange.lift_limits()

    manager = await bot.start(lambda config: VenueClient(config, sleep=sleep))
    intent = dataclasses.replace(market_intent(exchange), expires_at=int(exchange.replay.now) + CANDLE_MS)
    exchange.ban(30)
    manager.submit(intent)
    await bot.run_jobs()

    venue = venue_state(exchange)
    assert intent.client_order_id not in venue["orders"] and venue["positions"] == {}
    record = bot.recorder.order_by_client_id(intent.client_order_id)
    assert record.state == OrderState.EXPIRED
    assert not manager.has_exposure("BTCUSDT")
    assert_consistent(exchange, bot.recorder)


async def test_closing_a_symbol_answers_the_fills_that_closed_its_position(bot: Bot, exchange: LocalExchange) -> None:
    manager = await bot.start()
    intent = market_intent(exchange, quantity="0.003")
    manager.submit(intent)
    await bot.run_jobs()
    mark = exchange.engine.mark("BTCUSDT")

    fills = await manager.close_symbol("BTCUSDT", "closed by the operator", int(exchange.replay.now))

    assert venue_state(exchange)["positions"] == {}
    assert sum(f.quantity for f in fills) == intent.quantity
    assert {(f.symbol, f.side, f.reason) for f in fills} == {("BTCUSDT", Side.SELL, "manual")}
    assert all(abs(f.price - mark) / mark < Decimal("0.01") for f in fills)  # a market close near the mark
    assert_consistent(exchange, bot.recorder)


async def test_a_stop_move_asked_while_the_first_stop_is_placed_is_placed_after_it(
    bot: Bot, exchange: LocalExchange
) -> None:
    """The strategy moves the stop (break-even, say) while the first stop-loss is still on its way: the venue gets the
    entry's own stop first, as the database records it, and then the moved one, which replaces it."""
    intent = market_intent(exchange)
    moved = ((intent.stop + intent.price) / 2).quantize(Decimal("0.1"))
    managers: list[OrderManager] = []

    class MoveDuringFirstStop(VenueClient):
        async def place_algo_order(self, *args: Any, **kwargs: Any) -> VenueAlgoOrder:
            if kwargs["client_algo_id"].endswith("-sl") and managers:  # the first try, while the venue is briefly down
                manager = managers.pop()
                manager.manage("BTCUSDT", "move_stop", price=moved, reason="break-even")
                assert manager.protection("BTCUSDT") == (moved, intent.target), "the strategy sees its move at once"
                exchange.fail_requests(3, status=503)
            return await super().place_algo_order(*args, **kwargs)

    manager = await bot.start(MoveDuringFirstStop)
    managers.append(manager)
    manager.submit(intent)
    await bot.run_jobs()

    placed = [(a.client_algo_id, a.trigger_price, a.status) for a in exchange.engine.algos.values()]
    cid = intent.client_order_id
    assert placed == [(f"{cid}-sl", intent.stop, "CANCELED"), (f"{cid}-tp", intent.target, "NEW"),
                      (f"{cid}-sl2", moved, "NEW")]  # fmt: skip
    first = bot.recorder.order_by_client_id(f"{cid}-sl")
    assert (first.intent.trigger_price, first.state) == (intent.stop, OrderState.CANCELLED)
    assert manager.protection("BTCUSDT") == (moved, intent.target)
    assert_consistent(exchange, bot.recorder)
