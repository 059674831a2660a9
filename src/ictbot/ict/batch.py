"""Batch API: every detector over whole numpy arrays, with numba kernels that mirror the incremental detectors.

``detect_all`` returns columnar ``RecordTable``s (times in epoch ms, lifecycle ``-1`` = not yet) plus per-candle
structure state; ``RecordTable.records()`` turns a table into the same typed records ``IctState`` produces.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from ictbot.data.frame import CandleFrame
from ictbot.ict._inputs import ohlc_arrays
from ictbot.ict.atr import atr_series
from ictbot.ict.config import IctConfig
from ictbot.ict.fvg import fvg_kernel
from ictbot.ict.liquidity import KIND_CODES, liquidity_kernel
from ictbot.ict.order_blocks import _check_choice, order_block_kernel
from ictbot.ict.records import (
    LIFECYCLE_FIELDS,
    BreakerBlock,
    FairValueGap,
    LiquidityLevel,
    OrderBlock,
    Record,
    SessionRange,
    StructureBreak,
    Swing,
)
from ictbot.ict.sessions import local_times, session_kernel
from ictbot.ict.structure import structure_kernel
from ictbot.ict.swings import check_lengths, swing_kernel

NOT_YET = -1


@dataclass(frozen=True)
class RecordTable:
    """Records of one type as columns named after the record's fields."""

    record_type: type
    columns: dict[str, np.ndarray]

    def __len__(self) -> int:
        return len(next(iter(self.columns.values())))

    def records(self) -> list[Record]:
        names = [f.name for f in fields(self.record_type) if f.name in self.columns]
        lists = [self.columns[name].tolist() for name in names]
        lifecycle = [i for i, name in enumerate(names) if name in LIFECYCLE_FIELDS]
        out = []
        for row in zip(*lists, strict=True):
            values = list(row)
            for i in lifecycle:
                if values[i] == NOT_YET:
                    values[i] = None
            out.append(self.record_type(**dict(zip(names, values, strict=True))))
        return out


@dataclass(frozen=True)
class IctTables:
    """Everything ``detect_all`` found; per-candle arrays hold the state after each candle's close."""

    swings: RecordTable
    structure: RecordTable
    fvgs: RecordTable
    order_blocks: RecordTable
    breakers: RecordTable
    liquidity: RecordTable
    sessions: RecordTable
    trend: np.ndarray
    range_direction: np.ndarray
    range_top: np.ndarray
    range_bottom: np.ndarray

    @property
    def tables(self) -> tuple[RecordTable, ...]:
        return (self.swings, self.structure, self.fvgs, self.order_blocks, self.breakers, self.liquidity, self.sessions)

    def records(self) -> list[Record]:
        """Every record, ordered by ``known_at``."""
        out = [r for table in self.tables for r in table.records()]
        out.sort(key=lambda r: r.known_at)
        return out


def _times(open_time: np.ndarray, index: np.ndarray) -> np.ndarray:
    return np.where(index >= 0, open_time[np.maximum(index, 0)], NOT_YET)


def _kinds(names: tuple[str, ...], codes: np.ndarray) -> np.ndarray:
    return np.array(names, dtype=object)[codes] if codes.size else np.empty(0, dtype=object)


def _table(record_type: type, kind, **columns) -> RecordTable:
    n = len(next(iter(columns.values())))
    kinds = kind if isinstance(kind, np.ndarray) else np.full(n, kind, dtype=object)
    return RecordTable(record_type, {"kind": kinds, **columns})


def detect_frame(frame: CandleFrame, config: IctConfig | None = None) -> IctTables:
    return detect_all(frame.open_time, frame.open, frame.high, frame.low, frame.close, frame.timeframe.ms, config)


