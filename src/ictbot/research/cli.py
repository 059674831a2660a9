"""``ictbot optimize``, ``ictbot walkforward`` and ``ictbot baseline``: search settings, test them out of sample, and
say whether the result is more than luck. Heavy imports happen inside the commands, so ``ictbot --help`` stays fast."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

import typer

DataOpt = Annotated[list[Path] | None, typer.Option("--data", help="Candle file; repeat for more symbols.")]
SymbolOpt = Annotated[
    list[str] | None,
    typer.Option("--symbol", help="Symbol of each --data file (in order); without --data, read from the store."),
]
StartOpt = Annotated[str | None, typer.Option("--from", help="First candle (UTC date/time).")]
EndOpt = Annotated[str | None, typer.Option("--to", help="End, exclusive (UTC date/time).")]
StoreOpt = Annotated[Path, typer.Option("--store", help="History store read with --symbol and no --data.")]
TimeframeOpt = Annotated[str, typer.Option("--timeframe", help="Stored candle timeframe to read.")]
ConfigOpt = Annotated[Path | None, typer.Option("--config", help="YAML settings file.")]
TrialsOpt = Annotated[int, typer.Option("--trials", min=1, help="Completed trials the study should hold.")]
ObjectiveOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--objective",
        help="expectancy_r, sharpe, sortino, calmar, profit_factor or net_pnl; repeat for a multi-objective "
        "study (NSGA-II).",
    ),
]
MinTradesOpt = Annotated[int, typer.Option("--min-trades", min=0, help="Trials with fewer trades are infeasible.")]
RiskOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--risk",
        help="Also search this risk setting: risk_per_trade_pct, leverage, max_position_margin_usdt, "
        "max_open_positions.",
    ),
]
StudyOpt = Annotated[str | None, typer.Option("--study", help="Study name; the same name resumes it.")]
StorageOpt = Annotated[
    str | None,
    typer.Option("--storage", help="Study database: a SQLite file or a URL (postgresql://…). Default: data_dir."),
]
JobsOpt = Annotated[int, typer.Option("--jobs", min=1, help="Local worker processes.")]
RayOpt = Annotated[
    str | None, typer.Option("--ray", help="Run trials as Ray tasks: a cluster address, or `local` to start one.")
]
SeedOpt = Annotated[int, typer.Option("--seed", help="Seed of the sampler and of every random draw in the report.")]
RunsOpt = Annotated[int, typer.Option("--baseline-runs", min=0, help="Random-entry runs (0: no baseline).")]
OutOpt = Annotated[Path | None, typer.Option("--out", help="Directory for the report files.")]

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([mhdw])\s*$")
_UNIT_MS = {"m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 7 * 86_400_000}


def parse_duration(text: str, option: str) -> int:
    match = _DURATION.match(text)
    if not match:
        raise typer.BadParameter(f"{text!r} is not a duration; use e.g. 90m, 12h, 30d or 4w", param_hint=option)
    return int(float(match.group(1)) * _UNIT_MS[match.group(2)])


class _Inputs:
    """Settings, frames and funding as every research command reads them."""

    def __init__(self, config, data, symbol, start, end, store, timeframe) -> None:
        from ictbot.cli_support import parse_date, with_symbols
        from ictbot.config import load_settings
        from ictbot.domain import Timeframe
        from ictbot.research.inputs import load_inputs

        try:
            tf = Timeframe.parse(timeframe)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--timeframe") from None
        self.start, self.end = parse_date(start, "--from"), parse_date(end, "--to")
        settings = load_settings(config)
        self.frames, self.funding = load_inputs(data, symbol, self.start, self.end, store, tf)
        self.settings = with_symbols(settings, self.frames)


class _Study:
    """What optimize and walkforward both set up from their shared options: inputs, the problem, the database."""

    def __init__(
        self, kind, config, data, symbol, start, end, store, timeframe, objective, min_trades, risk, study, storage
    ):
        from ictbot.research.optimize import Problem, storage_url

        self.objectives = tuple(objective or ["expectancy_r"])
        self.inputs = inputs = _Inputs(config, data, symbol, start, end, store, timeframe)
        self.settings = inputs.settings
        self.problem = Problem(
            self.settings, inputs.frames, self.objectives, min_trades, tuple(risk or ()), inputs.funding
        )
        self.url = storage_url(storage, self.settings.data_dir)
        self.name = study or _default_study(self.settings, self.objectives, start, end, kind)

    def folder(self, out: Path | None) -> Path:
        """Where the report files go: ``--out``, else a folder named after the study under the data directory."""
        return out or self.settings.data_dir / "studies" / re.sub(r"[^A-Za-z0-9_.+-]", "_", self.name)


def _fail(exc: Exception) -> typer.Exit:
    from ictbot.cli_support import fail

    return fail(exc)


def _progress(console, label: str, total: int):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    progress = Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("best {task.fields[best]}"),
        TimeRemainingColumn(),
        console=console,
    )
    task = progress.add_task("trials", total=total, best="-")

    def update(done: int, best: float | None) -> None:
        progress.update(task, completed=done, best="-" if best is None else f"{best:.4g}")

    return progress, update, task


def _rows(trials: list[Any]) -> list[dict[str, Any]]:
    return [
        {"number": t.number, "values": list(t.values), "trades": int(t.user_attrs.get("trades", 0)), "params": t.params}
        for t in trials
    ]


def _default_study(settings, objectives: tuple[str, ...], start, end, kind: str) -> str:
    symbols = "-".join(settings.symbols)
    span = f"{start or 'start'}-{end or 'end'}"
    return f"{kind}-{settings.strategy.name}-{symbols}-{span}-{'+'.join(objectives)}"


def optimize(
    data: DataOpt = None,
    symbol: SymbolOpt = None,
    start: StartOpt = None,
    end: EndOpt = None,
    store: StoreOpt = Path("ictbot-data/history"),
    timeframe: TimeframeOpt = "1m",
    config: ConfigOpt = None,
    trials: TrialsOpt = 100,
    objective: ObjectiveOpt = None,
    min_trades: MinTradesOpt = 10,
    risk: RiskOpt = None,
    study: StudyOpt = None,
    storage: StorageOpt = None,
    jobs: JobsOpt = 1,
    ray: RayOpt = None,
    seed: SeedOpt = 0,
    baseline_runs: RunsOpt = 100,
    out: OutOpt = None,
) -> None:
    """Search the strategy's declared parameter ranges with Optuna; resumable, parallel, with an overfitting check."""
    from rich.console import Console

    from ictbot.backtest.runner import run_backtest
    from ictbot.errors import IctbotError
    from ictbot.research import report
    from ictbot.research.evidence import edge_evidence, study_evidence
    from ictbot.research.optimize import best_trials, completed, feasible, run_study, variant

    console = Console()
    try:
        setup = _Study(
            "optimize", config, data, symbol, start, end, store, timeframe, objective, min_trades, risk, study, storage
        )
        inputs, settings, problem, objectives = setup.inputs, setup.settings, setup.problem, setup.objectives
        url, name = setup.url, setup.name
        progress, update, _ = _progress(console, "optimize", trials)
        with progress:
            result_study = run_study(problem, url, name, trials, jobs, ray, seed, update)
        done = completed(result_study)
        best = best_trials(result_study, min_trades)
        console.print(f"study {name!r} in {url}: {len(done)} completed trials", highlight=False)
        shown = (
            best
            if len(objectives) > 1
            else sorted((t for t in done if feasible(t, min_trades)), key=lambda t: -t.values[0])
        )
        title = "Pareto front" if len(objectives) > 1 else "best feasible trials"
        console.print(report.trials_table(_rows(shown[:10]), objectives, title))
        if not best:
            console.print(
                f"[yellow]No trial reached --min-trades {min_trades}[/]: lower it or give more history.",
                highlight=False,
            )
            return
        chosen = variant(settings, best[0].params)
        result = run_backtest(chosen, inputs.frames, funding=inputs.funding)
        evidence = edge_evidence(chosen, inputs.frames, result, baseline_runs, seed, inputs.funding)
        selection = study_evidence(done, best[0])
        report.print_evidence(evidence, console)
        console.print(f"[bold]selection bias:[/] {report.escape_markup(selection['verdict'])}", highlight=False)
        folder = setup.folder(out)
        written = report.write_files(
            folder,
            {
                "best.yaml": report.settings_yaml(chosen),
                "optimize.json": report.to_json(
                    {
                        "study": name,
                        "storage": url,
                        "best": _rows(best[:1])[0],
                        "pareto": _rows(best),
                        "edge_evidence": evidence,
                        "selection": selection,
                    }
                ),
                "report.html": _optimize_html(name, result_study, done, best, result, evidence, selection, problem),
            },
        )
        console.print("Wrote " + ", ".join(str(p) for p in written), highlight=False)
        console.print(f"Run these settings with: ictbot backtest --config {folder / 'best.yaml'}", highlight=False)
    except IctbotError as exc:
        raise _fail(exc) from None


