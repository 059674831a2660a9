"""Detector zones of one symbol × timeframe for the API and the chart: every ICT detector run over the candles the
candle book holds, with the settings the strategy uses, so the drawing shows what the strategy sees."""

from __future__ import annotations

from typing import Any

import numpy as np

from ictbot.config import Settings
from ictbot.ict.batch import detect_all
from ictbot.ict.config import IctConfig
from ictbot.ict.records import LIFECYCLE_FIELDS, Record, SessionRange, Swing
from ictbot.strategy.ict_mtf import IctMtfSettings

# Lifecycle steps that end a zone's drawing; a touch or a mitigation does not end it.
_ENDS = ("filled_at", "invalidated_at", "swept_at", "broken_at", "superseded_at", "expired_at")


def detector_config(settings: Settings) -> IctConfig:
    strategy = settings.strategy
    return strategy.detectors() if isinstance(strategy, IctMtfSettings) else IctConfig()


def zones(columns: np.ndarray, timeframe_ms: int, config: IctConfig, *, active_only: bool) -> list[dict[str, Any]]:
    """FVGs, order and breaker blocks, liquidity levels and structure breaks found in ``columns`` (the candle
    book's ``(6, n)`` array), oldest first; ``ends_at`` is when the zone stopped mattering (``None``: still active)."""
    if columns.shape[1] < 3:
        return []
    t, o, h, low, c = (np.ascontiguousarray(columns[i]) for i in range(5))
    tables = detect_all(t.astype(np.int64), o, h, low, c, timeframe_ms, config)
    out = []
    for record in tables.records():
        if isinstance(record, Swing | SessionRange):
            continue
        item = _record_dict(record)
        if active_only and item["ends_at"] is not None:
            continue
        out.append(item)
    return out


def compile_detectors(config: IctConfig) -> None:
    """Compile the detector kernels now (once per install; numba caches them on disk): the first chart a user opens
    must not hold the interpreter for seconds while the bot trades."""
    steps = np.arange(64, dtype=np.float64)
    close = 100 + 5 * np.sin(steps / 3)
    columns = np.vstack([steps * 60_000, close, close + 1, close - 1, close, np.ones(64)])
    zones(columns, 60_000, config, active_only=False)


def _record_dict(record: Record) -> dict[str, Any]:
    item: dict[str, Any] = {
        "kind": record.kind,
        "direction": record.direction,
        "top": record.top,
        "bottom": record.bottom,
        "formed_at": record.formed_at,
        "known_at": record.known_at,
    }
    for name in LIFECYCLE_FIELDS:
        if hasattr(record, name):
            item[name] = getattr(record, name)
    ends = [item[name] for name in _ENDS if item.get(name) is not None]
    item["ends_at"] = min(ends) if ends else None
    return item