def detect_all(open_time, open_, high, low, close, timeframe_ms: int, config: IctConfig | None = None) -> IctTables:
    """Run every detector over the arrays; raises ``DataError`` on NaN, inconsistent or unordered candles."""
    cfg = config or IctConfig()
    check_lengths(cfg.swing_left, cfg.swing_right)
    _check_choice("break_on", cfg.break_on, ("close", "wick"))
    _check_choice("fvg_invalidate_on", cfg.fvg_invalidate_on, ("close", "fill"))
    _check_choice("ob_anchor", cfg.ob_anchor, ("last_opposite", "extreme"))
    _check_choice("ob_zone", cfg.ob_zone, ("wick", "body"))
    _check_choice("ob_invalidate_on", cfg.ob_invalidate_on, ("close", "wick"))
    t, o, h, lo, c = ohlc_arrays(open_time, open_, high, low, close)
    max_age = cfg.max_age or 0
    atr = atr_series(h, lo, c, cfg.atr_period)

    pivot, sdir, sprice, sconfirm, sup = swing_kernel(h, lo, cfg.swing_left, cfg.swing_right)
    swings = _table(
        Swing, "swing", direction=sdir, top=sprice, bottom=sprice, formed_at=t[pivot], known_at=t[sconfirm],
        superseded_at=_times(t, sup),
    )  # fmt: skip

    breaks, state = structure_kernel(o, h, lo, c, pivot, sdir, sprice, sconfirm, cfg.break_on == "wick")
    bdir, choch, level, bswing, bat, bext, bopp, borigin = breaks
    structure = _table(
        StructureBreak, np.where(choch, "choch", "bos").astype(object), direction=bdir, top=level, bottom=level,
        formed_at=t[bswing], known_at=t[bat], extreme=borigin, extreme_at=t[bext],
    )  # fmt: skip

    gdir, gtop, gbot, gat, gtouch, gfilled, gdead, gexpired, gfill = fvg_kernel(
        o, h, lo, c, atr, cfg.fvg_min_size, cfg.fvg_min_atr_fraction, cfg.fvg_require_middle_direction,
        cfg.fvg_invalidate_on == "close", max_age,
    )  # fmt: skip
    fvgs = _table(
        FairValueGap, "fvg", direction=gdir, top=gtop, bottom=gbot, formed_at=t[gat - 1], known_at=t[gat],
        touched_at=_times(t, gtouch), filled_at=_times(t, gfilled), invalidated_at=_times(t, gdead), fill=gfill,
        expired_at=_times(t, gexpired),
    )  # fmt: skip

    source = bopp if cfg.ob_anchor == "last_opposite" else bext
    zbrk, zdir, ztop, zbot, zformed, zknown, ztouch, zdead, zexpired = order_block_kernel(
        o, h, lo, c, bdir, bat, source, cfg.ob_zone == "body", cfg.ob_invalidate_on == "close", max_age
    )
    ob, br = ~zbrk, zbrk
    order_blocks = _table(
        OrderBlock, "ob", direction=zdir[ob], top=ztop[ob], bottom=zbot[ob], formed_at=t[zformed[ob]],
        known_at=t[zknown[ob]], mitigated_at=_times(t, ztouch[ob]), invalidated_at=_times(t, zdead[ob]),
        expired_at=_times(t, zexpired[ob]),
    )  # fmt: skip
    breakers = _table(
        BreakerBlock, "breaker", direction=zdir[br], top=ztop[br], bottom=zbot[br], formed_at=t[zformed[br]],
        known_at=t[zknown[br]], retested_at=_times(t, ztouch[br]), invalidated_at=_times(t, zdead[br]),
        expired_at=_times(t, zexpired[br]),
    )  # fmt: skip

    lkind, ldir, ltop, lbot, lformed, lknown, lswept, lbroken, lexpired = liquidity_kernel(
        t, h, lo, c, atr, pivot, sdir, sprice, sconfirm, cfg.eq_fraction, cfg.eq_atr_fraction, timeframe_ms, max_age
    )
    liquidity = _table(
        LiquidityLevel, _kinds(KIND_CODES, lkind), direction=ldir, top=ltop, bottom=lbot, formed_at=t[lformed],
        known_at=t[lknown], swept_at=_times(t, lswept), broken_at=_times(t, lbroken), expired_at=_times(t, lexpired),
    )  # fmt: skip

    return IctTables(
        swings, structure, fvgs, order_blocks, breakers, liquidity, _sessions(t, h, lo, timeframe_ms, cfg), *state
    )


def _sessions(t: np.ndarray, h: np.ndarray, lo: np.ndarray, timeframe_ms: int, cfg: IctConfig) -> RecordTable:
    local_minutes = local_times(t) // 60_000
    minute, day = local_minutes % 1440, local_minutes // 1440
    parts = []
    for zone in cfg.killzones:
        top, bot, formed, known = session_kernel(minute, day, h, lo, zone.start, zone.end, timeframe_ms // 60_000)
        parts.append((zone.name, top, bot, formed, known))
    order = np.argsort(np.concatenate([p[4] for p in parts]) if parts else np.empty(0, np.int64), kind="stable")

    def joined(i: int) -> np.ndarray:
        return np.concatenate([p[i] for p in parts])[order] if parts else np.empty(0)

    names = np.concatenate([np.full(len(p[1]), p[0], dtype=object) for p in parts])[order] if parts else np.empty(0)
    formed, known = joined(3).astype(np.int64), joined(4).astype(np.int64)
    return RecordTable(
        SessionRange,
        {
            "kind": np.full(len(known), "killzone", dtype=object),
            "direction": np.zeros(len(known), np.int64),
            "top": joined(1),
            "bottom": joined(2),
            "formed_at": t[formed],
            "known_at": t[known],
            "name": names,
        },
    )
