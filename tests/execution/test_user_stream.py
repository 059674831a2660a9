"""``UserStream`` against the local exchange over a real WebSocket: fills arrive as typed events, and every way a
connection or listen key dies ends in ``StreamReconnected`` with events flowing again."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest

from helpers import until
from helpers.clocks import AskedClock
from ictbot.data.frame import CandleFrame
from ictbot.data.loaders import load_candles
from ictbot.domain import Side
from ictbot.exchange import LocalExchange
from ictbot.execution.client import VenueClient
from ictbot.execution.user_stream import (
    AccountUpdate,
    AlgoUpdate,
    OrderUpdate,
    StreamReconnected,
    UserEvent,
    UserStream,
    parse_event,
)
from ictbot.kernel.clock import ManualClock

DATA = Path(__file__).parent.parent / "data"
SYMBOL = "BTCUSDT"
QTY = Decimal("0.010")
WAIT_S = 5.0  # a bound on waiting for an event, not a timing assertion


@pytest.fixture(scope="module")
def btc_frame() -> CandleFrame:
    return load_candles(DATA / "BTC_USDT_USDT-1m-futures.feather").slice(0, 600)


@pytest.fixture
async def exchange(btc_frame: CandleFrame) -> AsyncIterator[LocalExchange]:
    async with LocalExchange([btc_frame], warmup=300) as ex:
        yield ex


@pytest.fixture
async def client(exchange: LocalExchange) -> AsyncIterator[VenueClient]:
    c = VenueClient(exchange.ccxt_config())
    await c.start()
    try:
        yield c
    finally:
        await c.close()


class Listener:
    """Consumes a stream in a task; the test takes its events in order."""

    def __init__(self, stream: UserStream, exchange: LocalExchange) -> None:
        self.exchange = exchange
        self.events: asyncio.Queue[UserEvent] = asyncio.Queue()
        self.seen: list[UserEvent] = []
        self.task = asyncio.create_task(self._run(stream))

    async def _run(self, stream: UserStream) -> None:
        async for event in stream.events():
            self.events.put_nowait(event)

    async def next(self, kind: type, **fields: object) -> UserEvent:
        """The next event of ``kind`` with these field values (others are skipped)."""
        while True:
            event = await asyncio.wait_for(self.events.get(), WAIT_S)
            self.seen.append(event)
            if isinstance(event, kind) and all(getattr(event, k) == v for k, v in fields.items()):
                return event

    async def connected(self) -> None:
        """Until the venue has a connection on its live listen key (events before that would be lost)."""
        hub = self.exchange.hub
        live = lambda: hub.listen_key and any(c.listen_key == hub.listen_key.key for c in hub.connections)  # noqa: E731
        await until(lambda: bool(live()), WAIT_S, "the user stream connected")

    async def stop(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


@pytest.fixture
async def make_listener(exchange: LocalExchange, client: VenueClient) -> AsyncIterator:
    listeners: list[Listener] = []

    async def make(**options: object) -> Listener:
        listener = Listener(UserStream(client, exchange.ws_url, **options), exchange)
        listeners.append(listener)
        await listener.connected()
        assert await listener.next(StreamReconnected) == StreamReconnected("connected")
        return listener

    yield make
    for listener in listeners:
        await listener.stop()


async def buy(client: VenueClient, client_order_id: str) -> None:
    await client.place_order(SYMBOL, Side.BUY, "MARKET", QTY, client_order_id=client_order_id)


async def test_a_fill_arrives_as_order_and_account_updates(
    make_listener, client: VenueClient, exchange: LocalExchange
) -> None:
    beats: list[None] = []
    listener = await make_listener(beat=lambda: beats.append(None))
    await buy(client, "buy-1")

    new = await listener.next(OrderUpdate, client_order_id="buy-1")
    assert (new.execution_type, new.status, new.side, new.quantity, new.cumulative_quantity) == (
        "NEW",
        "NEW",
        Side.BUY,
        QTY,
        0,
    )
    fill = await listener.next(OrderUpdate, client_order_id="buy-1")
    (trade,) = exchange.engine.trades
    assert (fill.execution_type, fill.status, fill.order_id) == ("TRADE", "FILLED", trade.order_id)
    assert (fill.last_filled_quantity, fill.last_filled_price, fill.cumulative_quantity) == (QTY, trade.price, QTY)
    assert (fill.average_price, fill.commission, fill.trade_id, fill.maker) == (
        trade.price,
        trade.commission,
        trade.trade_id,
        False,
    )
    account = await listener.next(AccountUpdate)
    (position,) = account.positions
    assert (account.reason, position.symbol, position.quantity, position.isolated) == ("ORDER", SYMBOL, QTY, False)
    assert account.balances[0].wallet == exchange.engine.wallet
    assert beats


async def test_algo_orders_arrive_as_algo_updates(make_listener, client: VenueClient, exchange: LocalExchange) -> None:
    listener = await make_listener()
    await buy(client, "entry")
    trigger = (exchange.replay.feeds[SYMBOL].last_price * Decimal("0.5")).quantize(Decimal("0.1"))
    await client.place_algo_order(SYMBOL, Side.SELL, "STOP_MARKET", trigger, client_algo_id="stop", close_position=True)
    placed = await listener.next(AlgoUpdate, client_algo_id="stop")
    assert (placed.status, placed.trigger_price, placed.close_position, placed.actual_order_id) == (
        "NEW",
        trigger,
        True,
        None,
    )
    await client.cancel_algo_order(SYMBOL, "stop")
    assert (await listener.next(AlgoUpdate, client_algo_id="stop")).status == "CANCELED"


async def test_the_first_connection_also_asks_for_a_reconciliation(
    client: VenueClient, exchange: LocalExchange
) -> None:
    """A stream started again (its stage crashed and was restarted) missed the events in between, though its first
    connection is clean: it must say so before any event."""
    listener = Listener(UserStream(client, exchange.ws_url), exchange)
    try:
        await listener.connected()
        await buy(client, "first")
        await listener.next(OrderUpdate, client_order_id="first")
        assert listener.seen[0] == StreamReconnected("connected")
    finally:
        await listener.stop()


async def test_a_dropped_connection_reconnects_and_events_keep_flowing(
    make_listener, client: VenueClient, exchange: LocalExchange
) -> None:
    """The reconnect waits its backoff on the stream's clock: the test moves that clock past it."""
    clock = AskedClock()
    listener = await make_listener(backoff_s=0.05, sleep=clock.sleep)
    assert exchange.drop_websockets() == 1
    backoffs = lambda: [w for w in clock.asked if w != 1800]  # noqa: E731 (the rest are keepalive turns)
    await until(lambda: bool(backoffs()), WAIT_S, "the reconnect backoff")
    (backoff,) = backoffs()
    assert 0.025 <= backoff <= 0.05  # the first backoff, with jitter of 0.5 to 1
    assert listener.events.empty(), "nothing reconnects before the backoff has passed on the clock"
    await clock.advance(backoff)
    reconnected = await listener.next(StreamReconnected)
    assert reconnected.reason.startswith("connection closed")

    await listener.connected()
    await buy(client, "after-drop")
    assert (await listener.next(OrderUpdate, client_order_id="after-drop", status="FILLED")).cumulative_quantity == QTY