def _optimize_html(name, study, done, best, result, evidence, selection, problem) -> str:
    from ictbot.backtest.report import summarize
    from ictbot.research import report

    importances: dict[str, float] = {}
    try:
        import optuna

        importances = optuna.importance.get_param_importances(
            study, evaluator=optuna.importance.PedAnovaImportanceEvaluator(), target=lambda t: -t.values[0]
        )
    except (ValueError, RuntimeError, ZeroDivisionError):
        importances = {}
    summary = summarize(result)
    return report.page(
        f"Optimisation {name}",
        [
            f"<p class='muted'>{len(done)} completed trials · objectives {', '.join(problem.objectives)} · "
            f"at least {problem.min_trades} trades</p>",
            "<h2>Best trial</h2>" + report.kv_table({"trial": best[0].number, **best[0].params}),
            "<h2>Parameter importance (PED-ANOVA, first objective)</h2>" + report.importance_svg(importances),
            "<h2>History (grey: too few trades; red: best so far)</h2>"
            + report.history_svg(_rows(done), problem.min_trades),
            "<h2>The best trial's backtest</h2>" + report.kv_table(summary),
            report.equity_svg(result.equity_time, result.equity),
            report.evidence_html(evidence),
            report.study_html(selection),
        ],
    )


def walkforward(
    data: DataOpt = None,
    symbol: SymbolOpt = None,
    start: StartOpt = None,
    end: EndOpt = None,
    store: StoreOpt = Path("ictbot-data/history"),
    timeframe: TimeframeOpt = "1m",
    config: ConfigOpt = None,
    train: Annotated[str, typer.Option("--train", help="Train window length, e.g. 14d.")] = "14d",
    test: Annotated[str, typer.Option("--test", help="Test window length, e.g. 7d.")] = "7d",
    step: Annotated[str | None, typer.Option("--step", help="Window step (default: the test length).")] = None,
    anchored: Annotated[bool, typer.Option("--anchored", help="Train windows all start at the beginning.")] = False,
    trials: TrialsOpt = 30,
    objective: ObjectiveOpt = None,
    min_trades: MinTradesOpt = 3,
    risk: RiskOpt = None,
    study: StudyOpt = None,
    storage: StorageOpt = None,
    jobs: JobsOpt = 1,
    ray: RayOpt = None,
    seed: SeedOpt = 0,
    baseline_runs: RunsOpt = 100,
    out: OutOpt = None,
) -> None:
    """Optimise on each train window, trade the result on the next test window: the out-of-sample record."""
    from rich.console import Console
    from rich.table import Table

    from ictbot.data.frame import iso
    from ictbot.errors import IctbotError
    from ictbot.research import report
    from ictbot.research.evidence import Part, combined_evidence
    from ictbot.research.walkforward import walk_forward, windows

    console = Console()
    try:
        setup = _Study(
            "walkforward",
            config,
            data,
            symbol,
            start,
            end,
            store,
            timeframe,
            objective,
            min_trades,
            risk,
            study,
            storage,
        )
        inputs, settings, problem, objectives = setup.inputs, setup.settings, setup.problem, setup.objectives
        url, prefix = setup.url, setup.name
        first = min(int(f.open_time[0]) for f in inputs.frames)
        last = max(int(f.open_time[-1]) for f in inputs.frames) + inputs.frames[0].timeframe.ms
        plan = windows(
            first,
            last,
            parse_duration(train, "--train"),
            parse_duration(test, "--test"),
            None if step is None else parse_duration(step, "--step"),
            anchored,
        )
        console.print(f"{len(plan)} windows, {trials} trials each, studies {prefix}-w0… in {url}", highlight=False)

        def show(k, item) -> None:
            oos = item.out_of_sample
            console.print(
                f"window {k}: {item.window.label()} · IS {item.in_sample.get(objectives[0], float('nan')):.4g} · "
                f"OOS {oos[objectives[0]]:.4g}, {int(oos['trades'])} trades, net {oos['net_pnl']:.4f}",
                highlight=False,
            )

        wf = walk_forward(problem, plan, trials, url, prefix, jobs, ray, seed, on_window=show)
        table = Table(title="walk-forward: out of sample")
        for column in ("window", "test from", "test to", "trades", "net PnL", objectives[0], "IS " + objectives[0]):
            table.add_column(column, justify="right")
        for k, item in enumerate(wf.windows):
            table.add_row(
                str(k),
                iso(item.window.test_start),
                iso(item.window.test_end),
                str(int(item.out_of_sample["trades"])),
                f"{item.out_of_sample['net_pnl']:.4f}",
                f"{item.out_of_sample[objectives[0]]:.4g}",
                f"{item.in_sample.get(objectives[0], float('nan')):.4g}",
            )
        console.print(table)
        for key, value in wf.summary.items():
            console.print(f"  {key.replace('_', ' ')}: {value}", highlight=False)
        parts = [Part(w.settings, w.frames, w.result, inputs.funding) for w in wf.windows]
        evidence = combined_evidence(parts, baseline_runs, seed) if baseline_runs else None
        if evidence is not None:
            report.print_evidence(evidence, console)
        folder = setup.folder(out)
        per_window = [
            {
                "window": k,
                "train_start": iso(w.window.train_start),
                "train_end": iso(w.window.train_end),
                "test_start": iso(w.window.test_start),
                "test_end": iso(w.window.test_end),
                "params": w.params,
                "feasible_optimum": w.feasible,
                "in_sample": w.in_sample,
                "out_of_sample": w.out_of_sample,
            }
            for k, w in enumerate(wf.windows)
        ]
        equity_csv = "time,equity\n" + "".join(
            f"{iso(int(t))},{e:.8f}\n" for t, e in zip(wf.equity_time, wf.equity, strict=True)
        )
        html = report.page(
            f"Walk-forward {', '.join(settings.symbols)}",
            [
                "<h2>Summary</h2>" + report.kv_table(wf.summary),
                "<h2>Stitched out-of-sample equity (grey lines: window starts)</h2>"
                + report.equity_svg(wf.equity_time, wf.equity, [w.window.test_start for w in wf.windows]),
                "<h2>Windows</h2>"
                + "".join(
                    f"<h3>window {w['window']}: test {w['test_start']} → {w['test_end']}</h3>"
                    + report.kv_table({"feasible optimum": w["feasible_optimum"], **w["params"]})
                    + report.kv_table({f"OOS {k}": v for k, v in w["out_of_sample"].items()})
                    for w in per_window
                ),
                report.evidence_html(evidence) if evidence else "",
            ],
        )
        written = report.write_files(
            folder,
            {
                "walkforward.json": report.to_json(
                    {"summary": wf.summary, "windows": per_window, "edge_evidence": evidence}
                ),
                "oos_equity.csv": equity_csv,
                "report.html": html,
            },
        )
        console.print("Wrote " + ", ".join(str(p) for p in written), highlight=False)
    except IctbotError as exc:
        raise _fail(exc) from None


