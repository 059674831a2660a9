"""``VenueClient`` against the local exchange over real HTTP: every call round-trips, and every fault is survived the
way Binance's rules allow (waits are recorded through the injected ``sleep``; bans are seconds long)."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from pathlib import Path

import pytest

from helpers import until
from ictbot.data.frame import CandleFrame
from ictbot.data.loaders import load_candles
from ictbot.domain import Side
from ictbot.errors import VenueError
from ictbot.exchange import LocalExchange
from ictbot.execution.client import (
    OrderRejected,
    OutcomeUnknown,
    VenueBalance,
    VenueClient,
    VenuePosition,
    VenueUnavailable,
)
from ictbot.kernel.clock import ManualClock

DATA = Path(__file__).parent.parent / "data"
SYMBOL = "BTCUSDT"
QTY = Decimal("0.010")
_ACCESS = re.compile(r'"(\w+) ([^ ?]+)\S* HTTP/[\d.]+" (\d+)')
Sent = Callable[[], list[tuple[str, str, int]]]


class Sleeper:
    """The client's ``sleep``: records each wait and returns at once after ``on_wait`` (a test's stand-in for the
    time passing on the venue)."""

    def __init__(self) -> None:
        self.waits: list[float] = []
        self.on_wait: Callable[[float], Awaitable[None]] | None = None

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        if self.on_wait is not None:
            await self.on_wait(seconds)
        await asyncio.sleep(0)


@pytest.fixture(scope="module")
def btc_frame() -> CandleFrame:
    return load_candles(DATA / "BTC_USDT_USDT-1m-futures.feather").slice(0, 600)


@pytest.fixture
async def exchange(btc_frame: CandleFrame, sent: Sent) -> AsyncIterator[LocalExchange]:
    async with LocalExchange([btc_frame], warmup=300) as ex:
        yield ex


@pytest.fixture
def sleeper() -> Sleeper:
    return Sleeper()


@pytest.fixture
async def client(exchange: LocalExchange, sleeper: Sleeper) -> AsyncIterator[VenueClient]:
    c = VenueClient(exchange.ccxt_config(), sleep=sleeper)
    await c.start()
    try:
        yield c
    finally:
        await c.close()


@pytest.fixture
def sent(caplog: pytest.LogCaptureFixture) -> Sent:
    """The exchange's request log (its access log): ``(method, path, status)`` of every answered request.

    Set up before the exchange starts, as the server decides per connection whether to log."""
    caplog.set_level(logging.INFO, logger="aiohttp.access")

    def requests() -> list[tuple[str, str, int]]:
        found = (_ACCESS.search(r.getMessage()) for r in caplog.records if r.name == "aiohttp.access")
        return [(m[1], m[2], int(m[3])) for m in found if m]

    return requests


def price(exchange: LocalExchange, factor: str = "1") -> Decimal:
    """The replayed price × ``factor``, on BTCUSDT's 0.10 tick."""
    return (exchange.replay.feeds[SYMBOL].last_price * Decimal(factor)).quantize(Decimal("0.1"))


def venue_orders(exchange: LocalExchange, client_order_id: str) -> list:
    return [o for o in exchange.engine.orders.values() if o.client_order_id == client_order_id]


# ------------------------------------------------------------------------------------------------- round trips
async def test_start_reads_the_venues_limits(btc_frame: CandleFrame) -> None:
    async with LocalExchange([btc_frame], warmup=300, weight_limit=1000) as ex:
        c = VenueClient(ex.ccxt_config())
        await c.start()
        await c.close()
    usage = c.usage()
    assert (usage["weight_limit_1m"], usage["orders_limit_10s"], usage["orders_limit_1m"]) == (1000, 300, 1200)
    assert usage["weight_1m"] > 0


def test_demo_uses_binances_demo_environment() -> None:
    urls = VenueClient({}, demo=True).exchange.urls["api"]
    assert urls["fapiPrivate"] == urls["fapiPublic"] == "https://demo-fapi.binance.com/fapi/v1"


