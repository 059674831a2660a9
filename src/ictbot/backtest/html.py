"""The self-contained HTML backtest report: price charts with every trade and the zones that justified it, the equity
and drawdown curves, and every figure of the summary.

Everything is inline (CSS and SVG generated here; no script, font or URL), so the file opens offline, can be archived
or mailed, and shows exactly what the backtest did. Candles are aggregated to a readable timeframe: the overview draws
the period in rows of a week or more (1h candles for a week of 1m data) and each trade gets a zoomed panel of its own.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from html import escape
from typing import Any

import numpy as np

from ictbot.backtest.runner import BacktestResult
from ictbot.candles.aggregate import resample
from ictbot.data.frame import CandleFrame, iso
from ictbot.domain import MINUTE_MS, OrderIntent, Timeframe
from ictbot.portfolio.ledger import Trade

DAY_MS = 1440 * MINUTE_MS
OVERVIEW_MAX_ROWS = 12
ROW_MAX_CANDLES = 200
PANEL_MAX_CANDLES = 90
EQUITY_BUCKETS = 1400
HEADLINE = (
    "net_pnl",
    "final_equity",
    "trades",
    "win_rate_pct",
    "max_drawdown_pct",
    "profit_factor",
    "sharpe",
    "average_r",
)
SIGNED = frozenset({"net_pnl", "sharpe", "average_r", "expectancy", "cagr_pct", "sortino", "calmar"})
TIME_STEPS_MIN = (5, 15, 30, 60, 120, 180, 360, 720, 1440, 2880, 10080)


@dataclass(frozen=True)
class _Plot:
    """Maps time (epoch ms) and price onto one rectangular plot area of an SVG."""

    t0: int
    t1: int
    lo: float
    hi: float
    left: float
    top: float
    width: float
    height: float

    def x(self, t: float) -> float:
        return self.left + (t - self.t0) / (self.t1 - self.t0) * self.width

    def y(self, price: float) -> float:
        return self.top + (self.hi - price) / (self.hi - self.lo) * self.height

    @property
    def right(self) -> float:
        return self.left + self.width

    @property
    def bottom(self) -> float:
        return self.top + self.height


def render_html_report(
    result: BacktestResult,
    summary: dict[str, Any],
    frames: Mapping[str, CandleFrame] | Sequence[CandleFrame],
    extra_sections: Sequence[str] = (),
) -> str:
    """The whole report as one HTML document; ``frames`` are the candles the backtest ran on, one per symbol.
    ``extra_sections`` are drawn after the figures by the tools above the backtest (the research evidence)."""
    by_symbol = dict(frames) if isinstance(frames, Mapping) else {f.symbol: f for f in frames}
    numbered = list(enumerate(result.trades, start=1))
    title = f"Backtest {', '.join(summary['symbols'])} · {summary['start']} → {summary['end']}"
    sections = [
        f"<h1>{escape(title)}</h1>",
        f'<p class="muted">strategy {escape(summary["strategy"])} · timeframes '
        f"{escape(', '.join(summary['timeframes']))} · {summary['candles']} candles · {summary['signals']} signals</p>",
        _headline(summary),
        *(_overview_section(symbol, frame, result.intents, numbered) for symbol, frame in sorted(by_symbol.items())),
        _equity_section(result),
        _sizing_note(summary),
        _figures_section(summary),
        *extra_sections,
        _trades_section(numbered),
        _panels_section(result, by_symbol, numbered),
        _rejections_section(result, summary),
    ]
    body = "\n".join(sections)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_CSS}</style></head>\n<body>\n{body}\n</body></html>\n"
    )


# ── sections ─────────────────────────────────────────────────────────────────────────────────────────────────────


def _headline(summary: dict[str, Any]) -> str:
    cards = "".join(
        f'<div class="card"><div class="label">{_label(key)}</div><div class="value'
        f'{_sign_class(summary[key]) if key in SIGNED else ""}">{escape(_figure(summary[key]))}</div></div>'
        for key in HEADLINE
        if key in summary
    )
    return f'<div class="cards">{cards}</div>'


def _overview_section(
    symbol: str, frame: CandleFrame, intents: Mapping[str, OrderIntent], numbered: list[tuple[int, Trade]]
) -> str:
    """The whole period in rows of a week or more, each with its own price scale, so short trades stay visible."""
    mine = [(n, t) for n, t in numbered if t.symbol == symbol]
    rows = _overview_rows(frame)
    timeframe = _timeframe_for(frame, rows[0][1] - rows[0][0], ROW_MAX_CANDLES)
    candles = resample(frame, timeframe)
    svgs = [
        _overview_row(f"{symbol}-{i}", candles.between(t0, t1), (t0, t1), intents, mine, frame.timeframe.ms)
        for i, (t0, t1) in enumerate(rows)
        if len(candles.between(t0, t1))
    ]
    return (
        f'<section id="chart-{escape(symbol)}"><h2>{escape(symbol)} · {timeframe} candles · {len(mine)} trades</h2>'
        f'{_LEGEND}<div class="rows">{"".join(svgs)}</div></section>'
    )


def _overview_rows(frame: CandleFrame) -> list[tuple[int, int]]:
    """UTC-day-aligned rows: the whole period when it is a week or less, else at most ``OVERVIEW_MAX_ROWS`` rows."""
    first = int(frame.open_time[0]) // DAY_MS * DAY_MS
    end = int(frame.open_time[-1]) + frame.timeframe.ms
    days = -(-(end - first) // DAY_MS)
    row_days = days if days <= 7 else max(7, -(-days // OVERVIEW_MAX_ROWS))
    return [(t, t + row_days * DAY_MS) for t in range(first, end, row_days * DAY_MS)]


def _overview_row(
    uid: str,
    candles: CandleFrame,
    span: tuple[int, int],
    intents: Mapping[str, OrderIntent],
    trades: list[tuple[int, Trade]],
    base_ms: int,
) -> str:
    t0, t1 = span
    lo, hi = _padded(float(candles.low.min()), float(candles.high.max()))
    plot = _Plot(t0, t1, lo, hi, left=8, top=8, width=1300, height=250)
    visible = [(n, t) for n, t in trades if t.entry_time < t1 and (t.exit_time or t.entry_time) >= t0]
    marks = [
        _trade_marks(
            n,
            t,
            plot,
            base_ms,
            size=8,
            show_entry=t0 <= t.entry_time < t1,
            show_exit=t0 <= (t.exit_time or t.entry_time) < t1,
        )
        for n, t in visible
    ]
    parts = [
        _price_axes(plot, time_ticks=14),
        _clipped(f"ov-{uid}", plot, _zones(visible, intents, plot, labels=False), _candles(candles, plot), *marks),
    ]
    return _svg(f"overview-{uid}", "overview", 1380, plot.bottom + 22, parts)


def _equity_section(result: BacktestResult) -> str:
    times, equity = result.equity_time, result.equity
    if len(times) < 2:
        return "<section><h2>Equity and drawdown</h2><p>Not enough candles for a curve.</p></section>"
    peak = np.maximum.accumulate(equity)
    dd_pct = 100 * (equity - peak) / peak
    keep = _envelope(equity, dd_pct)
    t0, t1 = int(times[0]), int(times[-1])
    initial = float(result.portfolio.initial_equity)
    eq_lo, eq_hi = _padded(min(float(equity.min()), initial), max(float(equity.max()), initial))
    eq_plot = _Plot(t0, t1, eq_lo, eq_hi, left=8, top=8, width=1300, height=240)
    dd_plot = _Plot(t0, t1, min(float(dd_pct.min()) * 1.1, -0.01), 0.0, left=8, top=280, width=1300, height=130)
    worst = int(np.argmin(dd_pct))
    parts = [
        _price_axes(eq_plot, time_labels=False),
        _hline(eq_plot, initial, "initial", f"initial {initial:g}"),
        _polyline(eq_plot, times[keep], equity[keep], "equity"),
        _price_axes(dd_plot, unit="%"),
        _area(dd_plot, times[keep], dd_pct[keep], "drawdown"),
        _point_label(dd_plot, int(times[worst]), float(dd_pct[worst]), f"max drawdown {dd_pct[worst]:.2f}%"),
    ]
    svg = _svg("equity", "curve", 1380, dd_plot.bottom + 24, parts)
    return f'<section id="equity-curve"><h2>Equity and drawdown (% below the running peak)</h2>{svg}</section>'


def sizing_note(summary: dict[str, Any]) -> str | None:
    """A plain sentence when the notional cap, not the risk setting, decided the sizes."""
    s = summary.get("sizing") or {}
    if not s.get("capped_by_notional"):
        return None
    return (
        f"the notional cap ({s['notional_cap_usdt']} USDT = max_position_margin_usdt × leverage), not "
        f"risk_per_trade_pct, set the size of {s['capped_by_notional']} of {s['orders']} orders: they risked "
        f"{s['mean_risk_usdt']} USDT on average, not {s['risk_target_usdt']} USDT"
    )


def _sizing_note(summary: dict[str, Any]) -> str:
    note = sizing_note(summary)
    return f'<p class="warn" id="sizing">Sizing: {escape(note)}</p>' if note else ""


def _figures_section(summary: dict[str, Any]) -> str:
    scalars = "".join(
        f'<tr data-key="{escape(key)}"><th>{_label(key)}</th><td class="num">{escape(_figure(value))}</td></tr>'
        for key, value in summary.items()
        if not isinstance(value, dict)
    )
    breakdowns = "".join(
        _breakdown(key, value)
        for key, value in summary.items()
        if isinstance(value, dict) and key not in ("rejected_signals", "edge_evidence")
    )
    return (
        f'<section id="figures"><h2>Figures</h2><div class="figures"><table class="summary">{scalars}</table>'
        f'<div class="breakdowns">{breakdowns}</div></div></section>'
    )


def _breakdown(key: str, value: dict[str, Any]) -> str:
    """A dict-valued figure as a table: counts by reason, or one row per group with its own columns."""
    rows = sorted(value.items())
    if rows and all(isinstance(v, dict) for _, v in rows):
        columns = list(dict.fromkeys(c for _, v in rows for c in v))
        head = "".join(f"<th>{_label(c)}</th>" for c in columns)
        body = "".join(
            f"<tr><th>{escape(str(name))}</th>"
            + "".join(f'<td class="num">{escape(_figure(group.get(c, "")))}</td>' for c in columns)
            + "</tr>"
            for name, group in rows
        )
        body = f"<tr><th></th>{head}</tr>{body}"
    else:
        body = (
            "".join(
                f'<tr><th>{escape(str(name))}</th><td class="num">{escape(_figure(v))}</td></tr>' for name, v in rows
            )
            or '<tr><td class="muted">none</td></tr>'
        )
    return f'<table class="breakdown" data-key="{escape(key)}"><caption>{_label(key)}</caption>{body}</table>'


TRADE_HEADERS = (
    "#",
    "symbol",
    "side",
    "entry time",
    "exit time",
    "entry",
    "exit",
    "qty",
    "fees",
    "pnl",
    "exit reason",
    "entry reason",
    "order id",
)


def _trades_section(numbered: list[tuple[int, Trade]]) -> str:
    head = "".join(f"<th>{h}</th>" for h in TRADE_HEADERS)
    rows = "".join(_trade_row(n, t) for n, t in numbered)
    return (
        f'<section id="trades"><h2>Trades ({len(numbered)})</h2>'
        f'<div class="scroll"><table class="trades"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></div>'
        "</section>"
    )


def _trade_row(n: int, t: Trade) -> str:
    cells = (
        f'<a href="#panel-{n}">{n}</a>',
        escape(t.symbol),
        _side(t),
        iso(t.entry_time),
        iso(t.exit_time or 0),
        f'<span class="num">{t.entry_price}</span>',
        f'<span class="num">{t.exit_price}</span>',
        f'<span class="num">{t.quantity}</span>',
        f'<span class="num">{_money(t.fees)}</span>',
        f'<span class="num{_sign_class(t.pnl)}">{_money(t.pnl)}</span>',
        escape(t.exit_reason),
        escape(t.entry_reason),
        f"<code>{escape(t.client_order_id)}</code>",
    )
    return f'<tr id="trade-{n}">' + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"


def _panels_section(result: BacktestResult, frames: dict[str, CandleFrame], numbered: list[tuple[int, Trade]]) -> str:
    panels = "".join(_trade_panel(n, t, result.intents[t.client_order_id], frames[t.symbol]) for n, t in numbered)
    return (
        '<section id="trade-charts"><h2>Every trade, zoomed: the zones behind it, entry, stop, target and exit</h2>'
        f'<div class="panels">{panels}</div></section>'
    )


def _rejections_section(result: BacktestResult, summary: dict[str, Any]) -> str:
    rows = "".join(
        f"<tr><td>{iso(r.time)}</td><td>{escape(r.symbol)}</td><td>{escape(r.reason)}</td><td>{escape(r.detail)}</td></tr>"
        for r in result.rejections
    )
    return (
        f'<section id="rejections"><h2>Rejected signals ({len(result.rejections)})</h2>'
        f"{_breakdown('rejected_signals', summary['rejected_signals'])}"
        '<details><summary>every rejection</summary><table class="trades rejected"><thead><tr><th>time</th>'
        f"<th>symbol</th><th>reason</th><th>detail</th></tr></thead><tbody>{rows}</tbody></table></details></section>"
    )


# ── one trade ────────────────────────────────────────────────────────────────────────────────────────────────────


def _trade_panel(n: int, trade: Trade, intent: OrderIntent, frame: CandleFrame) -> str:
    """A chart of the trade's own window, from the first justifying zone to a little after the exit."""
    evidence = intent.signal.evidence
    exit_time = trade.exit_time or trade.entry_time
    start = min(trade.entry_time, intent.created_at, *(z.formed_at for z in evidence))
    end = exit_time + frame.timeframe.ms
    pad = max((end - start) // 4, 5 * frame.timeframe.ms)
    tf = _timeframe_for(frame, end - start + 2 * pad, PANEL_MAX_CANDLES)
    t0, t1 = (start - pad) // tf.ms * tf.ms, -(-(end + pad) // tf.ms) * tf.ms
    window = frame.between(t0, t1)
    candles = resample(window, tf) if tf is not frame.timeframe else window
    levels = [float(p) for p in (trade.entry_price, trade.exit_price or trade.entry_price, intent.stop, intent.target)]
    levels += [*(z.top for z in evidence), *(z.bottom for z in evidence)]
    lo, hi = _padded(min([*candles.low.tolist(), *levels]), max([*candles.high.tolist(), *levels]))
    plot = _Plot(t0, t1, lo, hi, left=4, top=6, width=400, height=210)
    parts = [
        _price_axes(plot, ticks=4, time_ticks=4),
        _clipped(
            f"panel-{n}",
            plot,
            _zones([(n, trade)], {trade.client_order_id: intent}, plot),
            _candles(candles, plot),
        ),
        _intent_lines(intent, exit_time, plot),
        _trade_marks(n, trade, plot, frame.timeframe.ms, size=9),
    ]
    svg = _svg(f"panel-svg-{n}", "trade-chart", 470, plot.bottom + 22, parts)
    heading = (
        f'<a href="#trade-{n}">#{n}</a> {escape(trade.symbol)} {_side(trade)} · {tf} · {escape(trade.exit_reason)} · '
        f'<span class="{_sign_class(trade.pnl).strip()}">{_money(trade.pnl)} USDT</span>'
    )
    why = escape(trade.entry_reason) + "".join(f" · {escape(_zone_text(z))}" for z in evidence)
    return (
        f'<figure class="panel" id="panel-{n}"><figcaption>{heading}</figcaption>{svg}<p class="why">{why}</p></figure>'
    )


def _intent_lines(intent: OrderIntent, exit_time: int, plot: _Plot) -> str:
    """Entry, stop and target as placed, from the signal to the exit."""
    x0, x1 = plot.x(intent.created_at), plot.x(exit_time)
    lines = []
    for cls, price, tag in (
        ("entry-line", intent.price, "entry"),
        ("stop", intent.stop, "SL"),
        ("target", intent.target, "TP"),
    ):
        y = plot.y(float(price))
        lines.append(
            f'<line class="{cls}" x1="{x0:.1f}" y1="{y:.1f}" x2="{x1:.1f}" y2="{y:.1f}"/>'
            f'<text class="tag {cls}" text-anchor="end" x="{x1 - 7:.1f}" y="{y - 3:.1f}">{tag} {price}</text>'
        )
    return "".join(lines)


# ── drawing ──────────────────────────────────────────────────────────────────────────────────────────────────────


def _candles(frame: CandleFrame, plot: _Plot) -> str:
    """Candles as two paths (rising, falling): a wick and a body per candle, a few dozen bytes each."""
    step = frame.timeframe.ms
    body = max(plot.width * step / (plot.t1 - plot.t0) * 0.7, 0.6)
    paths: dict[str, list[str]] = {"up": [], "down": []}
    arrays = (frame.open_time, frame.open, frame.high, frame.low, frame.close)
    for t, o, h, low, c in zip(*(a.tolist() for a in arrays), strict=True):
        xc = plot.x(t + step / 2)
        top, bottom = sorted((plot.y(o), plot.y(c)))
        paths["up" if c >= o else "down"].append(
            f"M{xc:.1f} {plot.y(h):.1f}V{plot.y(low):.1f}"
            f"M{xc - body / 2:.1f} {top:.1f}h{body:.1f}v{max(bottom - top, 0.4):.1f}h{-body:.1f}z"
        )
    return "".join(f'<path class="{cls}" d="{"".join(d)}"/>' for cls, d in paths.items() if d)


def _zones(
    numbered: Iterable[tuple[int, Trade]], intents: Mapping[str, OrderIntent], plot: _Plot, labels: bool = True
) -> str:
    """Each trade's justifying records, drawn from when they formed to the trade's exit."""
    return "".join(
        _zone(n, record, trade.exit_time or trade.entry_time, plot, labels)
        for n, trade in numbered
        for record in intents[trade.client_order_id].signal.evidence
    )


def _zone(n: int, record: Any, end: int, plot: _Plot, label: bool) -> str:
    x0 = plot.x(record.formed_at)
    x1 = max(plot.x(end), x0 + 2)
    cls = f"zone {'bull' if record.direction > 0 else 'bear'}"
    title = f"<title>#{n} {escape(_zone_text(record))}</title>"
    y_top, y_bottom = plot.y(record.top), plot.y(record.bottom)
    if record.top == record.bottom:
        shape = (
            f'<line class="{cls} level" x1="{x0:.1f}" y1="{y_top:.1f}" x2="{x1:.1f}" y2="{y_top:.1f}">{title}</line>'
        )
    else:
        shape = (
            f'<rect class="{cls}" x="{x0:.1f}" y="{y_top:.1f}" width="{x1 - x0:.1f}" '
            f'height="{max(y_bottom - y_top, 1):.1f}">{title}</rect>'
        )
    if label:
        shape += f'<text class="zone-label" x="{x0 + 2:.1f}" y="{y_top - 3:.1f}">{escape(record.kind)}</text>'
    return shape


def _zone_text(record: Any) -> str:
    direction = "bullish" if record.direction > 0 else "bearish"
    return (
        f"{direction} {record.kind} {record.bottom:g}–{record.top:g}, formed {iso(record.formed_at)}, "
        f"known {iso(record.known_at)}"
    )


def _trade_marks(
    n: int, trade: Trade, plot: _Plot, base_ms: int, size: float, show_entry: bool = True, show_exit: bool = True
) -> str:
    """Entry triangle (up for a long, down for a short, with the trade's number), exit diamond coloured by outcome,
    joined by a dashed line; a link to the trade's row."""
    xe, ye = plot.x(trade.entry_time + base_ms / 2), plot.y(float(trade.entry_price))
    exit_time = trade.exit_time or trade.entry_time
    xx, yx = plot.x(exit_time + base_ms / 2), plot.y(float(trade.exit_price or trade.entry_price))
    outcome = "win" if trade.pnl > 0 else "loss"
    parts = [f'<line class="link {outcome}" x1="{xe:.1f}" y1="{ye:.1f}" x2="{xx:.1f}" y2="{yx:.1f}"/>']
    if show_entry:
        parts.append(_entry_marker(n, trade, xe, ye, size))
    if show_exit:
        half = size / 2
        diamond = f"{xx:.1f},{yx - half:.1f} {xx + half:.1f},{yx:.1f} {xx:.1f},{yx + half:.1f} {xx - half:.1f},{yx:.1f}"
        text = f"#{n} exit {trade.exit_reason} {trade.exit_price} at {iso(exit_time)} · pnl {_money(trade.pnl)}"
        parts.append(
            f'<polygon class="exit-marker {outcome}" data-trade="{n}" points="{diamond}">'
            f"<title>{escape(text)}</title></polygon>"
        )
    return f'<a href="#trade-{n}" class="trade" data-trade="{n}">{"".join(parts)}</a>'


def _entry_marker(n: int, trade: Trade, x: float, y: float, size: float) -> str:
    sign = trade.side.sign
    side = "long" if sign > 0 else "short"
    tip = y + sign * size
    points = f"{x:.1f},{y:.1f} {x - size / 2:.1f},{tip:.1f} {x + size / 2:.1f},{tip:.1f}"
    text = f"#{n} {side} entry {trade.entry_price} at {iso(trade.entry_time)} · {trade.entry_reason}"
    label_y = tip + sign * 9 + (3 if sign > 0 else 0)
    return (
        f'<polygon class="entry-marker {side}" data-trade="{n}" points="{points}"><title>{escape(text)}</title>'
        f'</polygon><text class="trade-no" text-anchor="middle" x="{x:.1f}" y="{label_y:.1f}">{n}</text>'
    )


def _price_axes(plot: _Plot, ticks: int = 6, time_ticks: int = 9, unit: str = "", time_labels: bool = True) -> str:
    out = [f'<rect class="frame" x="{plot.left}" y="{plot.top}" width="{plot.width}" height="{plot.height}"/>']
    for value in _nice_ticks(plot.lo, plot.hi, ticks):
        y = plot.y(value)
        out.append(
            f'<line class="grid" x1="{plot.left}" y1="{y:.1f}" x2="{plot.right}" y2="{y:.1f}"/>'
            f'<text class="axis" x="{plot.right + 4}" y="{y + 3:.1f}">{value:g}{unit}</text>'
        )
    for t, text in _time_ticks(plot.t0, plot.t1, time_ticks):
        x = plot.x(t)
        out.append(f'<line class="grid" x1="{x:.1f}" y1="{plot.top}" x2="{x:.1f}" y2="{plot.bottom}"/>')
        if time_labels and x < plot.right - 40:  # a label centred on the right edge would overrun the frame
            anchor = "start" if x < plot.left + 40 else "middle"
            out.append(f'<text class="axis" text-anchor="{anchor}" x="{x:.1f}" y="{plot.bottom + 14}">{text}</text>')
    return "".join(out)


def _hline(plot: _Plot, value: float, cls: str, text: str) -> str:
    y = plot.y(value)
    return (
        f'<line class="{cls}" x1="{plot.left}" y1="{y:.1f}" x2="{plot.right}" y2="{y:.1f}"/>'
        f'<text class="axis" x="{plot.left + 4}" y="{y - 4:.1f}">{escape(text)}</text>'
    )


def _polyline(plot: _Plot, times: np.ndarray, values: np.ndarray, cls: str) -> str:
    points = " ".join(f"{plot.x(t):.1f},{plot.y(v):.1f}" for t, v in zip(times.tolist(), values.tolist(), strict=True))
    return f'<polyline class="{cls}" points="{points}"/>'


def _area(plot: _Plot, times: np.ndarray, values: np.ndarray, cls: str) -> str:
    zero = plot.y(0.0)
    line = " ".join(f"{plot.x(t):.1f},{plot.y(v):.1f}" for t, v in zip(times.tolist(), values.tolist(), strict=True))
    first, last = plot.x(float(times[0])), plot.x(float(times[-1]))
    return f'<polygon class="{cls}" points="{first:.1f},{zero:.1f} {line} {last:.1f},{zero:.1f}"/>'


def _point_label(plot: _Plot, t: int, value: float, text: str) -> str:
    x, y = plot.x(t), plot.y(value)
    anchor = "end" if x > plot.left + plot.width * 0.8 else "start"
    shift = -6 if anchor == "end" else 6
    return (
        f'<circle class="marker" cx="{x:.1f}" cy="{y:.1f}" r="3"/>'
        f'<text class="axis strong" text-anchor="{anchor}" x="{x + shift:.1f}" y="{y + 4:.1f}">{escape(text)}</text>'
    )


def _clipped(uid: str, plot: _Plot, *layers: str) -> str:
    """Layers cut to the plot area: zones may reach far beyond the price range of the candles shown."""
    clip_id = f"clip-{escape(uid)}"
    return (
        f'<clipPath id="{clip_id}"><rect x="{plot.left}" y="{plot.top}" width="{plot.width}" height="{plot.height}"/>'
        f'</clipPath><g clip-path="url(#{clip_id})">{"".join(layers)}</g>'
    )


def _svg(svg_id: str, cls: str, width: float, height: float, parts: Iterable[str]) -> str:
    return f'<svg id="{escape(svg_id)}" class="{cls}" viewBox="0 0 {width:.0f} {height:.0f}">{"".join(parts)}</svg>'


# ── scales and numbers ───────────────────────────────────────────────────────────────────────────────────────────


def _timeframe_for(frame: CandleFrame, span_ms: int, max_candles: int) -> Timeframe:
    """The finest timeframe buildable from ``frame`` that shows ``span_ms`` in at most ``max_candles`` candles."""
    buildable = [tf for tf in Timeframe if tf.ms % frame.timeframe.ms == 0]
    return next((tf for tf in buildable if span_ms / tf.ms <= max_candles), buildable[-1])


def _envelope(*series: np.ndarray) -> np.ndarray:
    """Indices keeping each bucket's first, last and extreme points, so a long curve stays small but shows every
    peak and trough."""
    size = len(series[0])
    edges = np.linspace(0, size, min(EQUITY_BUCKETS, size) + 1, dtype=np.int64)
    keep = {0, size - 1}
    for lo, hi in zip(edges[:-1].tolist(), edges[1:].tolist(), strict=True):
        for values in series:
            chunk = values[lo:hi]
            keep.update((lo + int(np.argmin(chunk)), lo + int(np.argmax(chunk))))
    return np.array(sorted(keep), dtype=np.int64)


def _padded(lo: float, hi: float, fraction: float = 0.04) -> tuple[float, float]:
    pad = (hi - lo) * fraction or abs(hi) * 0.001 or 1.0
    return lo - pad, hi + pad


def _nice_ticks(lo: float, hi: float, count: int) -> list[float]:
    raw = (hi - lo) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.ceil(lo / step)
    return [round(i * step, 10) for i in range(first, math.floor(hi / step) + 1)]


def _time_ticks(t0: int, t1: int, count: int) -> list[tuple[int, str]]:
    """Round UTC times: the date at midnight, hours in between, with the date where the day changes."""
    step = next((m * MINUTE_MS for m in TIME_STEPS_MIN if (t1 - t0) / (m * MINUTE_MS) <= count), 30 * 1440 * MINUTE_MS)
    ticks, previous_day = [], None
    for t in range(-(-t0 // step) * step, t1 + 1, step):
        moment = datetime.fromtimestamp(t / 1000, tz=UTC)
        if step >= DAY_MS or t % DAY_MS == 0:
            text = moment.strftime("%b %d")
        elif moment.date() != previous_day:
            text = moment.strftime("%b %d %H:%M")
        else:
            text = moment.strftime("%H:%M")
        previous_day = moment.date()
        ticks.append((t, text))
    return ticks


def _figure(value: Any) -> str:
    """A summary value for reading: long exact decimals to 4 places (summary.json keeps them exact)."""
    if value is None:
        return "-"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "-"
    if isinstance(value, str | Decimal):
        try:
            number = Decimal(value)
        except InvalidOperation:
            return str(value)
        return _money(number) if number.as_tuple().exponent < -4 else str(value)
    return str(value)


def _money(value: Decimal) -> str:
    return f"{value:.4f}"


def _sign_class(value: Any) -> str:
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return ""
    return " pos" if number > 0 else " neg" if number < 0 else ""


def _side(trade: Trade) -> str:
    return '<span class="long">long</span>' if trade.side.sign > 0 else '<span class="short">short</span>'


def _label(key: str) -> str:
    return escape(key.replace("_", " "))


_LEGEND = (
    '<p class="legend"><span class="sw long">▲</span> long entry <span class="sw short">▼</span> short entry '
    '<span class="sw win">◆</span> exit with profit <span class="sw loss">◆</span> exit with loss '
    '<span class="box bull"></span> bullish zone <span class="box bear"></span> bearish zone '
    "(from formation to the trade's exit; hover a shape for details, click a trade to see it in the table)</p>"
)

_CSS = """
:root{--up:#26a69a;--down:#ef5350;--bull:#2e7d32;--bear:#c62828;--ink:#1f2933;--muted:#6b7785;--line:#e3e7ec}
body{font:14px/1.45 system-ui,sans-serif;color:var(--ink);margin:20px 28px;background:#fafbfc}
h1{font-size:22px;margin:0 0 2px}h2{font-size:17px;margin:28px 0 8px}
.muted{color:var(--muted)}.pos{color:var(--bull)}.neg{color:var(--bear)}.long{color:var(--bull)}.short{color:var(--bear)}
.cards{display:flex;flex-wrap:wrap;gap:10px;margin:14px 0}
.card{background:#fff;border:1px solid var(--line);border-radius:6px;padding:8px 14px;min-width:110px}
.card .label{color:var(--muted);font-size:12px}.card .value{font-size:19px;font-weight:600}
svg{display:block;width:100%;height:auto;background:#fff;border:1px solid var(--line);border-radius:6px}
svg text{font:11px system-ui,sans-serif;fill:var(--muted)}svg text.strong{fill:var(--ink);font-weight:600}
.frame{fill:none;stroke:var(--line)}.grid{stroke:#eef1f4;stroke-width:1}
.up{fill:var(--up);stroke:var(--up);stroke-width:.8}.down{fill:var(--down);stroke:var(--down);stroke-width:.8}
.zone.bull{fill:rgba(46,125,50,.16);stroke:rgba(46,125,50,.55);stroke-width:.8}
.zone.bear{fill:rgba(198,40,40,.14);stroke:rgba(198,40,40,.5);stroke-width:.8}
.zone.level{stroke-width:1.5;stroke-dasharray:4 2}
svg text.zone-label{font-size:10px;fill:var(--ink)}
.entry-marker.long{fill:var(--bull);stroke:#fff;stroke-width:.8}.entry-marker.short{fill:var(--bear);stroke:#fff;stroke-width:.8}
.exit-marker{stroke:var(--ink);stroke-width:.8}.exit-marker.win{fill:#a5d6a7}.exit-marker.loss{fill:#ef9a9a}
.link{stroke-width:1.2;stroke-dasharray:3 2}.link.win{stroke:var(--bull)}.link.loss{stroke:var(--bear)}
line.entry-line{stroke:#546e7a;stroke-dasharray:2 2}line.stop{stroke:var(--bear);stroke-dasharray:5 3}
line.target{stroke:var(--bull);stroke-dasharray:5 3}
svg text.tag{font-size:10px;font-weight:600;paint-order:stroke;stroke:#fff;stroke-width:3px}
svg text.stop{fill:var(--bear)}svg text.target{fill:var(--bull)}
svg text.entry-line{fill:#546e7a}
.equity{fill:none;stroke:#1565c0;stroke-width:1.4}.drawdown{fill:rgba(198,40,40,.25);stroke:var(--bear);stroke-width:1}
.initial{stroke:var(--muted);stroke-dasharray:4 3}.marker{fill:var(--bear)}
.legend{font-size:12px;color:var(--muted);margin:0 0 6px}.sw{font-size:13px}
.sw.win{color:#66bb6a}.sw.loss{color:#e57373}
.box{display:inline-block;width:14px;height:10px;vertical-align:middle;border:1px solid}
.box.bull{background:rgba(46,125,50,.16);border-color:rgba(46,125,50,.55)}
.box.bear{background:rgba(198,40,40,.14);border-color:rgba(198,40,40,.5)}
table{border-collapse:collapse;background:#fff;font-size:13px}
th,td{white-space:nowrap;padding:3px 6px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
td.num,.num{text-align:right;font-variant-numeric:tabular-nums}
caption{text-align:left;font-weight:600;padding:4px 0}
.figures{display:flex;flex-wrap:wrap;gap:24px;align-items:flex-start}
.breakdowns{display:flex;flex-direction:column;gap:14px}
.trades tbody tr:nth-child(even){background:#f5f7f9}.trades tr:target{background:#fff3c4}
.trades td:nth-child(12),.rejected td:last-child{white-space:normal;min-width:160px}
.scroll{overflow-x:auto}
.panels{display:grid;grid-template-columns:repeat(auto-fill,minmax(420px,1fr));gap:14px}
.panel{margin:0;background:#fff;border:1px solid var(--line);border-radius:6px;padding:8px}
.panel:target{outline:2px solid #f2b705}.panel svg{border:none}
figcaption{font-weight:600;margin-bottom:4px}.why{font-size:12px;color:var(--muted);margin:4px 0 0}
.rows{display:flex;flex-direction:column;gap:6px}svg text.trade-no{font-size:9px;fill:var(--ink)}
code{font-size:11px}a{color:#1565c0;text-decoration:none}
"""
