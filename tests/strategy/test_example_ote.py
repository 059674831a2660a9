"""The example plug-in outside the package (examples/strategies/ote_killzone.py): an OTE entry in the killzones that
moves its stop to break-even and takes partial profit — in the backtest's fill model, identical on both paths, and
passing the conformance kit."""

from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from ictbot.backtest.runner import run_backtest, run_backtest_stepwise
from ictbot.config import load_settings
from ictbot.data.frame import iso
from ictbot.data.loaders import load_candles
from ictbot.sdk import MoveStop, TakePartial
from ictbot.strategy_tools import check_strategy

EXAMPLE = Path(__file__).parents[2] / "examples" / "strategies" / "ote_killzone.py"


@pytest.fixture(scope="module")
def frames(data_dir):
    return [load_candles(data_dir / f"{n}_USDT_USDT-1m-futures.feather") for n in ("BTC", "ETH")]


def _settings(**strategy):
    return load_settings(symbols=["BTCUSDT", "ETHUSDT"], strategy={"path": str(EXAMPLE), **strategy})


@pytest.fixture(scope="module")
def result(frames):
    return run_backtest(_settings(), frames)


def _fills(result, trade):
    return [(f.reason, str(f.quantity), str(f.price), iso(f.time)) for f in result.portfolio.fills
            if f.client_order_id == trade.client_order_id]  # fmt: skip


def test_partial_profit_at_one_r_then_the_rest_at_target(result, frames):
    # ETH short from the OTE at 2,637.53 (0.056 ETH): the 07:22 candle (open 2,635.34, low 2,635.06, high 2,642.37)
    # reached it on its way to the high, the path's tick at :40. The 07:30 5m candle closed 1 R in favour, so the stop
    # moved to the entry and half the position was bought back at the next candle's open (07:35, taker, one tick of
    # slippage); the other half reached the target of 2,606.99 at the 08:04 candle's low (its :20 tick) and was bought
    # back as the live TAKE_PROFIT_MARKET order is, a taker fill one tick of slippage above it.
    trade = next(t for t in result.trades if t.symbol == "ETHUSDT" and iso(t.entry_time) == "2025-05-30T07:22:40Z")
    eth = frames[1]
    open_0735 = Decimal(str(eth.open[np.searchsorted(eth.open_time, trade.entry_time - 40_000 + 13 * 60_000)]))
    assert open_0735 == Decimal("2621.76")
    assert _fills(result, trade) == [
        ("entry", "0.056", "2637.53", "2025-05-30T07:22:40Z"),
        ("partial", "0.028", str(open_0735 + Decimal("0.01")), "2025-05-30T07:35:00Z"),
        ("target", "0.028", "2607.00", "2025-05-30T08:04:20Z"),
    ]
    made = [a for a in result.actions if a.symbol == "ETHUSDT" and iso(a.created_at) == "2025-05-30T07:35:00Z"]
    assert made == [MoveStop("ETHUSDT", made[0].created_at, 2637.53, "break-even"),
                    TakePartial("ETHUSDT", made[0].created_at, 0.5, "partial")]  # fmt: skip


def test_break_even_stop_closes_the_trade_at_its_entry(frames):
    # With the move at 0.5 R the BTC long of 2025-05-14 (entry 103,934.80) came back: the moved stop filled one tick
    # of slippage under the entry instead of at the original stop far below. Both candles fall from their open to
    # their low, which the intra-candle path reaches at its :40 tick.
    result = run_backtest(_settings(breakeven_at_r=0.5), frames)
    trade = next(t for t in result.trades if t.symbol == "BTCUSDT" and iso(t.entry_time) == "2025-05-14T13:38:40Z")
    assert _fills(result, trade) == [
        ("entry", "0.001", "103934.80", "2025-05-14T13:38:40Z"),
        ("stop", "0.001", "103934.70", "2025-05-14T13:44:40Z"),
    ]
    assert result.intents[trade.client_order_id].stop < 103900  # the original stop, well under the break-even exit


def test_fast_backtest_equals_stepwise_with_position_management(result, frames):
    stepwise = run_backtest_stepwise(_settings(), frames)
    assert result.actions and result.actions == stepwise.actions
    assert result.signals == stepwise.signals
    assert result.portfolio.fills == stepwise.portfolio.fills
    assert result.trades == stepwise.trades
    assert result.final_equity == stepwise.final_equity
    np.testing.assert_allclose(result.equity, stepwise.equity, rtol=0, atol=1e-9)


def test_the_example_passes_the_conformance_kit(frames):
    btc = [frames[0].slice(0, 14 * 1440)]
    results = check_strategy(load_settings(strategy={"path": str(EXAMPLE)}), btc)
    assert [(c.name, c.passed) for c in results] == [
        ("settings", True), ("determinism", True), ("fast backtest == stepwise", True), ("no lookahead", True),
    ]  # fmt: skip
    assert "0 position actions" not in results[1].detail