async def test_limit_order_round_trip(client: VenueClient, exchange: LocalExchange) -> None:
    limit = price(exchange, "0.98")
    placed = await client.place_order(SYMBOL, Side.BUY, "LIMIT", QTY, price=limit, client_order_id="rest-1")
    (venue,) = venue_orders(exchange, "rest-1")
    assert (placed.order_id, placed.status, placed.price, placed.quantity) == (venue.order_id, "NEW", limit, QTY)
    assert (placed.side, placed.order_type, placed.executed_quantity) == (Side.BUY, "LIMIT", 0)
    assert await client.order(SYMBOL, "rest-1") == placed
    assert await client.open_orders(SYMBOL) == [placed] == await client.open_orders()

    canceled = await client.cancel_order(SYMBOL, "rest-1")
    assert canceled is not None and canceled.status == venue.status == "CANCELED"
    assert await client.open_orders() == []
    assert await client.cancel_order(SYMBOL, "rest-1") is None
    assert await client.order(SYMBOL, "never-sent") is None


async def test_market_order_fills_into_position_balance_and_trades(
    client: VenueClient, exchange: LocalExchange
) -> None:
    filled = await client.place_order(SYMBOL, Side.BUY, "MARKET", QTY, client_order_id="buy-1")
    assert (filled.status, filled.executed_quantity, filled.average_price) == ("FILLED", QTY, price(exchange))

    engine = exchange.engine
    venue_position = engine.position(SYMBOL, "BOTH")
    assert await client.positions() == {
        SYMBOL: VenuePosition(SYMBOL, QTY, venue_position.entry_price, 20, False, venue_position.update_time)
    }
    balance = await client.balance()
    assert balance == VenueBalance(engine.wallet, balance.available)
    assert 0 < balance.available < balance.wallet

    (trade,) = await client.trades(SYMBOL, order_id=filled.order_id)
    (venue_trade,) = engine.trades
    assert (trade.trade_id, trade.order_id, trade.side, trade.quantity, trade.price) == (
        venue_trade.trade_id,
        filled.order_id,
        Side.BUY,
        QTY,
        venue_trade.price,
    )
    assert (trade.commission, trade.maker, trade.time) == (venue_trade.commission, False, venue_trade.time)
    assert await client.trades(SYMBOL, since_ms=trade.time + 1) == []

    closed = await client.place_order(SYMBOL, Side.SELL, "MARKET", QTY, client_order_id="sell-1", reduce_only=True)
    assert closed.reduce_only and closed.status == "FILLED"
    assert await client.positions() == {}


async def test_a_partly_filled_market_order_reports_binances_statuses(
    client: VenueClient, exchange: LocalExchange
) -> None:
    exchange.partial_fills("0.5")
    market = await client.place_order(SYMBOL, Side.BUY, "MARKET", QTY, client_order_id="half")
    assert (market.status, market.executed_quantity) == ("EXPIRED", Decimal("0.005"))
    limit = await client.place_order(
        SYMBOL, Side.BUY, "LIMIT", QTY, price=price(exchange, "1.001"), client_order_id="l"
    )
    assert (limit.status, limit.executed_quantity) == ("PARTIALLY_FILLED", Decimal("0.005"))
    assert await client.open_orders(SYMBOL) == [limit]


