"""Backtest figures and their outputs: a Rich table, ``summary.json``, ``trades.csv`` and ``equity.csv``."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from ictbot.backtest.html import render_html_report, sizing_note
from ictbot.backtest.metrics import drawdown, ratios, trade_stats
from ictbot.backtest.runner import BacktestResult
from ictbot.data.frame import CandleFrame, iso
from ictbot.money import usdt


def summarize(result: BacktestResult) -> dict[str, Any]:
    trades = result.trades
    wins = sum(1 for t in trades if t.pnl > 0)
    portfolio = result.portfolio
    initial = portfolio.initial_equity
    dd = drawdown(result.equity, result.equity_time)
    risk_by_order = {oid: i.quantity * abs(i.price - i.stop) for oid, i in result.intents.items()}
    return {
        "symbols": sorted(result.specs),
        "strategy": result.settings.strategy.name,
        "timeframes": sorted(tf.value for tf in result.settings.timeframes),
        "start": iso(result.start),
        "end": iso(result.end),
        "candles": result.candles,
        "signals": len(result.signals),
        "rejected_signals": dict(Counter(r.reason for r in result.rejections)),
        "trades": len(trades),
        "open_positions": portfolio.open_position_count(),
        "wins": wins,
        "losses": len(trades) - wins,
        "win_rate_pct": round(100 * wins / len(trades), 2) if trades else 0.0,
        "exit_reasons": dict(Counter(t.exit_reason for t in trades)),
        "initial_equity": str(initial),
        "final_equity": str(result.final_equity),
        "net_pnl": str(result.final_equity - initial),
        "realized_pnl": str(portfolio.realized),
        "fees": str(portfolio.fees),
        "funding": str(portfolio.funding),
        "funding_modelled_for": result.funded_symbols,
        **dd,
        **ratios(result.equity, result.equity_time, float(initial), dd["max_drawdown_pct"]),
        "exposure_pct": round(100 * result.exposed_candles / result.candles, 2) if result.candles else 0.0,
        **trade_stats(trades, risk_by_order),
        "sizing": sizing(result),
    }


def sizing(result: BacktestResult) -> dict[str, Any]:
    """Which limit set each accepted order's size: ``risk_per_trade_pct`` or the notional cap (margin × leverage).

    With the defaults (50 USDT margin at 3×) the cap binds on BTC: a trade risks a fraction of a USDT, not 0.5 % of
    equity, and the report says so rather than letting the setting suggest otherwise."""
    risk = result.settings.risk
    cap = Decimal(str(risk.max_position_margin_usdt)) * risk.leverage
    capped, risks = 0, []
    for intent in result.intents.values():
        spec = result.specs[intent.symbol]
        if intent.quantity == spec.round_qty_down(cap / intent.price):
            capped += 1
        risks.append(intent.quantity * abs(intent.price - intent.stop))
    target = Decimal(str(result.settings.backtest.initial_equity_usdt)) * Decimal(str(risk.risk_per_trade_pct)) / 100
    mean = sum(risks, Decimal(0)) / len(risks) if risks else Decimal(0)
    return {
        "orders": len(risks),
        "capped_by_notional": capped,
        "notional_cap_usdt": str(cap),
        "mean_risk_usdt": str(mean.quantize(Decimal("1e-4"))),
        "risk_target_usdt": str(target.quantize(Decimal("1e-4"))),
    }


def print_summary(summary: dict[str, Any], console: Console) -> None:
    table = Table(title=f"Backtest {', '.join(summary['symbols'])} · {summary['start']} → {summary['end']}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key in (
        "candles",
        "signals",
        "trades",
        "win_rate_pct",
        "initial_equity",
        "final_equity",
        "net_pnl",
        "fees",
        "funding",
        "max_drawdown",
        "max_drawdown_pct",
        "max_drawdown_duration_hours",
        "cagr_pct",
        "sharpe",
        "sortino",
        "calmar",
        "profit_factor",
        "expectancy",
        "average_r",
        "exposure_pct",
        "exit_reasons",
        "rejected_signals",
    ):
        value = summary[key]
        if key == "by_side":
            continue
        if isinstance(value, dict):
            value = ", ".join(f"{k} {v}" for k, v in sorted(value.items())) or "-"
        elif key in MONEY:
            value = usdt(value)
        table.add_row(key.replace("_", " "), str(value))
    console.print(table)
    note = sizing_note(summary)
    if note is not None:
        console.print(f"[yellow]sizing:[/] {note}", highlight=False)


MONEY = frozenset({"initial_equity", "final_equity", "net_pnl", "fees", "funding", "max_drawdown", "expectancy"})


TRADE_COLUMNS = (
    "symbol",
    "side",
    "entry_time",
    "exit_time",
    "entry_price",
    "exit_price",
    "quantity",
    "fees",
    "pnl",
    "exit_reason",
    "entry_reason",
)


def trades_csv(result: BacktestResult) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(TRADE_COLUMNS)
    for t in result.trades:
        writer.writerow(
            [
                t.symbol,
                "long" if t.side.sign > 0 else "short",
                iso(t.entry_time),
                iso(t.exit_time or 0),
                t.entry_price,
                t.exit_price,
                t.quantity,
                t.fees,
                t.pnl,
                t.exit_reason,
                t.entry_reason,
            ]
        )
    return buffer.getvalue()


def equity_csv(result: BacktestResult) -> str:
    """One row per candle, times as ``iso`` writes them (cut to the second), equity to eight decimals.

    Formatted in bulk, not row by row (4 µs a candle, 2 s for a year of 1m): each date, time of day and run of equal
    equity (it stays flat while no position is open) is formatted once and the rows are assembled from them as bytes."""
    seconds = result.equity_time.astype("datetime64[ms]").astype("datetime64[s]").astype(np.int64)
    days, second_of_day = np.divmod(seconds, 86_400)
    dates, date_index = _runs(days)
    clock = np.zeros(86_400, dtype=bool)
    clock[second_of_day] = True
    clock_index = (np.cumsum(clock) - 1)[second_of_day]
    values, value_index = _runs(result.equity.view(np.int64))  # compared as bits: -0.0 stays apart from 0.0
    rows = _rows(
        [
            ([f"{d}T" for d in np.datetime_as_string(dates.astype("datetime64[D]")).tolist()], date_index),
            (
                [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}Z," for s in np.flatnonzero(clock).tolist()],
                clock_index,
            ),
            ([f"{v:.8f}\n" for v in values.view(np.float64).tolist()], value_index),
        ]
    )
    return "time,equity\n" + rows


def _runs(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The value of each run of equal consecutive ``values`` and, for every element, the number of its run."""
    starts = np.concatenate(([True], values[1:] != values[:-1])) if values.size else np.zeros(0, dtype=bool)
    return values[starts], np.cumsum(starts) - 1


