"""The statistics behind the edge evidence: where a result falls among random ones, how wide its uncertainty is, and
how much an optimisation's best result owes to the number of trials.

Pure functions of numbers (numpy and the standard library's ``NormalDist``); every random draw takes a seed so that a
report can be reproduced exactly.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import combinations
from statistics import NormalDist

import numpy as np

_NORMAL = NormalDist()
EULER_GAMMA = 0.5772156649015329


@dataclass(frozen=True, slots=True)
class Placement:
    """Where an observed value falls in a baseline distribution."""

    observed: float
    percentile: float  # % of baseline values strictly below the observed one, ties counted half
    p_value: float  # one-sided: chance that a baseline run does at least as well


def placement(observed: float, baseline: Sequence[float]) -> Placement:
    """Percentile and one-sided p of ``observed`` among ``baseline`` values.

    ``p = (1 + #{baseline ≥ observed}) / (N + 1)``: the observed run counts as one of the draws, so p is never 0 and
    is exact for a permutation-style test (Phipson & Smyth 2010).
    """
    values = np.asarray(baseline, dtype=np.float64)
    if values.size == 0:
        raise ValueError("placement needs at least one baseline value")
    below = float(np.sum(values < observed)) + 0.5 * float(np.sum(values == observed))
    at_least = int(np.sum(values >= observed))
    return Placement(observed, 100.0 * below / values.size, (1 + at_least) / (values.size + 1))


@dataclass(frozen=True, slots=True)
class Interval:
    estimate: float
    low: float
    high: float
    level: float


def bootstrap_ci(
    values: Sequence[float],
    statistic: Callable[[np.ndarray], np.ndarray],
    samples: int = 2000,
    level: float = 0.95,
    seed: int = 0,
) -> Interval:
    """Percentile bootstrap interval of ``statistic`` (vectorised over rows of a resample matrix)."""
    data = np.asarray(values, dtype=np.float64)
    if data.size == 0:
        return Interval(math.nan, math.nan, math.nan, level)
    rng = np.random.default_rng(seed)
    resamples = data[rng.integers(0, data.size, size=(samples, data.size))]
    stats = statistic(resamples)
    if np.all(np.isnan(stats)):
        return Interval(float(statistic(data[None, :])[0]), math.nan, math.nan, level)
    alpha = (1 - level) / 2
    low, high = np.nanquantile(stats, [alpha, 1 - alpha])
    return Interval(float(statistic(data[None, :])[0]), float(low), float(high), level)


def row_mean(rows: np.ndarray) -> np.ndarray:
    return rows.mean(axis=1)


def row_win_rate(rows: np.ndarray) -> np.ndarray:
    return (rows > 0).mean(axis=1)


def row_sharpe(rows: np.ndarray) -> np.ndarray:
    """Per-trade Sharpe ratio (mean over standard deviation of the trades' results), NaN when they do not vary."""
    std = rows.std(axis=1, ddof=1) if rows.shape[1] > 1 else np.zeros(rows.shape[0])
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(std > 0, rows.mean(axis=1) / std, np.nan)


def max_drawdown(pnls: np.ndarray, initial: float) -> np.ndarray:
    """Deepest fall from a running peak of the equity each row of trade results walks (rows: orderings)."""
    equity = initial + np.cumsum(pnls, axis=-1)
    start = np.full((*equity.shape[:-1], 1), initial)
    path = np.concatenate([start, equity], axis=-1)
    return (np.maximum.accumulate(path, axis=-1) - path).max(axis=-1)


def drawdown_distribution(
    pnls: Sequence[float], initial: float, samples: int = 2000, seed: int = 0
) -> dict[str, float]:
    """Monte Carlo of trade order: the same trades in random orders, and the max drawdown each order would have had.

    The observed order is one draw among many; a trader should plan for the 95th percentile, not the observed value.
    """
    data = np.asarray(pnls, dtype=np.float64)
    if data.size == 0:
        return {"observed": 0.0, "median": 0.0, "p95": 0.0, "p99": 0.0, "worst": 0.0}
    rng = np.random.default_rng(seed)
    orders = rng.permuted(np.broadcast_to(data, (samples, data.size)), axis=1)
    depths = max_drawdown(orders, initial)
    median, p95, p99 = np.quantile(depths, [0.5, 0.95, 0.99])
    return {
        "observed": float(max_drawdown(data, initial)),
        "median": float(median),
        "p95": float(p95),
        "p99": float(p99),
        "worst": float(depths.max()),
    }


def probabilistic_sharpe(
    sharpe: float, observations: int, skew: float = 0.0, kurtosis: float = 3.0, benchmark: float = 0.0
) -> float:
    """Probability that the true (per-observation) Sharpe ratio exceeds ``benchmark`` (Bailey & López de Prado 2012).

    ``kurtosis`` is the plain (non-excess) kurtosis: 3 for normal returns.
    """
    if observations < 2:
        return math.nan
    variance = 1 - skew * sharpe + (kurtosis - 1) / 4 * sharpe**2
    if variance <= 0:
        return math.nan
    return _NORMAL.cdf((sharpe - benchmark) * math.sqrt(observations - 1) / math.sqrt(variance))


def expected_max_sharpe(trials: int, sharpe_variance: float) -> float:
    """The Sharpe ratio the best of ``trials`` unskilled strategies reaches by luck (the DSR's benchmark).

    ``E[max] ≈ √V · ((1 − γ) Φ⁻¹(1 − 1/N) + γ Φ⁻¹(1 − 1/(N e)))`` with γ the Euler–Mascheroni constant.
    One trial has nothing to be lucky against: 0.
    """
    if trials <= 1 or sharpe_variance <= 0:
        return 0.0
    a = _NORMAL.inv_cdf(1 - 1 / trials)
    b = _NORMAL.inv_cdf(1 - 1 / (trials * math.e))
    return math.sqrt(sharpe_variance) * ((1 - EULER_GAMMA) * a + EULER_GAMMA * b)


def deflated_sharpe(
    sharpe: float,
    observations: int,
    trials: int,
    sharpe_variance: float,
    skew: float = 0.0,
    kurtosis: float = 3.0,
) -> float:
    """Deflated Sharpe ratio (Bailey & López de Prado 2014): the probabilistic Sharpe ratio of the best trial against
    the best Sharpe that ``trials`` tries would reach by luck. All Sharpe figures per observation, not annualised."""
    benchmark = expected_max_sharpe(trials, sharpe_variance)
    return probabilistic_sharpe(sharpe, observations, skew, kurtosis, benchmark)


def probability_of_backtest_overfitting(performance: np.ndarray, partitions: int = 8) -> float:
    """PBO by combinatorially symmetric cross-validation (Bailey, Borwein, López de Prado & Zhu 2015).

    ``performance`` is observations × trials (e.g. each trial's daily returns). The rows are cut into ``partitions``
    blocks; for every half of the blocks taken as in-sample, the trial best in-sample is ranked out-of-sample on the
    other half. PBO is the share of splits in which that trial ranks at or below the out-of-sample median: the
    chance that choosing the in-sample best picks a worse-than-typical strategy.
    """
    matrix = np.asarray(performance, dtype=np.float64)
    rows, trials = matrix.shape
    if partitions % 2 or partitions < 2:
        raise ValueError("partitions must be an even number ≥ 2")
    if trials < 2 or rows < partitions:
        return math.nan
    blocks = np.array_split(np.arange(rows), partitions)
    sums = np.stack([matrix[b].sum(axis=0) for b in blocks])
    counts = np.array([len(b) for b in blocks], dtype=np.float64)
    logits = []
    for chosen in combinations(range(partitions), partitions // 2):
        mask = np.zeros(partitions, dtype=bool)
        mask[list(chosen)] = True
        in_sample = sums[mask].sum(axis=0) / counts[mask].sum()
        out_sample = sums[~mask].sum(axis=0) / counts[~mask].sum()
        best = int(np.argmax(in_sample))
        rank = float(np.sum(out_sample < out_sample[best])) + 0.5 * float(np.sum(out_sample == out_sample[best]) + 1)
        omega = rank / (trials + 1)
        logits.append(math.log(omega / (1 - omega)))
    return float(np.mean(np.asarray(logits) <= 0))


def moments(returns: np.ndarray) -> tuple[float, float, float]:
    """(Sharpe per observation, skewness, plain kurtosis) of a return series; zeros when it does not vary."""
    r = np.asarray(returns, dtype=np.float64)
    if r.size < 2:
        return 0.0, 0.0, 3.0
    std = r.std(ddof=1)
    if std == 0:
        return 0.0, 0.0, 3.0
    centred = r - r.mean()
    m2 = np.mean(centred**2)
    return float(r.mean() / std), float(np.mean(centred**3) / m2**1.5), float(np.mean(centred**4) / m2**2)