async def test_algo_order_round_trip_and_trigger(client: VenueClient, exchange: LocalExchange) -> None:
    await client.place_order(SYMBOL, Side.BUY, "MARKET", QTY, client_order_id="entry-1")
    far = await client.place_algo_order(
        SYMBOL, Side.SELL, "STOP_MARKET", price(exchange, "0.5"), client_algo_id="stop-far", close_position=True
    )
    near = await client.place_algo_order(
        SYMBOL, Side.SELL, "STOP_MARKET", price(exchange, "0.9995"), client_algo_id="stop-near", quantity=QTY,
        reduce_only=True, working_type="MARK_PRICE",
    )  # fmt: skip
    assert (far.status, far.close_position, far.quantity, far.actual_order_id) == ("NEW", True, 0, None)
    assert (near.quantity, near.reduce_only, near.order_type, near.side) == (QTY, True, "STOP_MARKET", Side.SELL)
    assert {a.algo_id for a in exchange.engine.open_algos()} == {far.algo_id, near.algo_id}
    assert await client.open_algo_orders(SYMBOL) == [far, near] == await client.open_algo_orders()
    assert await client.algo_order(SYMBOL, "stop-far") == far
    assert await client.algo_order(SYMBOL, "never-sent") is None

    canceled = await client.cancel_algo_order(SYMBOL, "stop-far")
    assert canceled is not None and canceled.status == "CANCELED"
    assert await client.cancel_algo_order(SYMBOL, "stop-far") is None

    for _ in range(120):
        await exchange.advance(1)
        near = await client.algo_order(SYMBOL, "stop-near")
        if near is not None and near.status != "NEW":
            break
    assert near is not None and near.status == "FINISHED" and near.actual_order_id is not None
    assert await client.positions() == {}


async def test_cancel_all_cancels_orders_and_algo_orders(client: VenueClient, exchange: LocalExchange) -> None:
    await client.place_order(SYMBOL, Side.BUY, "LIMIT", QTY, price=price(exchange, "0.98"), client_order_id="a")
    await client.place_algo_order(
        SYMBOL, Side.BUY, "TAKE_PROFIT_MARKET", price(exchange, "0.9"), client_algo_id="b", quantity=QTY
    )
    await client.cancel_all(SYMBOL)
    assert await client.open_orders() == [] and await client.open_algo_orders() == []
    assert not exchange.engine.open_orders() and not exchange.engine.open_algos()


async def test_configure_symbol_changes_only_what_differs(
    client: VenueClient, exchange: LocalExchange, sent: Sent
) -> None:
    await client.configure_symbol(SYMBOL, leverage=5, isolated=True)
    settings = exchange.engine.settings[SYMBOL]
    assert (settings.leverage, settings.margin_type) == (5, "ISOLATED")
    await client.configure_symbol(SYMBOL, leverage=5, isolated=True)
    posts = [path for method, path, _ in sent() if method == "POST"]
    assert posts == ["/fapi/v1/marginType", "/fapi/v1/leverage"]


async def test_margin_type_refused_with_a_position_names_the_fix(client: VenueClient) -> None:
    await client.place_order(SYMBOL, Side.BUY, "MARKET", QTY, client_order_id="held")
    with pytest.raises(VenueError, match=r"refuses the change \(-4048 .*close the BTCUSDT position"):
        await client.configure_symbol(SYMBOL, leverage=20, isolated=True)


async def test_leverage_the_venue_refuses_names_the_setting(client: VenueClient) -> None:
    with pytest.raises(VenueError, match=r"refuses 200x \(-4028 .*risk\.leverage"):
        await client.configure_symbol(SYMBOL, leverage=200, isolated=False)


async def test_one_way_mode_is_set_when_the_account_is_in_hedge_mode(
    client: VenueClient, exchange: LocalExchange
) -> None:
    exchange.engine.set_dual_side(True)
    await client.ensure_one_way_mode()
    assert exchange.engine.dual_side is False
    await client.ensure_one_way_mode()


# ------------------------------------------------------------------------------------------------------ rejects
@pytest.mark.parametrize("code", [-2019, -2010])
async def test_injected_rejects_carry_binances_code(client: VenueClient, exchange: LocalExchange, code: int) -> None:
    exchange.reject_orders(1, code)
    with pytest.raises(OrderRejected) as caught:
        await client.place_order(SYMBOL, Side.BUY, "MARKET", QTY, client_order_id="refused")
    assert caught.value.code == code
    assert venue_orders(exchange, "refused") == []


