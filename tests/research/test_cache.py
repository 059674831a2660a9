"""Trials that change only strategy parameters share detector timelines and emission schedules, and get exactly the
backtest they would get computing everything afresh."""

from __future__ import annotations

import numpy as np

from ictbot.backtest.runner import run_backtest
from ictbot.config import load_settings
from ictbot.data.loaders import load_candles
from ictbot.research.cache import TimelineCache, reuse_detector_timelines
from ictbot.research.optimize import variant

VARIANTS = [
    {},
    {"reward_risk": 3.0, "sweep_window_candles": 6},
    {"entry_zone": "ob", "stop_buffer_pct": 0.1, "target": "r_multiple"},
]


def test_shared_timelines_and_schedules_change_no_result(data_dir):
    frame = load_candles(data_dir / "BTC_USDT_USDT-1m-futures.feather").slice(0, 20_000)
    settings = load_settings().model_copy(update={"symbols": ["BTCUSDT"]})
    fresh = [run_backtest(variant(settings, p), [frame]) for p in VARIANTS]
    cache = TimelineCache()
    with reuse_detector_timelines(cache):
        shared = [run_backtest(variant(settings, p), [frame]) for p in VARIANTS]
    detected = 3  # ict_mtf reads the detectors of its 5m entry and 15m and 1h bias timeframes
    assert cache.built == detected and cache.reused == detected * (len(VARIANTS) - 1)
    assert sum(len(r.trades) for r in fresh) > 0
    for a, b in zip(fresh, shared, strict=True):
        assert [(t.entry_time, t.exit_time, t.pnl) for t in a.trades] == [
            (t.entry_time, t.exit_time, t.pnl) for t in b.trades
        ]
        np.testing.assert_array_equal(a.equity, b.equity)
        assert a.final_equity == b.final_equity
