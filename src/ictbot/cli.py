"""The ``ictbot`` command line. Each command imports its implementation when it runs, so that ``ictbot --help`` and
the light commands do not pay for the detectors' compiler, the database layer or the exchange client."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from ictbot import config_reference
from ictbot.cli_support import fail as _fail
from ictbot.cli_support import parse_date as _parse_date
from ictbot.cli_support import with_symbols as _with_symbols
from ictbot.data.download_cli import register as register_download_command
from ictbot.domain import Timeframe
from ictbot.errors import ConfigError, IctbotError
from ictbot.exchange.cli import exchange_app
from ictbot.ict.cli import register as register_ict_command
from ictbot.lazy import loading_implementation as _loading_implementation
from ictbot.research import cli as research_cli
from ictbot.runtime.cli import register as register_flatten_command
from ictbot.storage.cli import app as db_app
from ictbot.strategy_tools.cli import strategy_app

if TYPE_CHECKING:
    from ictbot.config import Settings
    from ictbot.data.frame import CandleFrame

app = typer.Typer(help="ictbot: ICT trading bot for Binance USDT-M perpetual futures.", no_args_is_help=True)
data_app = typer.Typer(help="Inspect and convert candle files.", no_args_is_help=True)
app.add_typer(data_app, name="data")
app.add_typer(exchange_app, name="exchange")
app.add_typer(strategy_app, name="strategy")
app.add_typer(db_app, name="db")
register_flatten_command(app)
console = Console()


@app.command("check-config")
def check_config(
    file: Annotated[Path | None, typer.Argument(help="YAML settings file (optional).")] = None,
) -> None:
    """Print the effective settings (secrets redacted), or every validation error at once (exit code 2)."""
    import yaml

    from ictbot.config import load_settings

    try:
        settings = load_settings(file)
    except ConfigError as exc:
        raise _fail(exc) from None
    shown = settings.redacted()
    shown["derived_timeframes"] = sorted((tf.value for tf in settings.timeframes), key=lambda v: Timeframe(v).ms)
    console.print(yaml.safe_dump(shown, sort_keys=False), end="", highlight=False, markup=False)


@app.command()
def backtest(
    data: Annotated[list[Path] | None, typer.Option("--data", help="Candle file; repeat for more symbols.")] = None,
    symbol: Annotated[
        list[str] | None,
        typer.Option(help="Symbol of each --data file (in order); without --data, read from the history store."),
    ] = None,
    config: Annotated[Path | None, typer.Option("--config", help="YAML settings file.")] = None,
    start: Annotated[str | None, typer.Option("--from", help="First candle (UTC date/time).")] = None,
    end: Annotated[str | None, typer.Option("--to", help="End, exclusive (UTC date/time).")] = None,
    store: Annotated[Path, typer.Option("--store", help="History store read with --symbol and no --data.")] = Path(
        "ictbot-data/history"
    ),
    baseline_runs: Annotated[
        int, typer.Option("--baseline-runs", min=0, help="Random-entry runs of the edge evidence (0: none).")
    ] = 50,
    out: Annotated[
        Path | None, typer.Option(help="Directory for summary.json, trades.csv, equity.csv and report.html.")
    ] = None,
) -> None:
    """Backtest the configured strategy on history (the bundled BTCUSDT sample when no --data is given)."""
    with _loading_implementation():
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        from ictbot.backtest.report import print_summary, summarize, write_outputs
        from ictbot.backtest.runner import run_backtest
        from ictbot.config import load_settings
        from ictbot.research.evidence import edge_evidence
        from ictbot.research.inputs import load_inputs
        from ictbot.research.report import evidence_html, print_evidence
        from ictbot.sample import sample_path

    start_ms, end_ms = _parse_date(start, "--from"), _parse_date(end, "--to")
    try:
        settings = load_settings(config)
        if not data and not symbol:
            data = [sample_path()]
            console.print(f"No --data given: using the bundled sample {sample_path().name}", highlight=False)
        frames, funding = load_inputs(data, symbol, start_ms, end_ms, store)
        settings = _with_symbols(settings, frames)
        total = sum(len(f) for f in frames)
        with Progress(
            TextColumn("backtest"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=console
        ) as progress:
            task = progress.add_task("candles", total=total)
            result = run_backtest(settings, frames, progress=lambda n: progress.advance(task, n), funding=funding)
        summary = summarize(result)
        print_summary(summary, console)
        if baseline_runs:
            summary["edge_evidence"] = edge_evidence(settings, frames, result, baseline_runs, 0, funding)
            print_evidence(summary["edge_evidence"], console)
        if out is not None:
            evidence = [evidence_html(summary["edge_evidence"])] if "edge_evidence" in summary else []
            written = write_outputs(result, summary, out, frames, evidence)
            console.print("Wrote " + ", ".join(str(p) for p in written), highlight=False)
    except IctbotError as exc:
        raise _fail(exc) from None


@app.command()
def run(
    config: Annotated[Path | None, typer.Option("--config", help="YAML settings file.")] = None,
    duration: Annotated[float | None, typer.Option(help="Stop after this many seconds (demos, scripts).")] = None,
) -> None:
    """Run the bot. The default is offline: the local exchange replays the bundled sample and the bot trades its
    funded test account."""
    import asyncio
    import signal

    from ictbot import event_loop
    from ictbot.compose import build_engine
    from ictbot.config import load_settings
    from ictbot.runtime.operations import DataDirLock, secret_values, setup_logging
    from ictbot.runtime.preflight import open_database
    from ictbot.storage import BotIdentity

    lock = None
    try:
        settings = load_settings(config)
        lock = DataDirLock(settings.data_dir)
        lock.acquire()
        recorder = open_database(settings.database_url, bot=settings.bot_name)
        recorder.claim_bot(BotIdentity.of(settings))
    except IctbotError as exc:
        if lock is not None:
            lock.release()
        raise _fail(exc) from None
    log_file = setup_logging(settings.data_dir, format=settings.logging.format, secrets=secret_values(settings))
    console.print(f"Logging to {log_file}; press Ctrl-C to stop.", highlight=False)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        if duration is not None:
            loop.call_later(duration, stop.set)
        await build_engine(settings, recorder).run(stop)

    try:
        event_loop.run(main())
    except IctbotError as exc:
        raise _fail(exc) from None
    finally:
        lock.release()


@app.command()
def status(
    url: Annotated[
        str | None, typer.Option(help="The bot's API, e.g. http://127.0.0.1:8000 (default: from settings).")
    ] = None,
    config: Annotated[Path | None, typer.Option("--config", help="YAML settings file (for api.host/api.port).")] = None,
) -> None:
    """Print a running bot's status from its HTTP API: trading state, readiness, tasks, streams and counts."""
    import json
    import urllib.error
    import urllib.request

    from rich.table import Table

    from ictbot.config import load_settings
    from ictbot.data.frame import iso
    from ictbot.money import usdt
    from ictbot.runtime.control_token import control_token, token_path

    try:
        settings: Settings | None = load_settings(config)
    except ConfigError as exc:
        if url is None or config is not None:
            raise _fail(exc) from None
        settings = None
    if url is None:
        assert settings is not None
        url = f"http://{settings.api.host}:{settings.api.port}"
    token = None if settings is None else control_token(settings, create=False)
    headers = {} if token is None else {"Authorization": f"Bearer {token.get_secret_value()}"}
    try:
        with urllib.request.urlopen(
            urllib.request.Request(f"{url.rstrip('/')}/status", headers=headers), timeout=10
        ) as response:
            body = json.load(response)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise _fail(
            IctbotError(
                f"no bot answers at {url} ({getattr(exc, 'reason', exc)}); is `ictbot run` running with the "
                "API enabled (api.enabled, api.host, api.port)?"
            )
        ) from None
    ready = "ready" if body["ready"] else f"NOT READY ({', '.join(body['failing'])})"
    trading = body["trading"]
    console.print(
        f"{body['mode']} on {body['venue']['kind']} · strategy {body['strategy']} · up {body['uptime_seconds']:.0f} s\n"
        f"trading {trading['state']}{': ' + trading['reason'] if trading['reason'] else ''} · {ready} · "
        f"equity {usdt(body['equity'])} · open positions {body['open_positions']}",
        highlight=False,
        markup=False,
    )
    if settings is not None:
        source = "api.token" if settings.api.token is not None else str(token_path(settings))
        console.print(
            _control_line(body.get("control"), source, body.get("api_url") or url),
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
    tasks = Table("task", "state", "beat age (s)", "restarts", "last error", title="tasks")
    for task in body["tasks"]:
        age = "-" if task["beat_age_seconds"] is None else f"{task['beat_age_seconds']:.0f}"
        tasks.add_row(task["name"], task["state"], age, str(task["restarts"]), task["last_error"] or "")
    streams = Table("stream", "newest candle", "close", "age (s)", "candles", title="streams")
    for stream in body["streams"]:
        newest = stream["newest_candle"]
        age = "-" if stream["age_seconds"] is None else f"{stream['age_seconds']:.0f}"
        streams.add_row(
            stream["stream"],
            iso(newest["time"]) if newest else "-",
            str(newest["close"]) if newest else "-",
            age,
            str(stream["candles_processed"]),
        )
    console.print(tasks, streams)
    counts = body["counts"]
    console.print(
        f"signals {counts['signals']} · orders {counts['orders']} · fills {counts['fills']} · rejections "
        + (", ".join(f"{k}={v}" for k, v in counts["rejections"].items()) or "0"),
        highlight=False,
        markup=False,
    )


def _control_line(access: str | None, source: str, url: str) -> str:
    """Whether the kill switch is in reach from here, and with which token (never printed)."""
    if access == "accepted":
        return f"control: the token in {source} is accepted · kill switch: ictbot flatten, or {url}/#token=<that token>"
    if access == "missing":
        return f"control: no token in {source}; run this with the bot's --config, or set ICTBOT_API__TOKEN"
    if access == "wrong":
        return f"control: the bot refuses the token in {source}; run this with the bot's --config (data_dir, api.token)"
    if access == "disabled":
        return "control: disabled (the bot has no control token)"
    return "control: not reported by this bot"


@data_app.command("info")
def data_info(
    file: Path, symbol: Annotated[str | None, typer.Option(help="Symbol, if not in the name.")] = None
) -> None:
    """Symbol, timeframe, range, rows and gaps of a candle file."""
    from ictbot.data.frame import iso

    try:
        from ictbot.data.loaders import load_candles

        frame = load_candles(file, symbol=symbol)
    except IctbotError as exc:
        raise _fail(exc) from None
    gaps = frame.gaps()
    console.print(f"file:      {file}", highlight=False)
    console.print(f"symbol:    {frame.symbol or 'unknown (pass --symbol)'}", highlight=False)
    console.print(f"timeframe: {frame.timeframe}", highlight=False)
    console.print(f"range:     {iso(int(frame.open_time[0]))} → {iso(int(frame.open_time[-1]))}", highlight=False)
    console.print(f"rows:      {len(frame)}", highlight=False)
    console.print(f"gaps:      {len(gaps)} ({sum(g.missing for g in gaps)} missing candles)", highlight=False)
    for gap in gaps[:10]:
        console.print(f"  after {iso(gap.after)}: {gap.missing} missing", highlight=False)
    if len(gaps) > 10:
        console.print(f"  … and {len(gaps) - 10} more", highlight=False)


@data_app.command("resample")
def data_resample(
    file: Path,
    timeframe: Annotated[str, typer.Option("--timeframe", help="Target timeframe, e.g. 15m.")],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", help="Output .parquet file (default: named like FILE with the new timeframe, beside it)."
        ),
    ] = None,
    symbol: Annotated[str | None, typer.Option(help="Symbol, if not in the name.")] = None,
) -> None:
    """Aggregate a candle file to a higher timeframe (no partial or invented candles) and write Parquet; the output
    keeps the symbol (in its metadata and, by default, its name), so the other commands read it without --symbol."""
    try:
        target = Timeframe.parse(timeframe)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--timeframe") from None
    try:
        from ictbot.candles.aggregate import resample
        from ictbot.data.loaders import load_candles, write_parquet

        source = load_candles(file, symbol=symbol)
        frame = resample(source, target)
        out = out or resampled_name(file, source, target)
        write_parquet(frame, out)
    except IctbotError as exc:
        raise _fail(exc) from None
    console.print(f"Wrote {len(frame)} {target} {frame.symbol} candles to {out}", highlight=False)


def resampled_name(file: Path, frame: CandleFrame, target: Timeframe) -> Path:
    """``ETH_USDT_USDT-1m-futures.feather`` → ``ETH_USDT_USDT-15m-futures.parquet``; ``LINKUSDT-1m-2023-02.zip`` →
    ``LINKUSDT-15m-2023-02.parquet``; a name without the timeframe → ``<SYMBOL>-15m.parquet``, all beside ``file``."""
    if frame.symbol is None:
        raise ConfigError(f"{file}: the symbol is not in the file name; pass --symbol or --out")
    head, found, tail = file.name.split(".", 1)[0].partition(f"-{frame.timeframe.value}")
    if found and head and (not tail or tail.startswith("-")):
        return file.with_name(f"{head}-{target.value}{tail}.parquet")
    return file.with_name(f"{frame.symbol}-{target.value}.parquet")


register_ict_command(app)
register_download_command(app)
app.command("config-reference")(config_reference.command)
app.command("optimize")(research_cli.optimize)
app.command("walkforward")(research_cli.walkforward)
app.command("baseline")(research_cli.baseline)