async def test_venue_checks_surface_as_order_rejected(client: VenueClient, exchange: LocalExchange) -> None:
    async def code_of(request: Awaitable[object]) -> int:
        with pytest.raises(OrderRejected) as caught:
            await request
        return caught.value.code

    buy, sell = Side.BUY, Side.SELL
    assert await code_of(client.place_order(SYMBOL, buy, "MARKET", Decimal("0.001"), client_order_id="tiny")) == -4164
    assert (
        await code_of(client.place_order(SYMBOL, sell, "MARKET", QTY, client_order_id="r", reduce_only=True)) == -2022
    )
    await client.place_order(SYMBOL, buy, "LIMIT", QTY, price=price(exchange, "0.98"), client_order_id="dup")
    dup = client.place_order(SYMBOL, buy, "LIMIT", QTY, price=price(exchange, "0.97"), client_order_id="dup")
    assert await code_of(dup) == -4116
    through = client.place_algo_order(
        SYMBOL, sell, "STOP_MARKET", price(exchange, "1.01"), client_algo_id="s", quantity=QTY
    )
    assert await code_of(through) == -2021


# ------------------------------------------------------------------------------------------------------- faults
async def test_429_waits_for_the_next_window_and_resends(
    client: VenueClient, exchange: LocalExchange, sleeper: Sleeper, sent: Sent
) -> None:
    async def minute_passes(seconds: float) -> None:
        exchange.lift_limits()

    sleeper.on_wait = minute_passes
    exchange.throttle(1)
    assert (await client.balance()).wallet == 10_000
    assert [status for _, path, status in sent() if path == "/fapi/v3/balance"] == [429, 200]
    (wait,) = sleeper.waits
    assert 0 < wait <= 60
    assert client.usage()["throttled"] == 1


async def test_429_then_418_stops_every_request_until_the_ban_ends(
    client: VenueClient, exchange: LocalExchange, sleeper: Sleeper, sent: Sent
) -> None:
    """The 429's wait returns at once (the venue's minute is not simulated), so the resend meets a 1.5 s ban; a
    request made during the ban waits too, and both go out once the ban is over (the test ends it)."""
    ban_over = asyncio.Event()

    async def ban_passes(seconds: float) -> None:
        if len(sleeper.waits) > 1:  # the waits after the 429's: the ban's
            await ban_over.wait()

    sleeper.on_wait = ban_passes
    exchange.limiter.ban_ms = 1500
    exchange.throttle(1)
    balance = asyncio.create_task(client.balance())
    await until(lambda: len(sleeper.waits) == 2, 30, "the balance request waiting out the ban")
    positions = asyncio.create_task(client.positions())
    await until(lambda: len(sleeper.waits) == 3, 30, "the positions request waiting out the ban")
    assert not balance.done() and not positions.done()
    exchange.lift_limits()  # a real ban lasts minutes: the weight window has rolled too
    ban_over.set()
    assert (await asyncio.wait_for(balance, 30)).wallet == 10_000
    assert await asyncio.wait_for(positions, 30) == {}

    log = sent()
    assert [status for _, path, status in log if path == "/fapi/v3/balance"] == [429, 418, 200]
    assert [status for _, path, status in log if path == "/fapi/v2/positionRisk"] == [200]
    assert 0 < sleeper.waits[1] < 2 and 0 < sleeper.waits[2] < 2  # the ban, read from the 418 (to the clock sync's ms)


async def test_a_ban_longer_than_the_client_waits_raises_and_sends_nothing_more(
    client: VenueClient, exchange: LocalExchange, sleeper: Sleeper, sent: Sent
) -> None:
    exchange.ban(3600)
    for _ in range(2):
        with pytest.raises(VenueUnavailable, match=r"banned this IP for another 3[56]\d\d s .*max_ban_wait_s"):
            await client.balance()
    assert [status for *_, status in sent()] == [418]
    assert sleeper.waits == []


