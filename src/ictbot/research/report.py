"""What the research commands print and write: tables, the best settings as YAML, JSON and self-contained HTML."""

from __future__ import annotations

import json
from html import escape
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from rich.console import Console
from rich.table import Table

from ictbot.config import Settings
from ictbot.data.frame import iso

_CSS = """body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1200px;color:#222}
h1{font-size:22px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:8px 0}td,th{padding:3px 10px;border-bottom:1px solid #eee;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums}.verdict{font-size:16px;font-weight:600;margin:10px 0}
.warn{color:#a15c00}.muted{color:#777}svg{background:#fafafa;border:1px solid #eee}
.pt{fill:#4a78c2;opacity:.6}.bad{fill:#bbb}.best{fill:none;stroke:#d33;stroke-width:2}
.eq{fill:none;stroke:#2a7;stroke-width:1.5}.bar{fill:#4a78c2}"""


def settings_yaml(settings: Settings) -> str:
    """The parts a study can change, as a YAML file ``--config`` accepts (secrets and machine paths left out)."""
    dumped = settings.model_dump(mode="json")
    chosen = {key: dumped[key] for key in ("symbols", "strategy", "risk", "backtest")}
    return yaml.safe_dump(chosen, sort_keys=False)


def write_files(out: Path, contents: dict[str, str]) -> list[Path]:
    """Each file written aside and renamed: it appears whole or not at all."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in contents.items():
        tmp = out / f".{name}.partial"
        try:
            tmp.write_text(text, encoding="utf-8")
            tmp.replace(out / name)
        finally:
            tmp.unlink(missing_ok=True)
        written.append(out / name)
    return written


def to_json(data: Any) -> str:
    return json.dumps(data, indent=2, default=str) + "\n"


# ── terminal ────────────────────────────────────────────────────────────────────────────────────────────────────


def trials_table(rows: list[dict[str, Any]], objectives: tuple[str, ...], title: str) -> Table:
    table = Table(title=title)
    for column in ("trial", *objectives, "trades", "params"):
        table.add_column(column, justify="right" if column != "params" else "left")
    for row in rows:
        table.add_row(
            str(row["number"]),
            *(f"{v:.4g}" for v in row["values"]),
            str(row["trades"]),
            ", ".join(f"{k}={_short(v)}" for k, v in row["params"].items()),
        )
    return table


def print_evidence(section: dict[str, Any], console: Console) -> None:
    """The edge-evidence section as a few plain lines."""
    console.print("[bold]Edge evidence[/]")
    baseline = section.get("baseline")
    if baseline:
        pnl, r = baseline["net_pnl"], baseline["mean_r"]
        console.print(
            f"  random-entry baseline ({baseline['runs']} runs, seed {section['seed']}): net PnL {pnl['observed']:.4f} "
            f"at the {ordinal(pnl['percentile'])} percentile (p = {pnl['p_value']:.3f}, "
            f"median {pnl['baseline_median']:.4f}); mean R {r['observed']:.3f} at the {ordinal(r['percentile'])} "
            f"(p = {r['p_value']:.3f})",
            highlight=False,
        )
    for name, ci in section["bootstrap"].items():
        if ci["estimate"] is not None:
            console.print(
                f"  {name.replace('_', ' ')}: {ci['estimate']} (95 % CI {ci['low']} … {ci['high']})", highlight=False
            )
    dd = section["drawdown_monte_carlo"]
    console.print(
        f"  max drawdown: observed {dd['observed']:.4f}, trade-order Monte Carlo median {dd['median']:.4f}, "
        f"95th percentile {dd['p95']:.4f}",
        highlight=False,
    )
    console.print(f"[bold]verdict:[/] {escape_markup(section['verdict'])}", highlight=False)
    for warning in section["warnings"]:
        console.print(f"[yellow]warning:[/] {escape_markup(warning)}", highlight=False)


def ordinal(percentile: float) -> str:
    n = round(percentile)
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def escape_markup(text: str) -> str:
    return text.replace("[", r"\[")


def _short(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


# ── HTML ────────────────────────────────────────────────────────────────────────────────────────────────────────


def page(title: str, sections: list[str]) -> str:
    body = "\n".join([f"<h1>{escape(title)}</h1>", *sections])
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{_CSS}</style></head>\n<body>\n{body}\n</body></html>\n"
    )


def kv_table(values: dict[str, Any]) -> str:
    rows = "".join(
        f"<tr><th>{escape(str(k).replace('_', ' '))}</th><td class='num'>{escape(_short(v))}</td></tr>"
        for k, v in values.items()
        if not isinstance(v, dict | list)
    )
    return f"<table>{rows}</table>"


def evidence_html(section: dict[str, Any]) -> str:
    """The "Edge evidence" section of every report."""
    parts = [f"<p class='verdict'>{escape(section['verdict'])}</p>"]
    parts += [f"<p class='warn'>⚠ {escape(w)}</p>" for w in section["warnings"]]
    baseline = section.get("baseline")
    if baseline:
        parts.append(
            f"<h3>Random-entry baseline ({baseline['runs']} runs, seed {section['seed']})</h3>"
            "<p class='muted'>The same number of signals with the strategy's own entry/stop/target geometry at random "
            "times and directions, through the same risk gate, fees, slippage and funding. p: the share of random "
            "runs that did at least as well.</p>"
        )
        parts.append(
            "<table><tr><th></th><th>observed</th><th>percentile</th><th>one-sided p</th><th>baseline median</th></tr>"
            + "".join(
                f"<tr><th>{label}</th><td class='num'>{b['observed']}</td><td class='num'>{b['percentile']}</td>"
                f"<td class='num'>{b['p_value']}</td><td class='num'>{b['baseline_median']}</td></tr>"
                for label, b in (("net PnL (USDT)", baseline["net_pnl"]), ("mean R", baseline["mean_r"]))
            )
            + "</table>"
        )
    parts.append(
        "<h3>Bootstrap 95 % intervals (per trade)</h3>"
        "<table><tr><th></th><th>estimate</th><th>low</th><th>high</th></tr>"
        + "".join(
            f"<tr><th>{escape(name.replace('_', ' '))}</th><td class='num'>{ci['estimate']}</td>"
            f"<td class='num'>{ci['low']}</td><td class='num'>{ci['high']}</td></tr>"
            for name, ci in section["bootstrap"].items()
        )
        + "</table>"
    )
    parts.append(
        "<h3>Max drawdown if the same trades came in another order (USDT)</h3>"
        + kv_table(section["drawdown_monte_carlo"])
    )
    return f"<section id='edge-evidence'><h2>Edge evidence</h2>{''.join(parts)}</section>"


def study_html(study_ev: dict[str, Any]) -> str:
    return (
        "<section id='overfitting'><h2>Selection bias of the optimisation</h2>"
        f"<p class='verdict'>{escape(study_ev['verdict'])}</p>{kv_table(study_ev)}</section>"
    )


def history_svg(rows: list[dict[str, Any]], min_trades: int) -> str:
    """Each trial's first objective in trial order, infeasible trials grey, the running best as a line."""
    if not rows:
        return "<p>No completed trials.</p>"
    rows = sorted(rows, key=lambda r: r["number"])
    xs = np.array([r["number"] for r in rows], dtype=float)
    ys = np.array([r["values"][0] for r in rows], dtype=float)
    ok = np.array([r["trades"] >= min_trades for r in rows])
    lo, hi = float(ys.min()), float(ys.max())
    hi = hi if hi > lo else lo + 1
    w, h = 1100, 300

    def px(x: float) -> float:
        return 10 + (x - xs.min()) / max(xs.max() - xs.min(), 1) * (w - 20)

    def py(y: float) -> float:
        return h - 10 - (y - lo) / (hi - lo) * (h - 20)

    dots = "".join(
        f"<circle class='{'pt' if good else 'bad'}' cx='{px(x):.1f}' cy='{py(y):.1f}' r='3'/>"
        for x, y, good in zip(xs, ys, ok, strict=True)
    )
    best = np.maximum.accumulate(np.where(ok, ys, -np.inf))
    line = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in zip(xs, best, strict=True) if np.isfinite(y))
    label = f"<text x='12' y='14'>max {hi:.4g}</text><text x='12' y='{h - 14}'>min {lo:.4g}</text>"
    return f"<svg width='{w}' height='{h}'>{dots}<polyline class='best' points='{line}'/>{label}</svg>"


