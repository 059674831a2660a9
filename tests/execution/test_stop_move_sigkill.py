"""A real SIGKILL in the middle of a strategy's stop move: the bot (``ictbot run``, live mode against the local
exchange) is killed the instant the venue accepts the moved stop, before the old one is cancelled. The restarted bot
finds the position protected by both, keeps the moved one, cancels the old one, and every crash-safety invariant holds:
exactly one stop, at the moved price."""

from __future__ import annotations

import signal
from decimal import Decimal
from pathlib import Path
from typing import Any

from helpers import BotProcess, bot_config, user_stream_connected
from ictbot.data.loaders import load_candles
from ictbot.exchange import LocalExchange
from ictbot.execution.orders import STOP_LOSS, split_id
from ictbot.storage import open_recorder

from .harness import DATA, assert_consistent, venue_state
from .test_sigkill import SYMBOL

# Buys at market on a 5m close, stop 3 % under, target 3 % over; once in the position it moves the stop to 0.5 %
# under the entry. The replayed candles span less than 2 %, so neither the entry's stop nor its target can trade: the
# position is still open, under its first stop, whenever the moved one reaches the venue, however late the bot is.
# (With a 1 % stop a slow move met the market on the other side: the first stop closed the position while the moved
# one was on its way, which is the venue doing its job, not the crash this test is about.)
MOVER = """
from ictbot.sdk import Context, OrderType, Side, Signal, Strategy, StrategySettings, Timeframe


class MoverSettings(StrategySettings):
    entry_timeframe: Timeframe = Timeframe.M5


class Mover(Strategy[MoverSettings]):
    name = "mover"
    Settings = MoverSettings

    def on_candle(self, ctx: Context):
        if ctx.position is not None:
            return []
        c = ctx.candle.close
        return [Signal(ctx.symbol, Side.BUY, c, c * 0.97, c * 1.03, ctx.time, "mover", OrderType.MARKET)]

    def manage(self, ctx: Context):
        p = ctx.position
        moved = round(p.entry_price * 0.995, 1)
        return [ctx.move_stop(moved, "tighter")] if p.stop is not None and p.stop < moved - 0.05 else []
"""

WARMUP = 400


def placed_moved_stop(payload: dict[str, Any]) -> str | None:
    """The client id of a second-generation stop-loss the venue has just accepted."""
    algo = payload["o"] if payload.get("e") == "ALGO_UPDATE" else {}
    cid = str(algo.get("caid", ""))
    return cid if split_id(cid)[1] == STOP_LOSS and cid.endswith("-sl2") and algo["X"] == "NEW" else None


async def test_killed_between_placing_the_moved_stop_and_cancelling_the_old_one(tmp_path: Path) -> None:
    frame = load_candles(DATA / "BTC_USDT_USDT-1m-futures.feather").slice(0, 1500)
    replayed = slice(WARMUP, None)
    assert frame.high[replayed].max() < frame.low[replayed].min() * 1.02, "the entry's levels stay untouched"
    (tmp_path / "mover.py").write_text(MOVER)
    async with LocalExchange([frame], warmup=WARMUP) as exchange:
        strategy = {"path": str(tmp_path / "mover.py")}
        bot = BotProcess(bot_config(tmp_path, exchange, SYMBOL, strategy), tmp_path / "bot.out")
        bot.start()
        killed: list[str] = []
        publish = exchange.engine.sink

        def kill(payload: dict[str, Any]) -> None:
            publish(payload)
            moved = None if killed else placed_moved_stop(payload)
            if moved is not None:
                bot.kill()  # the old stop is still open: its cancel is never sent
                exchange.stop_clock()
                killed.append(moved)

        exchange.engine.sink = kill
        try:
            await bot.until(lambda: user_stream_connected(exchange), "the bot is up")
            exchange.start_clock(3000)
            await bot.until(lambda: bool(killed), "the moved stop reaches the venue")
            assert await bot.exit_code() == -signal.SIGKILL
            moved = killed[0]
            entry = split_id(moved)[0]
            both = {cid for cid, a in venue_state(exchange)["open_algos"].items() if a.order_type == "STOP_MARKET"}
            assert both == {f"{entry}-sl", moved}, "killed with two stops open: protected throughout"
            await bot.restart_and_stop(exchange)
        finally:
            bot.reap()

        recorder = open_recorder(f"sqlite:///{tmp_path / 'ictbot.sqlite'}")
        assert_consistent(exchange, recorder, [SYMBOL])
        venue = venue_state(exchange)
        assert venue["positions"], "the position is still open, and protected"
        entry_price = exchange.engine.position(SYMBOL, "BOTH").entry_price
        stops = {cid: a.trigger_price for cid, a in venue["open_algos"].items() if a.order_type == "STOP_MARKET"}
        assert stops == {moved: round(entry_price * Decimal("0.995"), 1)}
        assert recorder.order_by_client_id(f"{entry}-sl").state == "cancelled"