async def test_a_silent_dead_connection_is_found_by_heartbeats(
    make_listener, client: VenueClient, exchange: LocalExchange
) -> None:
    """The venue stops reading (no pong, no close frame), as after a cut cable; the pings find it."""
    listener = await make_listener(heartbeat_s=0.2)
    transports = [conn.request.transport for conn in exchange.hub.connections]
    for transport in transports:
        transport.pause_reading()
    try:
        assert "No PONG" in (await listener.next(StreamReconnected)).reason
    finally:
        for transport in transports:
            transport.resume_reading()
    await listener.connected()
    await buy(client, "after-silence")
    assert (await listener.next(OrderUpdate, client_order_id="after-silence", status="FILLED")).status == "FILLED"


async def test_an_expired_listen_key_is_renewed_and_events_keep_flowing(
    make_listener, client: VenueClient, exchange: LocalExchange
) -> None:
    listener = await make_listener()
    old_key = exchange.hub.listen_key.key
    assert exchange.expire_listen_key()
    assert await listener.next(StreamReconnected) == StreamReconnected("listen key expired")

    await listener.connected()
    assert exchange.hub.listen_key.key != old_key
    await buy(client, "after-expiry")
    assert (await listener.next(OrderUpdate, client_order_id="after-expiry", status="FILLED")).status == "FILLED"


async def test_a_keepalive_refused_with_1125_renews_the_key(
    make_listener, client: VenueClient, exchange: LocalExchange
) -> None:
    """The key vanished without a ``listenKeyExpired`` push (deleted elsewhere): only the keepalive can tell."""
    listener = await make_listener(keepalive_s=0.1)
    exchange.hub.close_listen_key()
    assert await listener.next(StreamReconnected) == StreamReconnected("listen key expired (keepalive -1125)")

    await listener.connected()
    await buy(client, "after-renewal")
    assert (await listener.next(OrderUpdate, client_order_id="after-renewal", status="FILLED")).status == "FILLED"


async def test_keepalives_keep_a_short_lived_key_alive(btc_frame: CandleFrame) -> None:
    """The venue's key lives 1 s of its real time; the stream's keepalive runs every 60 s of the stream's clock, which
    the test moves on whenever half the key's life is left, four times: the key outlives its first life twice over."""
    async with LocalExchange([btc_frame], warmup=300, listen_key_ttl_ms=1000) as ex:
        c = VenueClient(ex.ccxt_config())
        await c.start()
        clock = ManualClock()
        listener = Listener(UserStream(c, ex.ws_url, keepalive_s=60, sleep=clock.sleep), ex)
        await listener.connected()
        key = ex.hub.listen_key
        first_expiry = key.expires_at
        for turn in range(4):
            expiry = key.expires_at
            await until(lambda expiry=expiry: ex.wall_time() >= expiry - 500, WAIT_S, "half the key's life")
            await clock.advance(60)
            await until(lambda expiry=expiry: key.expires_at > expiry, WAIT_S, f"keepalive {turn + 1}")
        assert ex.hub.listen_key is key and key.expires_at >= first_expiry + 2000
        await buy(c, "still-alive")
        await listener.next(OrderUpdate, client_order_id="still-alive", status="FILLED")
        assert [e for e in listener.seen if isinstance(e, StreamReconnected)] == [StreamReconnected("connected")]
        await listener.stop()
        await c.close()


async def test_a_refused_connection_is_retried_with_exponential_backoff(
    client: VenueClient, exchange: LocalExchange
) -> None:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        await asyncio.sleep(0)

    listener = Listener(UserStream(client, exchange.ws_url + "/nowhere", backoff_s=0.01, sleep=sleep), exchange)
    try:
        await until(lambda: len(waits) >= 3, WAIT_S, "three reconnect attempts")
        assert waits[0] <= 0.01 < waits[2] <= 0.04
    finally:
        await listener.stop()


def test_unknown_events_are_ignored() -> None:
    assert parse_event({"e": "MARGIN_CALL", "E": 1}) is None
    assert parse_event({"e": "TRADE_LITE", "E": 1}) is None