async def test_clock_skew_resyncs_and_the_order_goes_through_once(
    client: VenueClient, exchange: LocalExchange, sent: Sent
) -> None:
    exchange.set_clock_skew(30_000)
    order = await client.place_order(SYMBOL, Side.BUY, "MARKET", QTY, client_order_id="skewed")
    assert order.status == "FILLED"
    assert len(venue_orders(exchange, "skewed")) == 1
    assert [(path, status) for _, path, status in sent()] == [
        ("/fapi/v1/order", 400),
        ("/fapi/v1/time", 200),
        ("/fapi/v1/order", 200),
    ]
    assert client.usage()["resyncs"] == 1


@pytest.fixture(params=[False, True], ids=["ccxt", "order-line"])
async def either(
    request: pytest.FixtureRequest, exchange: LocalExchange, sleeper: Sleeper
) -> AsyncIterator[VenueClient]:
    """A client without order lines, then one with them: what holds for both paths."""
    c = VenueClient(exchange.ccxt_config(), sleep=sleeper, order_line=request.param)
    await c.start()
    try:
        yield c
    finally:
        await c.close()


@pytest.mark.parametrize(
    ("fault", "executed"),
    [("500", False), ("502", False), ("unknown-executed", True), ("unknown-not-executed", False)],
)
async def test_placement_with_unknown_outcome_is_never_resent(
    either: VenueClient, exchange: LocalExchange, sleeper: Sleeper, sent: Sent, fault: str, executed: bool
) -> None:
    """Through ccxt, or written on an order line by ``send_order_now``: the same rules."""
    c = either
    on_line = c.order_lines_open > 0
    if fault.startswith("unknown"):
        exchange.unknown_status(executed=executed)
    else:
        exchange.fail_requests(1, int(fault))
    answer = c.send_order_now(SYMBOL, Side.BUY, "MARKET", QTY, client_order_id="maybe") if on_line else None
    assert (answer is not None) is on_line
    with pytest.raises(OutcomeUnknown, match="query it by its client id"):
        await c.place_order(SYMBOL, Side.BUY, "MARKET", QTY, client_order_id="maybe", sent=answer)
    assert len(venue_orders(exchange, "maybe")) == int(executed)
    assert [path for _, path, _ in sent()].count("/fapi/v1/order") == 1
    found = await c.order(SYMBOL, "maybe")
    assert (found is not None and found.status == "FILLED") if executed else found is None
    assert sleeper.waits == []


def answered(sent: Sent, method: str, path: str) -> Callable[[], bool]:
    """Whether the venue has answered a ``method path`` request (to a client that may have given up on it)."""
    return lambda: any((m, p) == (method, path) for m, p, _ in sent())


async def test_placement_timeout_is_an_unknown_outcome(btc_frame: CandleFrame, sent: Sent) -> None:
    async with LocalExchange([btc_frame], warmup=300) as ex:
        c = VenueClient(ex.ccxt_config(timeout=300))
        await c.start()
        ex.set_latency(800)
        with pytest.raises(OutcomeUnknown, match="RequestTimeout"):
            await c.place_algo_order(
                SYMBOL, Side.SELL, "STOP_MARKET", price(ex, "0.5"), client_algo_id="late", close_position=True
            )
        ex.set_latency(0)
        await until(answered(sent, "POST", "/fapi/v1/algoOrder"), 30, "the venue finishing (or dropping) the request")
        found = await c.algo_order(SYMBOL, "late")
        await c.close()
    assert len([a for a in ex.engine.algos.values() if a.client_algo_id == "late"]) == int(found is not None)


async def test_cancel_with_unknown_outcome_is_never_resent(client: VenueClient, exchange: LocalExchange) -> None:
    await client.place_order(SYMBOL, Side.BUY, "LIMIT", QTY, price=price(exchange, "0.98"), client_order_id="keep")
    exchange.fail_requests(1, 500)
    with pytest.raises(OutcomeUnknown):
        await client.cancel_order(SYMBOL, "keep")
    (order,) = await client.open_orders(SYMBOL)
    assert order.client_order_id == "keep"


