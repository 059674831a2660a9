"""The example plug-in on the local exchange (replay, orders through ccxt on the venue): its break-even move becomes a
new stop-loss placed before the old one is cancelled, so the position is never unprotected and the exchange then holds
exactly one stop, at the entry (reduce-only: Binance refuses a second close-position stop of a side, -4130); its
partial take-profit is a reduce-only market order for half the position. Fills and trades are booked with the same
reasons as the backtest's."""

import asyncio
import sqlite3
from decimal import Decimal
from pathlib import Path

import numpy as np

from helpers import until
from ictbot.backtest.runner import run_backtest
from ictbot.compose import build_engine
from ictbot.config import load_settings
from ictbot.data.loaders import load_candles, write_parquet
from ictbot.storage import open_recorder

EXAMPLE = Path(__file__).parents[2] / "examples" / "strategies" / "ote_killzone.py"


async def test_break_even_move_and_partial_on_the_venue(data_dir, tmp_path):
    eth = load_candles(data_dir / "ETH_USDT_USDT-1m-futures.feather")
    start = int(np.searchsorted(eth.open_time, 1_748_476_800_000))  # 2025-05-29T00:00Z
    data = tmp_path / "ETHUSDT-1m.parquet"
    frame = eth.slice(start, start + 2000)
    write_parquet(frame, data)
    settings = load_settings(
        symbols=["ETHUSDT"],
        replay={"speed": 12_000, "warmup": 300, "data": [str(data)], "stop_at_end": False},
        strategy={"path": str(EXAMPLE)},
        data_dir=str(tmp_path / "data"),
        execution={"unknown_order_settle_s": 0.05},
        api={"enabled": False},
    )
    recorder = open_recorder(f"sqlite:///{tmp_path / 'bot.sqlite'}")
    engine = build_engine(settings, recorder)
    stop = asyncio.Event()
    task = asyncio.create_task(engine.run(stop))
    try:
        await asyncio.wait_for(engine.ready.wait(), 60)
        exchange = engine.exchange
        await until(lambda: exchange.replay.finished, seconds=180)
        await until(lambda: not engine.orders.busy, seconds=180)

        def closed_out() -> bool:
            """The stream's last events are in: the target's fill and the trade booked, the last stop cancelled."""
            stops_open = any(a.symbol == "ETHUSDT" for a in exchange.engine.open_algos())
            booked = len(recorder.fills(symbol="ETHUSDT")) >= 3 and len(recorder.trades(symbol="ETHUSDT")) >= 1
            return booked and not stops_open and not engine.orders.busy

        await until(closed_out, seconds=60, what="the position's last fill booked and its stop cancelled")
        algos = sorted((a for a in exchange.engine.algos.values() if a.symbol == "ETHUSDT"), key=lambda a: a.algo_id)
        orders: dict[int, tuple[str, Decimal]] = {}
        for t in exchange.engine.trades:
            if t.symbol == "ETHUSDT":
                side, quantity = orders.get(t.order_id, (t.side, Decimal(0)))
                orders[t.order_id] = (side, quantity + t.qty)
        trades = list(orders.values())
        position = exchange.engine.position("ETHUSDT", "BOTH")
    finally:
        stop.set()
        await asyncio.wait_for(task, 60)
    stops = [a for a in algos if a.order_type == "STOP_MARKET"]
    # The short entered at 2,637.53 (0.056 ETH): one original stop above the leg, then one at the entry.
    assert [a.trigger_price for a in stops][1:] == [Decimal("2637.53")] and stops[0].trigger_price > Decimal("2640")
    first, moved = stops
    assert first.status == "CANCELED" and moved.create_time <= first.update_time
    assert first.close_position and not moved.close_position
    assert moved.reduce_only and moved.quantity == Decimal("0.056"), "the whole entry, clipped to what is left"

    assert moved.status != "NEW", "once the target was taken the remaining stop was cancelled"
    assert trades[0] == ("SELL", Decimal("0.056")) and ("BUY", Decimal("0.028")) in trades[1:]
    assert position.amount == 0
    # The database saw the new stop acknowledged before the old one was cancelled: never a moment without a stop.
    with sqlite3.connect(tmp_path / "bot.sqlite") as db:
        order = dict(db.execute("SELECT client_order_id, id FROM orders WHERE client_order_id LIKE '%-sl%'").fetchall())
        rows = db.execute("SELECT order_id, state FROM order_transitions ORDER BY id").fetchall()
    old_id, new_id = (order[cid] for cid in sorted(order, key=len))
    acknowledged = rows.index((new_id, "acknowledged"))
    cancelled = rows.index((old_id, "cancelled"))
    assert acknowledged < cancelled
    # Booked as the backtest books them: the partial under the strategy's reason, the rest at the target.
    with sqlite3.connect(tmp_path / "bot.sqlite") as db:
        fills = db.execute("SELECT side, quantity, reason FROM fills ORDER BY time, id").fetchall()
        exits = [r for (r,) in db.execute("SELECT exit_reason FROM trades ORDER BY entry_time")]
    assert fills == [("SELL", "0.056", "entry"), ("BUY", "0.028", "partial"), ("BUY", "0.028", "target")]
    assert exits == ["target"]
    backtest = run_backtest(settings, [frame])
    assert [(f.side.value, str(f.quantity), f.reason) for f in backtest.portfolio.fills] == fills
    assert [t.exit_reason for t in backtest.trades] == exits
