"""The periodic reconciliation runs on the engine's injected market clock: a bot whose clocks are manual finds what
the venue holds behind its back when the clock reaches the order-sync period, and not a market second before.

The bot runs in live mode against the local exchange over real HTTP and WebSocket with a real SQLite database; only
time is the test's (the composition takes a ``ManualClock`` for the market and another for the wall).
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from helpers import running, until, user_stream_connected
from ictbot.compose import build_engine
from ictbot.config import load_settings
from ictbot.data.loaders import load_candles
from ictbot.exchange import LocalExchange
from ictbot.kernel.clock import ManualClock
from ictbot.runtime.order_sync import ORDER_SYNC_S
from ictbot.storage import EventKind, open_recorder

from .harness import live_settings

SYMBOL = "ETHUSDT"
ORPHAN = "ict-left-by-another-process"


def _reconciliation_age(engine, clock: ManualClock) -> float | None:
    """Market seconds since the last successful reconciliation, as readiness reports it."""
    readiness = engine.health.readiness(clock.now_ms())
    [check] = [c for c in readiness.checks if c.name == "reconciliation"]
    return check.age_seconds


def _reconciliations(engine, recorder) -> int:
    """Reconciliations recorded so far (the writer thread is asked to catch up first)."""
    engine.recording.writer.submit(lambda: None).result(timeout=30)
    return len(recorder.events(kind=EventKind.RECONCILIATION))


def _open_on_venue(exchange: LocalExchange) -> set[str]:
    return {o.client_order_id for o in exchange.engine.open_orders(SYMBOL)}


def test_a_replay_cannot_take_a_market_clock_of_its_own(tmp_path):
    """A replay's market time is what the exchange replays: a clock passed for it is refused, not silently ignored."""
    settings = load_settings(mode="replay", data_dir=str(tmp_path / "data"), api={"enabled": False})
    with pytest.raises(ValueError, match="replayed time"):
        build_engine(settings, clock=ManualClock())


async def test_order_sync_cancels_an_unrecorded_order_at_its_period_and_not_before(data_dir, tmp_path):
    frame = load_candles(data_dir / "ETH_USDT_USDT-1m-futures.feather").slice(0, 400)
    async with LocalExchange([frame], warmup=300) as exchange:
        settings = live_settings(exchange, [SYMBOL], data_dir=str(tmp_path / "data"), api={"enabled": False})
        recorder = open_recorder(f"sqlite:///{tmp_path / 'bot.sqlite'}")
        market = ManualClock(int(exchange.replay.now))
        engine = build_engine(settings, recorder, wall=ManualClock(), clock=market)
        async with running(engine):
            assert engine.clock is market, "the engine reads the clock the composition was given"
            # reconciled at start and once the account's event stream is open (it reconciles on every connect)
            await until(lambda: user_stream_connected(exchange), seconds=30, what="the user-data stream open")
            await until(lambda: _reconciliations(engine, recorder) == 2, seconds=30, what="the stream's reconciliation")
            assert _reconciliation_age(engine, market) == 0.0, "no market time has passed on the manual clock"
            # An order of the bot's (by its client id) that the database never held: left by a process that
            # crashed after sending it and before recording it, say.
            feed = exchange.replay.feeds[SYMBOL]
            price = (feed.last_price * Decimal("0.98")).quantize(feed.spec.tick_size)
            exchange.engine.place_order(
                {"symbol": SYMBOL, "side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "quantity": "0.050",
                 "price": str(price), "newClientOrderId": ORPHAN}
            )  # fmt: skip
            assert recorder.order_by_client_id(ORPHAN) is None

            await market.advance(ORDER_SYNC_S - 1)
            # a round trip through the bot's own venue client: the event loop has served the venue since then
            assert ORPHAN in {o.client_order_id for o in await engine.venue.open_orders(SYMBOL)}
            await engine.records_written()
            assert ORPHAN in _open_on_venue(exchange), "no reconciliation before the period has passed"
            assert len(recorder.events(kind=EventKind.RECONCILIATION)) == 2, "no reconciliation since the stream's"
            assert _reconciliation_age(engine, market) == ORDER_SYNC_S - 1

            await market.advance(1)
            await until(lambda: ORPHAN not in _open_on_venue(exchange), seconds=30, what="the orphan cancelled")
            await until(lambda: _reconciliation_age(engine, market) == 0.0, seconds=30, what="reconciled at the tick")
            await engine.records_written()
            events = recorder.events(kind=EventKind.RECONCILIATION)
            assert len(events) == 3
            assert "1 orphan(s) cancelled" in events[0].detail
            [order] = [o for o in exchange.engine.orders.values() if o.client_order_id == ORPHAN]
            assert order.status == "CANCELED"
