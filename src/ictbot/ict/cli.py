"""``ictbot ict``: export every detection of a candle file for inspection."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Annotated

import typer

from ictbot.domain import Timeframe
from ictbot.errors import DataError, IctbotError
from ictbot.lazy import loading_implementation


def ict_command(data: Path, timeframe: str, out: Path | None) -> Counter:
    """Detect with default parameters on ``data`` aggregated to ``timeframe``; write ``out`` if given.

    Returns the number of records per kind."""
    with loading_implementation():
        from ictbot.candles.aggregate import resample
        from ictbot.data.loaders import load_candles
        from ictbot.ict.batch import detect_frame
        from ictbot.ict.export import write_records

    try:
        tf = Timeframe.parse(timeframe)
    except ValueError as exc:
        raise DataError(str(exc)) from None
    frame = load_candles(data)
    if frame.timeframe != tf:
        frame = resample(frame, tf)
    tables = detect_frame(frame).tables
    if out is not None:
        write_records(tables, out)
    counts: Counter = Counter()
    for table in tables:
        if len(table):
            counts.update(table.columns["kind"].tolist())
    return counts


def register(app: typer.Typer) -> None:
    """Add the ``ict`` command to ``app``."""

    @app.command("ict")
    def ict(
        data: Annotated[Path, typer.Option("--data", help="Candle file (.feather, .parquet, .csv, .zip, .json).")],
        timeframe: Annotated[str, typer.Option("--timeframe", help="Timeframe to detect on, e.g. 15m.")],
        out: Annotated[Path | None, typer.Option("--out", help="Write records to this .csv or .parquet file.")] = None,
    ) -> None:
        """Run every ICT detector (default parameters) and export one row per record."""
        try:
            counts = ict_command(data, timeframe, out)
        except IctbotError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(code=2) from None
        for kind, count in sorted(counts.items()):
            typer.echo(f"{kind:10s} {count}")
        if out is not None:
            typer.echo(f"wrote {sum(counts.values())} records to {out}")
