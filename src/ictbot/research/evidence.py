"""Edge evidence for one backtest: the random-entry baseline, bootstrap intervals, a drawdown Monte Carlo and a
verdict in plain words. The same section appears in backtest and walk-forward reports and in ``ictbot baseline``."""

from __future__ import annotations

from typing import Any

import numpy as np

from ictbot.backtest.funding import FundingSchedule
from ictbot.backtest.runner import BacktestResult
from ictbot.config import Settings
from ictbot.data.frame import CandleFrame
from ictbot.research.baseline import net_pnl, r_multiples, random_baseline
from ictbot.research.stats import (
    bootstrap_ci,
    drawdown_distribution,
    placement,
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
    """Everything the report's "Edge evidence" section shows, as plain data (JSON-ready)."""
    r = r_multiples(result)
    observed_pnl, observed_r = net_pnl(result), float(r.mean()) if r.size else 0.0
    baseline = random_baseline(settings, frames, result, runs, seed, funding) if result.signals else None
    section: dict[str, Any] = {"seed": seed, "trades": int(r.size), "signals": len(result.signals)}
    if baseline is not None:
        pnl_at, r_at = placement(observed_pnl, baseline.net_pnl), placement(observed_r, baseline.mean_r)
        section["baseline"] = {
            "runs": runs,
            "net_pnl": {
                "observed": round(observed_pnl, 6),
                "percentile": round(pnl_at.percentile, 2),
                "p_value": round(pnl_at.p_value, 4),
                "baseline_median": round(float(np.median(baseline.net_pnl)), 6),
                "baseline_p5": round(float(np.quantile(baseline.net_pnl, 0.05)), 6),
                "baseline_p95": round(float(np.quantile(baseline.net_pnl, 0.95)), 6),
            },
            "mean_r": {
                "observed": round(observed_r, 4),
                "percentile": round(r_at.percentile, 2),
                "p_value": round(r_at.p_value, 4),
                "baseline_median": round(float(np.median(baseline.mean_r)), 4),
            },
            "baseline_trades_median": float(np.median(baseline.trades)),
        }
    section["bootstrap"] = {
        name: _interval(bootstrap_ci(r, fn, level=LEVEL, seed=seed))
        for name, fn in (("expectancy_r", row_mean), ("win_rate", row_win_rate), ("sharpe_per_trade", row_sharpe))
    }
    pnls = [float(t.pnl) for t in result.trades]
    section["drawdown_monte_carlo"] = {
        k: round(v, 6)
        for k, v in drawdown_distribution(pnls, float(result.portfolio.initial_equity), seed=seed).items()
    }
    section["verdict"], section["warnings"] = verdict(section)
    return section


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
    where = f"net PnL at the {pct:.0f}th percentile of {baseline['runs']} random-entry runs, p = {p:.3f}"
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
