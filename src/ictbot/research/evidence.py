"""Edge evidence for one backtest: the random-entry baseline, bootstrap intervals, a drawdown Monte Carlo and a
verdict in plain words. The same section appears in backtest and walk-forward reports and in ``ictbot baseline``."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ictbot.backtest.runner import BacktestResult
from ictbot.config import Settings
from ictbot.data.frame import CandleFrame
from ictbot.data.funding import FundingSchedule
from ictbot.research.baseline import net_pnl, r_multiples, random_baseline
from ictbot.research.report import ordinal
from ictbot.research.stats import (
    bootstrap_ci,
    deflated_sharpe,
    drawdown_distribution,
    expected_max_sharpe,
    moments,
    placement,
    probability_of_backtest_overfitting,
    row_mean,
    row_sharpe,
    row_win_rate,
)

MIN_TRADES = 30  # below this, a trade sample says little about expectancy whatever the tests return
LEVEL = 0.95


def edge_evidence(
    settings: Settings,
    frames: list[CandleFrame],
    result: BacktestResult,
    runs: int = 200,
    seed: int = 0,
    funding: dict[str, FundingSchedule] | None = None,
) -> dict[str, Any]:
    """Everything the report's "Edge evidence" section shows for one backtest, as plain data (JSON-ready)."""
    return combined_evidence([Part(settings, frames, result, funding)], runs, seed)


@dataclass(frozen=True, slots=True)
class Part:
    """One backtest of a result that may have several (a walk-forward's test windows)."""

    settings: Settings
    frames: list[CandleFrame]
    result: BacktestResult
    funding: dict[str, FundingSchedule] | None = None


def combined_evidence(parts: list[Part], runs: int = 200, seed: int = 0) -> dict[str, Any]:
    """Edge evidence of several backtests taken together: baseline run ``i`` of the whole is the sum of every part's
    run ``i`` (each part with its own signals, geometry and settings), trades are pooled."""
    r = np.concatenate([r_multiples(p.result) for p in parts]) if parts else np.empty(0)
    observed_pnl = sum(net_pnl(p.result) for p in parts)
    observed_r = float(r.mean()) if r.size else 0.0
    signals = sum(len(p.result.signals) for p in parts)
    section: dict[str, Any] = {"seed": seed, "trades": int(r.size), "signals": signals}
    if signals:
        pnl_runs, r_sum, n_sum, trade_runs = np.zeros(runs), np.zeros(runs), np.zeros(runs), np.zeros(runs)
        for k, p in enumerate(parts):
            if not p.result.signals:
                continue
            b = random_baseline(p.settings, p.frames, p.result, runs, seed + 7919 * k, p.funding)
            pnl_runs += b.net_pnl
            r_sum += b.mean_r * b.trades
            n_sum += b.trades
            trade_runs += b.trades
        mean_r_runs = np.divide(r_sum, n_sum, out=np.zeros(runs), where=n_sum > 0)
        pnl_at, r_at = placement(observed_pnl, pnl_runs), placement(observed_r, mean_r_runs)
        section["baseline"] = {
            "runs": runs,
            "net_pnl": {
                "observed": round(observed_pnl, 6),
                "percentile": round(pnl_at.percentile, 2),
                "p_value": round(pnl_at.p_value, 4),
                "baseline_median": round(float(np.median(pnl_runs)), 6),
                "baseline_p5": round(float(np.quantile(pnl_runs, 0.05)), 6),
                "baseline_p95": round(float(np.quantile(pnl_runs, 0.95)), 6),
            },
            "mean_r": {
                "observed": round(observed_r, 4),
                "percentile": round(r_at.percentile, 2),
                "p_value": round(r_at.p_value, 4),
                "baseline_median": round(float(np.median(mean_r_runs)), 4),
            },
            "baseline_trades_median": float(np.median(trade_runs)),
        }
    section["bootstrap"] = {
        name: _interval(bootstrap_ci(r, fn, level=LEVEL, seed=seed))
        for name, fn in (("expectancy_r", row_mean), ("win_rate", row_win_rate), ("sharpe_per_trade", row_sharpe))
    }
    pnls = [float(t.pnl) for p in parts for t in p.result.trades]
    initial = float(parts[0].result.portfolio.initial_equity) if parts else 0.0
    section["drawdown_monte_carlo"] = {
        k: round(v, 6) for k, v in drawdown_distribution(pnls, initial, seed=seed).items()
    }
    section["verdict"], section["warnings"] = verdict(section)
    return section


