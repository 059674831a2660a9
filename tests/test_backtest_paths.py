"""The batch-scheduled backtest and the candle-by-candle path (the live engine's) give identical results.

In ``run_backtest`` a strategy reads its detectors from timelines and is visited only where its ``wake`` says it can
signal; in ``run_backtest_stepwise`` the detectors run incrementally (``IctState``) and it sees every candle; signals
(with their evidence), fills, trades, rejections and equity must not differ."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ictbot.backtest import runner
from ictbot.backtest.runner import run_backtest, run_backtest_stepwise
from ictbot.candles.book import CandleBook
from ictbot.candles.schedule import EmissionSchedule
from ictbot.config import load_settings
from ictbot.data.frame import CandleFrame
from ictbot.data.funding import sibling_schedule
from ictbot.data.loaders import load_candles
from ictbot.domain import Timeframe
from ictbot.strategy.host import StrategyHost
from ictbot.strategy.registry import build_strategy


def _assert_same(fast, stepwise):
    assert fast.signals == stepwise.signals
    assert fast.portfolio.fills == stepwise.portfolio.fills
    assert fast.trades == stepwise.trades
    assert fast.rejections == stepwise.rejections
    assert fast.final_equity == stepwise.final_equity
    assert fast.exposed_candles == stepwise.exposed_candles
    np.testing.assert_array_equal(fast.equity_time, stepwise.equity_time)
    np.testing.assert_allclose(fast.equity, stepwise.equity, rtol=0, atol=1e-9)


@pytest.mark.parametrize("strategy", ["ict_mtf", "fvg_retrace"])
def test_btc_eth_sol_together_with_funding(data_dir, strategy):
    frames = [load_candles(data_dir / f"{n}_USDT_USDT-1m-futures.feather") for n in ("BTC", "ETH", "SOL")]
    s = load_settings(symbols=["BTCUSDT", "ETHUSDT", "SOLUSDT"], strategy={"name": strategy})

    def funding():
        return {f.symbol: sibling_schedule(data_dir / f"{f.symbol[:-4]}_USDT_USDT-1m-futures.feather") for f in frames}

    fast = run_backtest(s, frames, funding=funding())
    assert len({t.symbol for t in fast.trades}) >= 2
    _assert_same(fast, run_backtest_stepwise(s, frames, funding=funding()))


def test_other_timeframes_and_a_gappy_series(data_dir):
    s = load_settings(strategy={"name": "fvg_retrace", "entry_timeframe": "3m", "bias_timeframe": "15m"})
    gappy = load_candles(data_dir / "XRP_ETH-1m.feather")
    _assert_same(run_backtest(s, [gappy]), run_backtest_stepwise(s, [gappy]))
    s = load_settings(strategy={"name": "fvg_retrace", "entry_timeframe": "1m", "bias_timeframe": "1h"})
    btc = load_candles(data_dir / "BTC_USDT_USDT-1m-futures.feather").slice(0, 8000)
    fast = run_backtest(s, [btc])
    assert fast.trades
    _assert_same(fast, run_backtest_stepwise(s, [btc]))


@pytest.mark.parametrize(
    "variant",
    [
        {"killzones_only": True, "entry_zone": "ob", "target": "r_multiple", "swing_length": 3},
        {"entry_timeframe": "3m", "bias_timeframes": ["15m", "1h", "4h"], "sweep_window_candles": 30,
         "entry_zone": "fvg", "require_discount": False},
    ],
)  # fmt: skip
def test_ict_strategy_variants_read_from_timelines_equal_the_incremental_detectors(data_dir, variant):
    frames = [load_candles(data_dir / f"{n}_USDT_USDT-1m-futures.feather") for n in ("BTC", "ETH", "SOL")]
    s = load_settings(symbols=["BTCUSDT", "ETHUSDT", "SOLUSDT"], strategy={"name": "ict_mtf", **variant})
    fast = run_backtest(s, frames)
    assert len(fast.signals) >= 10 and fast.trades
    _assert_same(fast, run_backtest_stepwise(s, frames))


@pytest.mark.parametrize(
    "variant",
    [
        {"swing_length": 2, "entry_timeframe": "1m", "bias_timeframes": ["3m", "15m"], "require_discount": False},
        {"swing_length": 3, "entry_timeframe": "3m", "bias_timeframes": ["15m"], "require_discount": False,
         "min_stop_pct": 0.05},
    ],
)  # fmt: skip
def test_ict_strategy_on_a_gappy_series(data_dir, variant):
    gappy = load_candles(data_dir / "XRP_ETH-1m.feather")
    s = load_settings(symbols=[gappy.symbol], strategy={"name": "ict_mtf", **variant})
    fast = run_backtest(s, [gappy])
    assert len(fast.signals) >= 10 and fast.trades
    _assert_same(fast, run_backtest_stepwise(s, [gappy]))


class _VisitedOnEveryCandle:
    """A strategy reading timelines, but asking to be visited on every candle instead of those it wakes on."""

    def __init__(self, inner: StrategyHost) -> None:
        self.inner = inner
        self.name = inner.name
        self.timeframes = inner.timeframes

    def plan_replay(self, symbol, schedule):
        self.inner.plan_replay(symbol, schedule)
        return {}

    def on_candle(self, symbol, timeframe, candle):
        return self.inner.on_candle(symbol, timeframe, candle)


def test_skipped_entry_candles_could_not_have_signalled(data_dir, monkeypatch):
    frames = [load_candles(data_dir / f"{n}_USDT_USDT-1m-futures.feather") for n in ("BTC", "ETH")]
    s = load_settings(symbols=["BTCUSDT", "ETHUSDT"], strategy={"name": "ict_mtf", "require_discount": False})
    planned = run_backtest(s, frames)
    assert len(planned.signals) >= 10
    monkeypatch.setattr(runner, "build_strategy", lambda settings: _VisitedOnEveryCandle(build_strategy(settings)))
    _assert_same(planned, run_backtest(s, frames))


@settings(max_examples=25, deadline=None)
@given(
    steps=st.lists(st.integers(min_value=-60, max_value=60), min_size=300, max_size=1500),
    skips=st.lists(st.sampled_from([1] * 20 + [2, 4, 11]), min_size=1500, max_size=1500),
    start=st.integers(min_value=0, max_value=2 * 1440),
    require_discount=st.booleans(),
    killzones_only=st.booleans(),
)
def test_ict_strategy_on_generated_series_equals_the_incremental_path(
    steps, skips, start, require_discount, killzones_only
):
    n = len(steps)
    close = 100_000 + np.cumsum(steps) * 0.5
    open_ = np.concatenate(([100_000.0], close[:-1]))
    wick = np.abs(np.array(steps[::-1], dtype=float)) * 0.3
    times = 1_710_036_000_000 + (start + np.cumsum(skips[:n])) * 60_000
    frame = CandleFrame(
        times.astype(np.int64), open_, np.maximum(open_, close) + wick, np.minimum(open_, close) - wick[::-1], close,
        np.ones(n), Timeframe.M1, symbol="BTCUSDT",
    )  # fmt: skip
    strategy = {
        "name": "ict_mtf", "entry_timeframe": "1m", "bias_timeframes": ["3m", "5m"], "swing_length": 2,
        "require_discount": require_discount, "killzones_only": killzones_only, "min_stop_pct": 0.01,
    }  # fmt: skip
    s = load_settings(symbols=["BTCUSDT"], strategy=strategy)
    _assert_same(run_backtest(s, [frame]), run_backtest_stepwise(s, [frame]))


def _scheduled(frame: CandleFrame, timeframes: set[Timeframe]) -> dict[int, list]:
    schedule = EmissionSchedule(frame, timeframes)
    return schedule.candles(schedule.plan())


def _book_emissions(frame: CandleFrame, timeframes: set[Timeframe]) -> dict[int, list]:
    book = CandleBook([frame.symbol or "X"], timeframes)
    out = {}
    for i, candle in enumerate(frame.candles()):
        emitted = [item for item in book.add(frame.symbol or "X", candle) if item[0] in timeframes]
        if emitted:
            out[i] = emitted
    return out


@pytest.mark.parametrize("timeframes", [{Timeframe.M5, Timeframe.H1}, {Timeframe.M1, Timeframe.M15}])
def test_emission_schedule_equals_the_incremental_book(data_dir, timeframes):
    for name in ("XRP_ETH-1m.feather", "SOL_USDT_USDT-1m-futures.feather"):
        frame = load_candles(data_dir / name).slice(0, 6000)
        assert _scheduled(frame, timeframes) == _book_emissions(frame, timeframes)


@settings(max_examples=40, deadline=None)
@given(
    steps=st.lists(st.integers(min_value=1, max_value=7), min_size=1, max_size=200),
    start=st.integers(min_value=0, max_value=59),
)
def test_emission_schedule_equals_the_book_for_any_gaps(steps, start):
    times = 1_700_000_000_000 // 3_600_000 * 3_600_000 + (start + np.cumsum(steps)) * 60_000
    close = 100 + np.sin(np.arange(len(times)))
    frame = CandleFrame(times.astype(np.int64), close, close + 1, close - 1, close, np.ones(len(times)), Timeframe.M1)
    timeframes = {Timeframe.M3, Timeframe.M15, Timeframe.H1}
    assert _scheduled(frame, timeframes) == _book_emissions(frame, timeframes)


def test_daily_loss_limit_across_flat_days_equals_the_incremental_path(data_dir):
    """The batch path skips the start of a UTC day while the account is flat; the day's starting equity is then taken
    at the next visited candle. With a limit one losing trade reaches, the rejections for the rest of each day (and
    everything after) must still be those of the candle-by-candle path."""
    s = load_settings(
        strategy={"name": "fvg_retrace", "entry_timeframe": "15m", "bias_timeframe": "4h"},
        risk={"daily_loss_limit_usdt": 0.05},
    )
    btc = load_candles(data_dir / "BTC_USDT_USDT-1m-futures.feather")
    fast = run_backtest(s, [btc])
    reasons = {r.reason for r in fast.rejections}
    assert "daily_loss_limit" in reasons and len({t.exit_time // 86_400_000 for t in fast.trades}) >= 3, reasons
    _assert_same(fast, run_backtest_stepwise(s, [btc]))