async def test_503_service_unavailable_was_not_processed_so_the_order_is_resent(
    client: VenueClient, exchange: LocalExchange, sleeper: Sleeper
) -> None:
    exchange.fail_requests(1, 503)
    order = await client.place_order(SYMBOL, Side.BUY, "MARKET", QTY, client_order_id="again")
    assert order.status == "FILLED" and len(venue_orders(exchange, "again")) == 1
    assert len(sleeper.waits) == 1


async def test_reads_retry_5xx_with_growing_backoff_then_give_up(
    client: VenueClient, exchange: LocalExchange, sleeper: Sleeper
) -> None:
    exchange.fail_requests(2, 500)
    assert (await client.balance()).wallet == 10_000
    first, second = sleeper.waits
    assert 0.1 <= first <= 0.2 < second <= 0.4

    exchange.fail_requests(3, 502)
    with pytest.raises(VenueUnavailable, match=r"gave up after 3 tries \(HTTP 502"):
        await client.positions()


async def test_reads_retry_timeouts(btc_frame: CandleFrame) -> None:
    async with LocalExchange([btc_frame], warmup=300) as ex:
        sleeper = Sleeper()

        async def network_recovers(seconds: float) -> None:
            ex.set_latency(0)

        sleeper.on_wait = network_recovers
        c = VenueClient(ex.ccxt_config(timeout=300), sleep=sleeper)
        await c.start()
        ex.set_latency(800)
        assert (await c.balance()).wallet == 10_000
        await c.close()
    assert len(sleeper.waits) == 1


async def test_requests_wait_for_the_budget_instead_of_meeting_429(btc_frame: CandleFrame, sent: Sent) -> None:
    async with LocalExchange([btc_frame], warmup=300, weight_limit=30) as ex:
        sleeper = Sleeper()

        async def minute_passes(seconds: float) -> None:
            ex.lift_limits()

        sleeper.on_wait = minute_passes
        c = VenueClient(ex.ccxt_config(), sleep=sleeper)
        await c.start()
        for _ in range(20):  # 100 weight: at least three minute windows of 30
            await c.positions()
        await c.close()
    assert all(status == 200 for *_, status in sent())
    assert len(sleeper.waits) >= 2 and all(0 < w <= 60 for w in sleeper.waits)
    assert c.usage()["waits"] == len(sleeper.waits)


# ------------------------------------------------------------------------------------------------ order lines
@pytest.fixture
async def lined(exchange: LocalExchange, sleeper: Sleeper) -> AsyncIterator[VenueClient]:
    """A client keeping order lines open, as the engine's does."""
    c = VenueClient(exchange.ccxt_config(), sleep=sleeper, order_line=True)
    await c.start()
    try:
        yield c
    finally:
        await c.close()


async def test_an_entry_on_an_order_line_has_left_when_send_order_now_returns(
    lined: VenueClient, exchange: LocalExchange, sent: Sent
) -> None:
    written: list[str] = []
    lined.on_order_written = written.append
    answer = lined.send_order_now(SYMBOL, Side.BUY, "MARKET", QTY, client_order_id="quick")
    assert answer is not None and written == ["quick"]
    order = await lined.place_order(SYMBOL, Side.BUY, "MARKET", QTY, client_order_id="quick", sent=answer)
    assert (order.status, order.executed_quantity) == ("FILLED", QTY)
    assert len(venue_orders(exchange, "quick")) == 1
    assert [(m, status) for m, path, status in sent() if path == "/fapi/v1/order"] == [("POST", 200)]
    assert lined.line_entries == 1 and lined.order_lines_open == 4