def importance_svg(importances: dict[str, float]) -> str:
    if not importances:
        return "<p>Parameter importance needs at least two completed trials with different values.</p>"
    bars = []
    for i, (name, value) in enumerate(sorted(importances.items(), key=lambda kv: -kv[1])):
        y = 6 + i * 24
        bars.append(
            f"<text x='6' y='{y + 15}'>{escape(name)}</text><rect class='bar' x='220' y='{y}' "
            f"width='{max(1.0, value * 800):.1f}' height='18'/><text x='{226 + value * 800:.1f}' y='{y + 15}'>"
            f"{value:.2f}</text>"
        )
    return f"<svg width='1100' height='{12 + 24 * len(importances)}'>{''.join(bars)}</svg>"


def equity_svg(times: np.ndarray, equity: np.ndarray, marks: list[int] | None = None) -> str:
    if len(times) < 2:
        return "<p>Not enough points for a curve.</p>"
    step = max(1, len(times) // 2000)
    t, e = times[::step], equity[::step]
    w, h = 1100, 260
    lo, hi = float(e.min()), float(e.max())
    hi = hi if hi > lo else lo + 1
    t0, t1 = float(t[0]), float(t[-1])

    def px(x: float) -> float:
        return 10 + (x - t0) / max(t1 - t0, 1) * (w - 20)

    points = " ".join(f"{px(x):.1f},{h - 10 - (y - lo) / (hi - lo) * (h - 20):.1f}" for x, y in zip(t, e, strict=True))
    bounds = "".join(f"<line x1='{px(m):.1f}' x2='{px(m):.1f}' y1='0' y2='{h}' stroke='#ccc'/>" for m in marks or [])
    label = (
        f"<text x='12' y='14'>{hi:.2f}</text><text x='12' y='{h - 14}'>{lo:.2f}</text>"
        f"<text x='{w - 300}' y='{h - 14}'>{iso(int(t0))} → {iso(int(t1))}</text>"
    )
    return f"<svg width='{w}' height='{h}'>{bounds}<polyline class='eq' points='{points}'/>{label}</svg>"
