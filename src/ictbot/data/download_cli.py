"""``ictbot download``: fill the Parquet history store from Binance, with a progress bar."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, cast

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from ictbot.domain import Timeframe
from ictbot.errors import DataError, IctbotError

if TYPE_CHECKING:
    from ictbot.data.download import DownloadReport, Source
    from ictbot.data.funding_download import FundingReport
    from ictbot.data.store import HistoryStore

DEFAULT_STORE = Path("ictbot-data/history")
SOURCES = ("auto", "rest", "bulk")


def parse_moment(text: str, option: str) -> int:
    """``YYYY-MM-DD`` or ISO ``YYYY-MM-DDTHH:MM[:SS][+hh:mm]`` (UTC unless an offset is given) → epoch ms."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise DataError(f"{option} {text!r} is not a date; use YYYY-MM-DD or YYYY-MM-DDTHH:MM (UTC)") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def normalise_symbol(text: str) -> str:
    """``btc/usdt:usdt`` or ``BTCUSDT`` → ``BTCUSDT``, Binance's id."""
    return text.strip().upper().split(":")[0].replace("/", "")


async def run_download(
    symbol: str,
    timeframe: Timeframe,
    start_ms: int,
    end_ms: int | None,
    *,
    source: Source,
    store_dir: Path,
    testnet: bool,
    rest_url: str | None,
    bulk_url: str | None,
    funding: bool = True,
    progress: Progress | None = None,
) -> tuple[DownloadReport, FundingReport | None, HistoryStore]:
    """Build the store and the ccxt client from the command's options and download (ccxt is imported here, not at
    start-up, so the other commands do not pay for it)."""
    from ictbot.data.download import BULK_URL, binance_client, download
    from ictbot.data.store import DEFAULT_VENUE, HistoryStore

    if testnet and source == "bulk":
        raise DataError("Binance's bulk dumps hold mainnet candles only; use --source rest with --testnet")
    store = HistoryStore(store_dir, f"{DEFAULT_VENUE}-testnet" if testnet else DEFAULT_VENUE)
    client = None if source == "bulk" else binance_client(rest_url, testnet)
    task = None if progress is None else progress.add_task(f"{symbol} {timeframe}", total=None)

    def show(done: int, total: int) -> None:
        if progress is not None and task is not None:
            progress.update(task, completed=done, total=total)

    try:
        report = await download(
            store,
            symbol,
            timeframe,
            start_ms,
            end_ms,
            source="rest" if testnet else source,
            client=client,
            bulk_url=bulk_url or BULK_URL,
            on_progress=show,
        )
        paid = None
        if funding and client is not None:
            from ictbot.data.funding_download import download_funding

            paid = await download_funding(store, symbol, start_ms, end_ms or int(time.time() * 1000), client)
    finally:
        if client is not None:
            await client.close()
    return report, paid, store


def register(app: typer.Typer) -> None:
    """Add the ``download`` command to ``app``."""

    @app.command("download")
    def download_command(
        symbol: Annotated[str, typer.Option("--symbol", help="Binance symbol, e.g. BTCUSDT.")],
        timeframe: Annotated[str, typer.Option("--timeframe", help="Candle interval, e.g. 1m, 15m, 1h.")],
        start: Annotated[str, typer.Option("--from", help="First day or moment (UTC), e.g. 2025-05-01.")],
        end: Annotated[
            str | None, typer.Option("--to", help="End, exclusive (UTC); default: now (closed candles only).")
        ] = None,
        source: Annotated[
            str,
            typer.Option(
                "--source", help="auto (bulk dumps for whole past days and months, REST for the rest), rest, bulk."
            ),
        ] = "auto",
        store_dir: Annotated[Path, typer.Option("--store", help="History store directory.")] = DEFAULT_STORE,
        testnet: Annotated[bool, typer.Option("--testnet", help="Binance futures testnet (REST only).")] = False,
        rest_url: Annotated[
            str | None, typer.Option("--rest-url", hidden=True, help="REST base URL, e.g. a local exchange.")
        ] = None,
        funding: Annotated[
            bool,
            typer.Option(
                "--funding/--no-funding",
                help="Also fetch funding rates and settlement mark prices (REST, so not with --source bulk).",
            ),
        ] = True,
        bulk_url: Annotated[
            str | None,
            typer.Option("--bulk-url", hidden=True, help="Bulk dump base URL; default Binance's."),
        ] = None,
    ) -> None:
        """Download closed candles into the Parquet history store; a repeated run fetches only what is missing."""
        from ictbot import event_loop

        console, errors = Console(), Console(stderr=True)
        try:
            if source not in SOURCES:
                raise DataError(f"--source {source!r} is not one of {', '.join(SOURCES)}")
            try:
                tf = Timeframe.parse(timeframe)
            except ValueError as exc:
                raise DataError(f"--timeframe: {exc}") from None

            start_ms = parse_moment(start, "--from")
            end_ms = None if end is None else parse_moment(end, "--to")
            with Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                console=errors,
                transient=True,
            ) as progress:
                report, paid, store = event_loop.run(
                    run_download(
                        normalise_symbol(symbol),
                        tf,
                        start_ms,
                        end_ms,
                        source=cast("Source", source),
                        store_dir=store_dir,
                        testnet=testnet,
                        rest_url=rest_url,
                        bulk_url=bulk_url,
                        funding=funding,
                        progress=progress,
                    )
                )
        except IctbotError as exc:
            errors.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(code=2) from None
        for url in report.unavailable:
            errors.print(f"[yellow]not published:[/] {url}", highlight=False, soft_wrap=True)
        console.print(
            f"{report.symbol} {report.timeframe}: {report.added} new candles "
            f"({report.kline_requests} REST pages, {len(report.dumps)} dumps) in "
            f"{store.directory(report.symbol, report.timeframe)}",
            highlight=False,
            soft_wrap=True,
        )
        coverage = store.coverage(report.symbol, report.timeframe)
        if coverage is not None:
            console.print(f"stored: {coverage}", highlight=False, soft_wrap=True)
        if paid is not None:
            from ictbot.data.funding_store import funding_path

            console.print(
                f"{paid.symbol} funding: {paid.added} new settlements ({paid.funding_requests} REST pages, "
                f"{paid.mark_requests} marks from markPriceKlines) in {funding_path(store, paid.symbol)}",
                highlight=False,
                soft_wrap=True,
            )