async def test_entries_beyond_the_ready_order_lines_go_through_ccxt(
    lined: VenueClient, exchange: LocalExchange
) -> None:
    limit = price(exchange, "0.97")
    answers = [
        lined.send_order_now(SYMBOL, Side.BUY, "LIMIT", QTY, price=limit, client_order_id=f"burst{i}") for i in range(5)
    ]
    assert [a is not None for a in answers] == [True, True, True, True, False]  # four lines, each busy until answered
    orders = await asyncio.gather(
        *(
            lined.place_order(SYMBOL, Side.BUY, "LIMIT", QTY, price=limit, client_order_id=f"burst{i}", sent=a)
            for i, a in enumerate(answers)
        )
    )
    assert [o.status for o in orders] == ["NEW"] * 5
    assert all(len(venue_orders(exchange, f"burst{i}")) == 1 for i in range(5))
    assert lined.send_order_now(SYMBOL, Side.BUY, "LIMIT", QTY, price=limit, client_order_id="after") is not None


@pytest.mark.parametrize("fault", ["503", "clock-skew"])
async def test_an_entry_the_venue_did_not_process_is_resent_once_through_ccxt(
    lined: VenueClient, exchange: LocalExchange, sent: Sent, fault: str
) -> None:
    if fault == "503":
        exchange.fail_requests(1, 503)
    else:
        exchange.set_clock_skew(30_000)
    answer = lined.send_order_now(SYMBOL, Side.BUY, "MARKET", QTY, client_order_id="again")
    order = await lined.place_order(SYMBOL, Side.BUY, "MARKET", QTY, client_order_id="again", sent=answer)
    assert order.status == "FILLED" and len(venue_orders(exchange, "again")) == 1
    assert [status for _, path, status in sent() if path == "/fapi/v1/order"] == [503 if fault == "503" else 400, 200]


async def test_a_refused_entry_on_an_order_line_carries_binances_code(
    lined: VenueClient, exchange: LocalExchange
) -> None:
    exchange.reject_orders(1, -2019)
    answer = lined.send_order_now(SYMBOL, Side.BUY, "MARKET", QTY, client_order_id="refused")
    with pytest.raises(OrderRejected) as caught:
        await lined.place_order(SYMBOL, Side.BUY, "MARKET", QTY, client_order_id="refused", sent=answer)
    assert caught.value.code == -2019 and venue_orders(exchange, "refused") == []


async def test_an_order_line_that_times_out_is_an_unknown_outcome_and_reopens(
    btc_frame: CandleFrame, caplog: pytest.LogCaptureFixture, sent: Sent
) -> None:
    async with LocalExchange([btc_frame], warmup=300) as ex:
        c = VenueClient(ex.ccxt_config(timeout=300), order_line=True)
        await c.start()
        ex.set_latency(800)
        answer = c.send_order_now(SYMBOL, Side.BUY, "MARKET", QTY, client_order_id="late")
        with pytest.raises(OutcomeUnknown, match="RequestTimeout"):
            await c.place_order(SYMBOL, Side.BUY, "MARKET", QTY, client_order_id="late", sent=answer)
        assert c.order_lines_open == 3  # the late answer can no longer be matched: that connection is dropped
        ex.set_latency(0)
        await until(lambda: c.order_lines_open == 4, 30, "the dropped order line reopening")
        await until(answered(sent, "POST", "/fapi/v1/order"), 30, "the venue finishing the held request")
        found = await c.order(SYMBOL, "late")
        await c.close()
        key, secret = ex.credentials.api_key, ex.credentials.api_secret
    assert len(venue_orders(ex, "late")) == int(found is not None)
    assert key not in caplog.text and secret not in caplog.text


async def test_idle_order_lines_are_pinged_so_the_venue_keeps_them_open(exchange: LocalExchange, sent: Sent) -> None:
    """The keeper runs on the client's clock: a line is pinged once it has been idle for 20 s of it, not before."""
    clock = ManualClock()
    c = VenueClient(exchange.ccxt_config(), clock=clock, order_line=True)
    await c.start()

    def pings() -> list[int]:
        return [status for _, path, status in sent() if path == "/fapi/v1/ping"]

    try:
        await clock.advance(19)
        assert pings() == [] and clock.sleeping == 1
        await clock.advance(1)
        await until(lambda: len(pings()) >= 4, 30, "four pings")
        assert pings() == [200] * 4
        assert c.order_lines_open == 4
    finally:
        await c.close()
