"""The report's drawdown figures on equity curves worked out by hand."""

from __future__ import annotations

import numpy as np

from ictbot.backtest.metrics import drawdown

HOUR = 3_600_000


def test_longest_spell_below_a_peak_runs_from_the_peak_to_the_candle_that_recovers():
    """Peaks at hours 1 and 6; below 1 from hour 2 to 4 (recovered at 5: 4 h from the peak), below 6 from hour 7 to
    the end (9: 3 h). The deepest fall is 2 from 4 (50 %)."""
    times = np.arange(10) * HOUR
    equity = np.array([1.0, 4.0, 3.0, 2.0, 3.5, 4.0, 6.0, 5.0, 5.5, 5.9])
    assert drawdown(equity, times) == {
        "max_drawdown": 2.0,
        "max_drawdown_pct": 50.0,
        "max_drawdown_duration_hours": 4.0,
    }


def test_a_curve_below_its_first_value_from_the_start_is_measured_from_the_first_candle():
    times = np.array([0, 2, 7]) * HOUR
    assert drawdown(np.array([5.0, 4.0, 4.5]), times)["max_drawdown_duration_hours"] == 7.0
    assert drawdown(np.array([5.0, 5.0, 6.0]), times)["max_drawdown_duration_hours"] == 0.0
    assert drawdown(np.array([5.0]), times[:1])["max_drawdown_duration_hours"] == 0.0