def _rows(columns: list[tuple[list[str], np.ndarray]]) -> str:
    """Row ``r`` is ``texts[index[r]]`` of every column in turn (ASCII texts): laid out as fixed-width fields padded
    with NUL bytes, which are then dropped; a few bytes per candle of memory, none per character."""
    count = columns[0][1].shape[0]
    if count == 0:
        return ""
    tables = [np.array([t.encode("ascii") for t in texts], dtype=bytes) for texts, _ in columns]
    laid = np.empty((count, sum(t.itemsize for t in tables)), dtype=np.uint8)
    at = 0
    for table, (_, index) in zip(tables, columns, strict=True):
        laid[:, at : at + table.itemsize] = table.view(np.uint8).reshape(table.shape[0], table.itemsize)[index]
        at += table.itemsize
    return laid[laid != 0].tobytes().decode("ascii")


def write_outputs(
    result: BacktestResult,
    summary: dict[str, Any],
    out: Path,
    frames: Sequence[CandleFrame],
    extra_sections: Sequence[str] = (),
) -> list[Path]:
    """Write every output file; each appears whole or not at all (written aside, then renamed).

    ``frames`` are the candles the backtest ran on, drawn in ``report.html`` with ``extra_sections``."""
    out.mkdir(parents=True, exist_ok=True)
    contents = {
        "summary.json": json.dumps(summary, indent=2, default=_json_default) + "\n",
        "trades.csv": trades_csv(result),
        "equity.csv": equity_csv(result),
        "report.html": render_html_report(result, summary, frames, extra_sections),
    }
    staged = []
    try:
        for name, text in contents.items():
            tmp = out / f".{name}.partial"
            tmp.write_text(text, encoding="utf-8")
            staged.append((tmp, out / name))
        for tmp, final in staged:
            tmp.replace(final)
    finally:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
    return [final for _, final in staged]


def _json_default(value: object) -> str:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")
