"""A real SIGKILL: the bot runs as its own process (``ictbot run``, live mode against the local exchange on loopback),
is killed with SIGKILL the instant the venue accepts its first entry (the market then trades at its limit, so it
fills: a position the dead bot never heard of, no stop yet),
or that entry's stop-loss — before the answer reaches the bot — and is started again on the same data directory and
database. The restarted bot reconciles, is stopped with SIGINT,
and the crash-safety invariants hold: no client id twice on the venue, every position with exactly one close-position
stop, the database's open orders are the venue's, and the booked fills add up to the venue's positions.

The exchange runs in the test's process, so the kill is synchronous with the venue accepting the order: the market
stands still from the kill on — from the entry's fill on, when the kill waits for the stop-loss, so that however slowly
a busy machine lets the bot place it, neither level is crossed meanwhile — and what the restarted bot finds is exactly
what the killed one left.
"""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Any

import pytest

from helpers import BotProcess, bot_config, user_stream_connected
from ictbot.data.loaders import load_candles
from ictbot.domain import Side
from ictbot.exchange import LocalExchange
from ictbot.execution.orders import ORDER_STATES, STOP_LOSS, split_id
from ictbot.storage import open_recorder

from .harness import DATA, assert_consistent, venue_state

SYMBOL = "BTCUSDT"


def placed_entry(payload: dict[str, Any]) -> str | None:
    """The client id of one of the bot's entries the venue has just accepted."""
    order = payload["o"] if payload.get("e") == "ORDER_TRADE_UPDATE" else {}
    cid = str(order.get("c", ""))
    return cid if cid.startswith("ict-") and split_id(cid)[1] == "" and order["x"] == "NEW" else None


def placed_stop(payload: dict[str, Any]) -> str | None:
    """The entry whose stop-loss the venue has just accepted."""
    algo = payload["o"] if payload.get("e") == "ALGO_UPDATE" else {}
    entry, kind = split_id(str(algo.get("caid", "")))
    return entry if kind == STOP_LOSS and algo["X"] == "NEW" else None


def filled_entry(payload: dict[str, Any]) -> bool:
    """The venue has just filled one of the bot's entries."""
    order = payload["o"] if payload.get("e") == "ORDER_TRADE_UPDATE" else {}
    cid = str(order.get("c", ""))
    return cid.startswith("ict-") and split_id(cid)[1] == "" and order["X"] == "FILLED"


KILL_POINTS = {"its entry reaches the venue": placed_entry, "its stop-loss reaches the venue": placed_stop}


@pytest.mark.parametrize("point", list(KILL_POINTS))
async def test_a_bot_killed_with_sigkill_restarts_into_a_safe_state(
    tmp_path: Path, point: str, database_url: str
) -> None:
    frame = load_candles(DATA / "BTC_USDT_USDT-1m-futures.feather").slice(0, 1500)
    async with LocalExchange([frame], warmup=400) as exchange:
        bot = BotProcess(
            bot_config(tmp_path, exchange, SYMBOL, {"name": "fvg_retrace"}, database_url), tmp_path / "bot.out"
        )
        bot.start()
        killed: list[str] = []
        publish = exchange.engine.sink

        def kill(payload: dict[str, Any]) -> None:
            publish(payload)
            if point == "its stop-loss reaches the venue" and filled_entry(payload):
                exchange.stop_clock()
            entry = None if killed else KILL_POINTS[point](payload)
            if entry is not None:
                bot.kill()  # while the venue handles the request: no answer reaches the bot
                exchange.stop_clock()
                killed.append(entry)
                if point == "its entry reaches the venue":  # the market trades at its limit once it is accepted
                    asyncio.get_running_loop().call_soon(trade_at_entry, entry)

        def trade_at_entry(entry: str) -> None:
            order = next(o for o in exchange.engine.orders.values() if o.client_order_id == entry)
            exchange.engine.on_tick(SYMBOL, order.price, False)

        exchange.engine.sink = kill
        try:
            await bot.until(lambda: user_stream_connected(exchange), "the bot is up")
            exchange.start_clock(3000)
            await bot.until(lambda: bool(killed), "the kill point")
            assert await bot.exit_code() == -signal.SIGKILL
            entry = killed[0]
            await bot.restart_and_stop(exchange)
        finally:
            bot.reap()

        recorder = open_recorder(database_url)
        assert_consistent(exchange, recorder, [SYMBOL])
        venue = venue_state(exchange)
        assert venue["orders"].count(entry) == 1
        record = recorder.order_by_client_id(entry)
        on_venue = next(o for o in exchange.engine.orders.values() if o.client_order_id == entry)
        assert record.state == ORDER_STATES[on_venue.status]
        assert record.filled_quantity == on_venue.executed_qty
        assert on_venue.status == "FILLED" and record.filled_quantity > 0, "the killed bot's entry filled"
        assert venue["positions"] == {SYMBOL: record.filled_quantity * Side(record.intent.side).sign}
        protective = {cid: (a.order_type, a.trigger_price) for cid, a in venue["open_algos"].items()}
        assert protective == {
            f"{entry}-sl": ("STOP_MARKET", record.intent.stop),
            f"{entry}-tp": ("TAKE_PROFIT_MARKET", record.intent.target),
        }, "the restarted bot adopts the fill and its stop (never placed twice), and adds what is missing"
        runs = recorder.runs()
        assert sorted(r.stopped_at is None for r in runs) == [False, True], "one run killed, one stopped"