def baseline(
    data: DataOpt = None,
    symbol: SymbolOpt = None,
    start: StartOpt = None,
    end: EndOpt = None,
    store: StoreOpt = Path("ictbot-data/history"),
    timeframe: TimeframeOpt = "1m",
    config: ConfigOpt = None,
    runs: Annotated[int, typer.Option("--runs", min=1, help="Random-entry runs.")] = 200,
    seed: SeedOpt = 0,
    out: OutOpt = None,
) -> None:
    """Backtest the configured strategy and place it among random entries under identical rules."""
    from rich.console import Console

    from ictbot.backtest.runner import run_backtest
    from ictbot.errors import IctbotError
    from ictbot.research import report
    from ictbot.research.evidence import edge_evidence
    from ictbot.sample import sample_path

    console = Console()
    try:
        if not data and not symbol:
            data = [sample_path()]
            console.print(f"No --data given: using the bundled sample {sample_path().name}", highlight=False)
        inputs = _Inputs(config, data, symbol, start, end, store, timeframe)
        result = run_backtest(inputs.settings, inputs.frames, funding=inputs.funding)
        console.print(
            f"{inputs.settings.strategy.name} on {', '.join(inputs.settings.symbols)}: {len(result.signals)} signals, "
            f"{len(result.trades)} trades, net PnL {result.final_equity - result.portfolio.initial_equity} USDT",
            highlight=False,
        )
        evidence = edge_evidence(inputs.settings, inputs.frames, result, runs, seed, inputs.funding)
        report.print_evidence(evidence, console)
        if out is not None:
            written = report.write_files(out, {"baseline.json": report.to_json(evidence)})
            console.print("Wrote " + ", ".join(str(p) for p in written), highlight=False)
    except IctbotError as exc:
        raise _fail(exc) from None
