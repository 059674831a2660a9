"""Performance figures traders compare strategies by, computed from the equity curve and the closed trades."""

from __future__ import annotations

import math
from collections import defaultdict
from decimal import Decimal
from typing import Any

import numpy as np

from ictbot.portfolio.ledger import Trade

DAY_MS = 86_400_000


def drawdown(equity: np.ndarray, times: np.ndarray) -> dict[str, float]:
    """Deepest fall from a running peak (absolute, % of that peak) and the longest time spent below a peak."""
    if equity.size == 0:
        return {"max_drawdown": 0.0, "max_drawdown_pct": 0.0, "max_drawdown_duration_hours": 0.0}
    peak = np.maximum.accumulate(equity)
    depth = peak - equity
    worst = int(np.argmax(depth))
    below = np.concatenate(([False], depth > 0, [False]))
    edges = np.flatnonzero(below[1:] != below[:-1])
    starts, stops = edges[0::2], edges[1::2]  # each spell below a peak: [start, stop)
    ends = np.minimum(stops, depth.size - 1)  # measured to the candle that recovers, or to the last one
    spans = times[ends] - times[np.maximum(starts - 1, 0)]
    longest = int(spans.max()) if spans.size else 0
    return {
        "max_drawdown": round(float(depth[worst]), 6),
        "max_drawdown_pct": round(100 * float(depth[worst]) / float(peak[worst]), 4),
        "max_drawdown_duration_hours": round(longest / 3_600_000, 2),
    }


def daily_returns(equity: np.ndarray, times: np.ndarray, initial: float) -> np.ndarray:
    """Returns between successive UTC day-end equities, the first day measured from the initial equity."""
    if equity.size == 0:
        return np.empty(0)
    days = (times - 1) // DAY_MS
    last_of_day = np.flatnonzero(np.diff(days, append=days[-1] + 1))
    closes = np.concatenate(([initial], equity[last_of_day]))
    return np.diff(closes) / closes[:-1]


def ratios(equity: np.ndarray, times: np.ndarray, initial: float, max_dd_pct: float) -> dict[str, float]:
    returns = daily_returns(equity, times, initial)
    span_days = max((int(times[-1]) - int(times[0])) / DAY_MS, 1e-9) if times.size else 0.0
    final = float(equity[-1]) if equity.size else initial
    cagr = (final / initial) ** (365 / span_days) - 1 if span_days else 0.0
    mean = float(returns.mean()) if returns.size else 0.0
    std = float(returns.std(ddof=1)) if returns.size > 1 else 0.0
    downside = returns[returns < 0]
    down_dev = float(np.sqrt(np.mean(downside**2))) if downside.size else 0.0
    annual = math.sqrt(365)
    return {
        "cagr_pct": round(100 * cagr, 4),
        "sharpe": round(mean / std * annual, 4) if std else 0.0,
        "sortino": round(mean / down_dev * annual, 4) if down_dev else 0.0,
        "calmar": round(100 * cagr / max_dd_pct, 4) if max_dd_pct else 0.0,
    }


def trade_stats(trades: list[Trade], risk_by_order: dict[str, Decimal]) -> dict[str, Any]:
    pnls = [t.pnl for t in trades]
    gains = sum((p for p in pnls if p > 0), Decimal(0))
    losses = -sum((p for p in pnls if p < 0), Decimal(0))
    r_multiples = [
        float(t.pnl / risk_by_order[t.client_order_id]) for t in trades if risk_by_order.get(t.client_order_id)
    ]
    by_side: dict[str, dict[str, Any]] = defaultdict(lambda: {"trades": 0, "wins": 0, "pnl": Decimal(0)})
    by_setup: dict[str, dict[str, Any]] = defaultdict(lambda: {"trades": 0, "wins": 0, "pnl": Decimal(0)})
    for t in trades:
        for bucket in (by_side["long" if t.side.sign > 0 else "short"], by_setup[t.entry_reason or "unknown"]):
            bucket["trades"] += 1
            bucket["wins"] += t.pnl > 0
            bucket["pnl"] += t.pnl
    return {
        "profit_factor": round(float(gains / losses), 4) if losses else None,
        "expectancy": str((sum(pnls, Decimal(0)) / len(pnls)).quantize(Decimal("1e-8"))) if pnls else "0",
        "average_r": round(sum(r_multiples) / len(r_multiples), 4) if r_multiples else 0.0,
        "by_side": {k: {**v, "pnl": str(v["pnl"])} for k, v in sorted(by_side.items())},
        "by_setup": {k: {**v, "pnl": str(v["pnl"])} for k, v in sorted(by_setup.items())},
    }
