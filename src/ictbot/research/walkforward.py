"""Walk-forward analysis: optimise on a train window, trade the chosen settings on the test window after it, move on.

Each window's optimiser is given the train window's candles only (the frames are cut before the study starts), so no
test candle can reach it. The test windows' results, chained, are the out-of-sample record: what the procedure of
optimising and then trading would have earned. Walk-forward efficiency compares that with what the optimiser saw.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ictbot.backtest.metrics import DAY_MS, daily_returns
from ictbot.backtest.runner import BacktestResult
from ictbot.config import Settings
from ictbot.data.frame import CandleFrame, iso
from ictbot.errors import DataError
from ictbot.research.optimize import Problem, backtest_variant, best_trials, metrics, run_study, variant
from ictbot.research.stats import moments


@dataclass(frozen=True, slots=True)
class Window:
    train_start: int
    train_end: int
    test_start: int
    test_end: int

    def label(self) -> str:
        return f"train {iso(self.train_start)} → {iso(self.train_end)}, test → {iso(self.test_end)}"


def windows(start: int, end: int, train_ms: int, test_ms: int, step_ms: int | None, anchored: bool) -> list[Window]:
    """Train/test windows over ``[start, end)``: rolling (the train window moves) or anchored (it grows from
    ``start``); each test window starts where its train window ends; ``step`` defaults to the test length."""
    step = step_ms or test_ms
    if min(train_ms, test_ms, step) <= 0:
        raise DataError("--train, --test and --step must be positive durations")
    out = []
    train_start = start
    train_end = start + train_ms
    while train_end + test_ms <= end:
        out.append(Window(start if anchored else train_start, train_end, train_end, train_end + test_ms))
        train_start += step
        train_end += step
    if not out:
        days = (end - start) / DAY_MS
        raise DataError(
            f"the data spans {days:.1f} days, shorter than one train + test window "
            f"({(train_ms + test_ms) / DAY_MS:.1f} days); shorten --train/--test or give more history"
        )
    return out


@dataclass
class WindowResult:
    window: Window
    params: dict[str, Any]
    feasible: bool
    in_sample: dict[str, float]
    out_of_sample: dict[str, float]
    settings: Settings
    frames: list[CandleFrame]
    result: BacktestResult


@dataclass
class WalkForward:
    windows: list[WindowResult]
    equity_time: np.ndarray
    equity: np.ndarray
    summary: dict[str, Any]


def _slice(frames: list[CandleFrame], start: int, end: int) -> list[CandleFrame]:
    return [f.between(start, end) for f in frames]


def walk_forward(
    problem: Problem,
    plan: list[Window],
    n_trials: int,
    url: str,
    study_prefix: str,
    jobs: int = 1,
    ray_address: str | None = None,
    seed: int | None = 0,
    on_window: Callable[[int, WindowResult], None] | None = None,
    progress: Callable[[int, float | None], None] | None = None,
) -> WalkForward:
    """Optimise each train window (one study each, ``<prefix>-w<k>``), evaluate its best settings on the test window."""
    results = []
    for k, window in enumerate(plan):
        train = replace(problem, frames=_slice(problem.frames, window.train_start, window.train_end))
        study = run_study(train, url, f"{study_prefix}-w{k}", n_trials, jobs, ray_address, seed, progress)
        best = best_trials(study, problem.min_trades)
        params = dict(best[0].params) if best else {}
        in_sample = dict(best[0].user_attrs["metrics"]) if best else {}
        chosen = variant(problem.settings, params)
        test_frames = _slice(problem.frames, window.test_start, window.test_end)
        result = backtest_variant(replace(problem, frames=test_frames), chosen)
        item = WindowResult(window, params, bool(best), in_sample, metrics(result), chosen, test_frames, result)
        results.append(item)
        if on_window is not None:
            on_window(k, item)
    times, equity = _stitch(results)
    return WalkForward(results, times, equity, _summary(results, times, equity))


def _stitch(results: list[WindowResult]) -> tuple[np.ndarray, np.ndarray]:
    """The test windows' equity curves chained: each window's returns applied to where the previous one ended."""
    initial = float(results[0].result.portfolio.initial_equity)
    level, times, curves = initial, [], []
    for item in results:
        start = float(item.result.portfolio.initial_equity)
        curves.append(item.result.equity / start * level)
        times.append(item.result.equity_time)
        level = float(curves[-1][-1]) if curves[-1].size else level
    return np.concatenate(times), np.concatenate(curves)


def _summary(results: list[WindowResult], times: np.ndarray, equity: np.ndarray) -> dict[str, Any]:
    initial = float(results[0].result.portfolio.initial_equity)
    oos_days = sum((w.window.test_end - w.window.test_start) / DAY_MS for w in results)
    is_days = sum((w.window.train_end - w.window.train_start) / DAY_MS for w in results)
    oos_pnl = sum(w.out_of_sample["net_pnl"] for w in results)
    is_pnl = sum(w.in_sample.get("net_pnl", 0.0) for w in results)
    sharpe, _, _ = moments(daily_returns(equity, times, initial))
    trades = sum(int(w.out_of_sample["trades"]) for w in results)
    r_sum = sum(w.out_of_sample["expectancy_r"] * w.out_of_sample["trades"] for w in results)
    efficiency = (oos_pnl / oos_days) / (is_pnl / is_days) if is_pnl > 0 and oos_days and is_days else None
    return {
        "windows": len(results),
        "windows_with_feasible_optimum": sum(w.feasible for w in results),
        "oos_trades": trades,
        "oos_net_pnl": round(oos_pnl, 6),
        "oos_compounded_pnl": round(float(equity[-1]) - initial, 6) if equity.size else 0.0,
        "oos_expectancy_r": round(r_sum / trades, 4) if trades else 0.0,
        "oos_daily_sharpe_annualised": round(sharpe * np.sqrt(365), 4),
        "is_net_pnl_per_day": round(is_pnl / is_days, 6) if is_days else 0.0,
        "oos_net_pnl_per_day": round(oos_pnl / oos_days, 6) if oos_days else 0.0,
        "walk_forward_efficiency": None if efficiency is None else round(efficiency, 4),
    }
