"""The account's events from the venue's user-data stream: fills and order states as they happen, funding into the
account, and a reconciliation after any reconnect."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from decimal import Decimal

from ictbot.execution.client import VenueClient
from ictbot.execution.orders import OrderManager
from ictbot.execution.user_stream import AccountUpdate, AlgoUpdate, OrderUpdate, StreamReconnected, UserStream
from ictbot.kernel.clock import Clock
from ictbot.kernel.pipeline import Pipeline
from ictbot.runtime.supervisor import StageContext, StageFactory
from ictbot.storage import Recorder

log = logging.getLogger("ictbot.engine")


def user_stream_stage(
    venue: VenueClient,
    ws_url: str,
    orders: OrderManager,
    wall: Clock,
    funding: Callable[[AccountUpdate], None],
    reconcile: Callable[[], Awaitable[bool]],
    handled: Callable[[], None] | None = None,
) -> StageFactory:
    """The ``user-stream`` stage. Its reconnect backoff and listen-key keepalive run on the wall clock, as the
    supervisor's backoff does; ``handled`` is called after each event message is acted on."""

    async def user_stream(ctx: StageContext) -> None:
        stream = UserStream(venue, ws_url, beat=ctx.beat, sleep=wall.sleep, handled=handled)
        async for event in stream.events():
            ctx.beat()
            if isinstance(event, OrderUpdate):
                await orders.on_order_update(event)
            elif isinstance(event, AlgoUpdate):
                await orders.on_algo_update(event)
            elif isinstance(event, AccountUpdate) and event.reason == "FUNDING_FEE":
                funding(event)
            elif isinstance(event, StreamReconnected):
                log.warning("user-data stream reconnected (%s); reconciling", event.reason)
                await reconcile()

    return user_stream


def book_funding(
    pipeline: Pipeline, record: Callable[..., None], recorder: Recorder | None, event: AccountUpdate
) -> None:
    """The venue's funding settlement into the account and the database (one symbol per event here)."""
    amount = sum((b.change for b in event.balances if b.asset == "USDT"), Decimal(0))
    symbols = [p.symbol for p in event.positions] or [""]
    pipeline.portfolio.book_funding(symbols[0], amount)
    log.info("funding %s USDT on %s", amount, ", ".join(symbols))
    if recorder is not None:
        record(recorder.record_funding, symbols[0], event.time, amount)
