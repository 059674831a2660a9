"""Shared helpers for the ICT detector tests: real data subsets, running both APIs, as-of views of records."""

from __future__ import annotations

import copy
from functools import cache
from pathlib import Path

from ictbot.candles.aggregate import resample
from ictbot.data.frame import CandleFrame
from ictbot.data.loaders import load_candles
from ictbot.domain import Timeframe
from ictbot.ict.batch import IctTables, detect_frame
from ictbot.ict.config import IctConfig
from ictbot.ict.records import LIFECYCLE_FIELDS, FairValueGap, Record
from ictbot.ict.state import IctState

DATA = Path(__file__).resolve().parents[1] / "data"
FOREVER = 2**62
DETECTORS = ("swings", "structure", "fvgs", "order_blocks", "breakers", "liquidity", "sessions")


@cache
def real_frame(symbol: str, timeframe: str, candles: int) -> CandleFrame:
    """``candles`` candles of ``symbol``: the first ones of the 1m file, or 15m/1h aggregates of the whole file."""
    frame = load_candles(DATA / f"{symbol}_USDT_USDT-1m-futures.feather")
    tf = Timeframe.parse(timeframe)
    if tf is not Timeframe.M1:
        frame = resample(frame, tf)
    return frame.slice(0, candles)


def sort_key(r: Record) -> tuple:
    return (r.known_at, r.kind, r.formed_at, r.direction, r.top, r.bottom)


def batch_records(tables: IctTables, detector: str | None = None) -> list[Record]:
    records = tables.records() if detector is None else getattr(tables, detector).records()
    return sorted(records, key=sort_key)


def incremental_records(frame: CandleFrame, config: IctConfig | None = None) -> tuple[list[Record], IctState]:
    """Every record ``IctState`` ever returned, in its final state."""
    state = IctState(frame.timeframe, config)
    seen: dict[int, Record] = {}
    for candle in frame.candles():
        for record in state.update(candle):
            seen[id(record)] = record
    return sorted(seen.values(), key=sort_key), state


def as_of(records: list[Record], last_open_time: int) -> list[Record]:
    """What was known after the candle opening at ``last_open_time`` closed: later records dropped, later
    lifecycle steps unset. A gap's ``fill`` is only final once it is invalidated, so it is dropped (set to NaN)
    for gaps still open then; compare those with ``fill_ok``."""
    out = []
    for record in records:
        if record.known_at > last_open_time:
            continue
        view = copy.copy(record)
        for name in LIFECYCLE_FIELDS:
            value = getattr(view, name, None)
            if value is not None and value > last_open_time:
                setattr(view, name, None)
        if isinstance(view, FairValueGap) and view.invalidated_at is None:
            view.fill = float("nan")
        out.append(view)
    return out


def without_open_fill(records: list[Record]) -> list[Record]:
    """Copies with ``fill`` set to NaN on gaps not yet invalidated, for comparing with ``as_of`` views."""
    return as_of(records, FOREVER)


def same(a: list[Record], b: list[Record]) -> bool:
    """Equality that treats NaN fills as equal."""
    return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))


def _same(x: Record, y: Record) -> bool:
    if isinstance(x, FairValueGap) and isinstance(y, FairValueGap) and x.fill != x.fill and y.fill != y.fill:
        x, y = copy.copy(x), copy.copy(y)
        x.fill = y.fill = 0.0
    return x == y


def detect(frame: CandleFrame, config: IctConfig | None = None) -> IctTables:
    return detect_frame(frame, config)
