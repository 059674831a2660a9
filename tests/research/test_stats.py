"""The statistics checked against closed forms and hand-computed values."""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ictbot.research.stats import (
    bootstrap_ci,
    deflated_sharpe,
    drawdown_distribution,
    expected_max_sharpe,
    max_drawdown,
    moments,
    placement,
    probabilistic_sharpe,
    probability_of_backtest_overfitting,
    row_mean,
    row_win_rate,
)


def test_placement_counts_the_observed_run_as_one_draw():
    # 4 of 9 baseline values are ≥ 5: p = (1 + 4) / 10; 5 below, one tie counted half: 5.5 / 9.
    at = placement(5.0, [1, 2, 3, 4, 4.5, 5, 6, 7, 8.0])
    assert at.p_value == pytest.approx(0.5)
    assert at.percentile == pytest.approx(100 * 5.5 / 9)
    assert placement(100.0, list(range(99))).p_value == pytest.approx(1 / 100)


def test_bootstrap_is_seeded_and_covers_the_mean():
    values = np.array([1.0, -1.0, 2.0, -1.0, 2.0, -1.0, 2.0, 2.0, -1.0, -1.0])
    first = bootstrap_ci(values, row_mean, seed=4)
    assert first == bootstrap_ci(values, row_mean, seed=4)
    assert first != bootstrap_ci(values, row_mean, seed=5)
    assert first.estimate == pytest.approx(0.4)
    # Normal approximation of the bootstrap interval: 0.4 ± 1.96 · σ/√n, σ = √(Σ(x − x̄)²/n) = √(20.4/10) = 1.4283.
    half = 1.96 * 1.4283 / math.sqrt(10)
    assert first.low == pytest.approx(0.4 - half, abs=0.15)
    assert first.high == pytest.approx(0.4 + half, abs=0.15)
    assert bootstrap_ci(values, row_win_rate, seed=4).estimate == pytest.approx(0.5)


def test_max_drawdown_by_hand():
    # Equity 100 → 110 → 95 → 105 → 90 → 120: deepest fall 110 → 90 = 20.
    assert max_drawdown(np.array([10.0, -15.0, 10.0, -15.0, 30.0]), 100.0) == pytest.approx(20.0)
    assert max_drawdown(np.array([-5.0, 1.0]), 100.0) == pytest.approx(5.0)


@given(st.lists(st.floats(-100, 100), min_size=1, max_size=30))
def test_drawdown_monte_carlo_brackets_the_orders(pnls):
    dist = drawdown_distribution(pnls, 1000.0, samples=200, seed=0)
    losses = -sum(p for p in pnls if p < 0)
    assert 0 <= dist["median"] <= dist["p95"] <= dist["p99"] <= dist["worst"] <= losses + 1e-6


def test_psr_of_normal_returns_is_the_closed_form():
    # Skew 0, kurtosis 3: PSR = Φ(SR √(T−1) / √(1 + SR²/2)).
    sr, t = 0.1, 250
    expected = NormalDist().cdf(sr * math.sqrt(t - 1) / math.sqrt(1 + sr**2 / 2))
    assert probabilistic_sharpe(sr, t) == pytest.approx(expected)
    assert deflated_sharpe(sr, t, trials=1, sharpe_variance=0.01) == pytest.approx(expected)


def test_expected_max_sharpe_by_hand():
    # N = 100, V = 0.25: √V = 0.5; Φ⁻¹(0.99) = 2.326348, Φ⁻¹(1 − 1/(100e)) = Φ⁻¹(0.996321) = 2.680634;
    # 0.5 · (0.422784 · 2.326348 + 0.577216 · 2.680634) = 0.5 · (0.983538 + 1.547312) = 1.265425.
    assert expected_max_sharpe(100, 0.25) == pytest.approx(1.2654, abs=2e-4)
    assert expected_max_sharpe(1, 0.25) == 0.0


def test_deflated_sharpe_falls_with_more_trials():
    values = [deflated_sharpe(0.15, 500, n, 0.002) for n in (1, 10, 100, 1000)]
    assert values == sorted(values, reverse=True)
    assert values[0] > 0.99 and values[-1] < values[0]


def test_pbo_of_pure_noise_is_about_half_and_of_a_dominant_trial_zero():
    rng = np.random.default_rng(0)
    noise = rng.normal(0, 1, size=(400, 30))
    assert 0.25 <= probability_of_backtest_overfitting(noise, partitions=8) <= 0.75
    skilled = noise.copy()
    skilled[:, 7] += 1.0
    assert probability_of_backtest_overfitting(skilled, partitions=8) == 0.0


def test_moments_of_a_known_series():
    sharpe, skew, kurt = moments(np.array([1.0, 2.0, 3.0, 4.0]))
    assert sharpe == pytest.approx(2.5 / np.std([1, 2, 3, 4], ddof=1))
    assert skew == pytest.approx(0.0)
    assert kurt == pytest.approx(1.64)  # (2·1.5⁴ + 2·0.5⁴) / 4 / 1.25²
