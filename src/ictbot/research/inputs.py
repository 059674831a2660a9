"""Candles and funding for the research commands: from files (``--data``) or the Parquet history store (``--symbol``
without ``--data``), over ``--from``/``--to``."""

from __future__ import annotations

from pathlib import Path

from ictbot.data.frame import CandleFrame
from ictbot.data.funding import FundingSchedule, sibling_schedule
from ictbot.data.funding_store import stored_schedule
from ictbot.data.loaders import load_candles
from ictbot.data.store import DEFAULT_VENUE, HistoryStore
from ictbot.domain import Timeframe
from ictbot.errors import DataError

DEFAULT_STORE = Path("ictbot-data/history")


def load_inputs(
    data: list[Path] | None,
    symbols: list[str] | None,
    start_ms: int | None,
    end_ms: int | None,
    store_dir: Path = DEFAULT_STORE,
    timeframe: Timeframe = Timeframe.M1,
    venue: str = DEFAULT_VENUE,
) -> tuple[list[CandleFrame], dict[str, FundingSchedule]]:
    """Frames and the funding schedules found for them.

    With ``data``, each file is one symbol; ``symbols`` then name the files whose names do not carry it, one per file
    in order (a single ``--symbol`` may name a single file). Without ``data``, each symbol's range is read from the
    store, merging its month files, with the funding history stored beside it.
    """
    symbols = [s.strip().upper().replace("/", "") for s in symbols or []]
    if data:
        if symbols and len(symbols) != len(data):
            raise DataError(
                f"{len(data)} --data files but {len(symbols)} --symbol values; give one --symbol per --data"
            )
        names: list[str | None] = list(symbols) if symbols else [None] * len(data)
        frames = [load_candles(p, symbol=s).between(start_ms, end_ms) for p, s in zip(data, names, strict=True)]
        funding = {
            f.symbol: schedule
            for p, f in zip(data, frames, strict=True)
            if f.symbol and (schedule := sibling_schedule(Path(p))) is not None
        }
        return frames, funding
    if not symbols:
        raise DataError("no candles given: pass --data FILE, or --symbol SYMBOL to read the history store")
    store = HistoryStore(store_dir, venue)
    frames = [store.read(s, timeframe, start_ms, end_ms) for s in symbols]
    funding = {
        f.symbol: schedule for f in frames if f.symbol and (schedule := stored_schedule(store, f.symbol, f)) is not None
    }
    return frames, funding