def study_evidence(trials: list[Any], best: Any) -> dict[str, Any]:
    """Deflated Sharpe ratio of the chosen trial given how many were tried, and the probability of backtest
    overfitting over every trial's daily returns (CSCV)."""
    series = [np.asarray(t.user_attrs.get("daily_returns", []), dtype=np.float64) for t in trials]
    length = min((s.size for s in series), default=0)
    sharpes = np.array([moments(s)[0] for s in series])
    out: dict[str, Any] = {"trials": len(trials), "days": length}
    chosen = np.asarray(best.user_attrs.get("daily_returns", []), dtype=np.float64) if best is not None else None
    if chosen is not None and chosen.size > 1:
        sharpe, skew, kurt = moments(chosen)
        variance = float(np.var(sharpes, ddof=1)) if sharpes.size > 1 else 0.0
        dsr = deflated_sharpe(sharpe, int(chosen.size), len(trials), variance, skew, kurt)
        out["best_daily_sharpe"] = round(sharpe, 6)
        out["expected_max_daily_sharpe_by_luck"] = round(expected_max_sharpe(len(trials), variance), 6)
        out["deflated_sharpe"] = None if math.isnan(dsr) else round(dsr, 4)
    if len(series) >= 2 and length >= 8:
        matrix = np.stack([s[:length] for s in series], axis=1)
        pbo = probability_of_backtest_overfitting(matrix, partitions=8 if length >= 16 else 2)
        out["pbo"] = None if math.isnan(pbo) else round(pbo, 4)
    dsr = out.get("deflated_sharpe")
    pbo = out.get("pbo")
    if dsr is None:
        out["verdict"] = "too few days or trials to deflate the best Sharpe ratio"
    elif dsr >= LEVEL:
        out["verdict"] = f"the best trial's Sharpe survives {len(trials)} trials at 95 % (DSR {dsr:.2f})"
    else:
        out["verdict"] = f"the best trial's Sharpe is within what {len(trials)} trials reach by luck (DSR {dsr:.2f})"
    if pbo is not None:
        out["verdict"] += f"; probability of backtest overfitting {pbo:.0%}"
    return out


def _interval(interval) -> dict[str, float | None]:
    def num(x: float) -> float | None:
        return None if np.isnan(x) else round(x, 4)

    return {"estimate": num(interval.estimate), "low": num(interval.low), "high": num(interval.high)}


def verdict(section: dict[str, Any]) -> tuple[str, list[str]]:
    """One plain line a trader can act on, and the warnings that qualify it."""
    warnings = []
    trades = section["trades"]
    if trades < MIN_TRADES:
        warnings.append(
            f"only {trades} trades: too few to measure an edge (at least {MIN_TRADES} are needed); "
            "use a longer history or more symbols"
        )
    baseline = section.get("baseline")
    if baseline is None:
        return "no signals: nothing to judge", warnings
    p = baseline["net_pnl"]["p_value"]
    pct = baseline["net_pnl"]["percentile"]
    low = section["bootstrap"]["expectancy_r"]["low"]
    where = f"net PnL at the {ordinal(pct)} percentile of {baseline['runs']} random-entry runs, p = {p:.3f}"
    if p < 1 - LEVEL and low is not None and low > 0:
        line = f"evidence of an edge at 95 %: {where}; expectancy's 95 % interval is above 0 R"
    elif p < 1 - LEVEL:
        line = f"beats random entries at 95 % ({where}) but expectancy's 95 % interval includes 0 R: a weak edge"
    elif p > LEVEL:
        line = f"no evidence of an edge at 95 %: worse than random entries ({where})"
    else:
        line = f"no evidence of an edge at 95 % ({where})"
    if trades < MIN_TRADES:
        line += " — sample too small to say"
    return line, warnings
