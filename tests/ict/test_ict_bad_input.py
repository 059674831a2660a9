"""Bad input: defined results for edge cases, a clear DataError for candles the detectors cannot use."""

from __future__ import annotations

import numpy as np
import pytest
from ict_support import DATA, batch_records, incremental_records

from ictbot.data.frame import CandleFrame
from ictbot.data.loaders import load_candles
from ictbot.domain import Candle, Timeframe
from ictbot.errors import DataError
from ictbot.ict.batch import detect_all, detect_frame
from ictbot.ict.state import IctState

T0 = 1_746_374_400_000  # 2025-05-04 16:00 UTC


def frame_of(rows: list[tuple[float, float, float, float]], step: int = 60_000) -> CandleFrame:
    o, h, lo, c = (np.array(col, dtype=float) for col in zip(*rows, strict=True)) if rows else [np.empty(0)] * 4
    times = T0 + step * np.arange(len(rows), dtype=np.int64)
    return CandleFrame(times, o, h, lo, c, np.ones(len(rows)), Timeframe.M1)


def test_empty_input_gives_empty_tables():
    tables = detect_frame(frame_of([]))
    assert tables.records() == []
    assert tables.trend.shape == (0,)


def test_a_single_candle_gives_no_records_in_either_api():
    frame = frame_of([(10, 11, 9, 10.5)])
    assert detect_frame(frame).records() == []
    assert incremental_records(frame)[0] == []


def test_zero_range_candles_form_no_gap_and_no_structure():
    frame = frame_of([(10, 10, 10, 10)] * 50)
    records = detect_frame(frame).records()
    assert all(r.kind not in ("fvg", "bos", "choch", "ob") for r in records)
    # Flat prices tie every window: the first candle with a full window is a swing high, later equal ones are dropped.
    assert [r.kind for r in records if r.kind == "swing"] == ["swing"]


def test_nan_price_is_rejected_by_batch_and_incremental_and_leaves_state_unchanged():
    rows = [(10, 11, 9, 10.5), (10.5, float("nan"), 10, 11)]
    frame = frame_of(rows)
    with pytest.raises(DataError, match="NaN"):
        detect_frame(frame)
    state = IctState(Timeframe.M1)
    state.update(frame.candle(0))
    with pytest.raises(DataError, match="NaN"):
        state.update(Candle(T0 + 60_000, 10.5, float("nan"), 10, 11, 1))
    state.update(Candle(T0 + 60_000, 10.5, 11.5, 10, 11, 1))  # the good candle is still accepted afterwards


@pytest.mark.parametrize(
    ("rows", "times", "message"),
    [
        ([(10, 9, 11, 10)], [T0], "inconsistent"),
        ([(10, 11, 9, 12)], [T0], "inconsistent"),
        ([(10, 11, 9, 10), (10, 11, 9, 10)], [T0, T0], "strictly increase"),
        ([(10, 11, 9, 10), (10, 11, 9, 10)], [T0, T0 - 60_000], "strictly increase"),
    ],
)
def test_inconsistent_or_unordered_candles_raise_data_error(rows, times, message):
    o, h, lo, c = (np.array(col, dtype=float) for col in zip(*rows, strict=True))
    with pytest.raises(DataError, match=message):
        detect_all(np.array(times), o, h, lo, c, 60_000)
    state = IctState(Timeframe.M1)
    with pytest.raises(DataError, match=message):
        for t, (a, b, d, e) in zip(times, rows, strict=True):
            state.update(Candle(t, a, b, d, e, 1))


def test_mismatched_column_lengths_raise_data_error():
    with pytest.raises(DataError, match="length"):
        detect_all(np.array([T0, T0 + 60_000]), np.ones(2), np.ones(2), np.ones(1), np.ones(2), 60_000)


def test_gaps_are_adjacent_candles_and_both_apis_agree_on_a_file_with_676_gaps():
    frame = load_candles(DATA / "XRP_ETH-1m.feather")
    assert len(frame.gaps()) == 676
    tables = detect_frame(frame)
    assert len(tables.fvgs) > 0
    assert incremental_records(frame)[0] == batch_records(tables)
