"""Properties on generated OHLC series: causality, batch == incremental, and record invariants."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from ict_support import DETECTORS, as_of, batch_records, incremental_records, same, without_open_fill

from ictbot.data.frame import CandleFrame
from ictbot.domain import Timeframe
from ictbot.ict.batch import detect_frame
from ictbot.ict.config import IctConfig
from ictbot.ict.records import LIFECYCLE_FIELDS, FairValueGap, Swing

START = 1_710_036_000_000  # 2024-03-10 02:00 UTC, the day New York moves to daylight time


@st.composite
def candle_series(draw) -> CandleFrame:
    """A tick-grid random walk (so ties, equal highs and zero-range candles occur) with occasional missing candles."""
    n = draw(st.integers(1, 400))
    steps = np.array(draw(st.lists(st.integers(-6, 6), min_size=n, max_size=n)), dtype=float)
    wicks = np.array(draw(st.lists(st.integers(0, 4), min_size=2 * n, max_size=2 * n)), dtype=float).reshape(2, n)
    skips = np.array(draw(st.lists(st.sampled_from([1] * 12 + [2, 7]), min_size=n, max_size=n)))
    offset = draw(st.integers(0, 3 * 1440))
    close = 1000 + np.cumsum(steps) * 0.5
    open_ = np.concatenate(([1000.0], close[:-1]))
    high = np.maximum(open_, close) + wicks[0] * 0.5
    low = np.minimum(open_, close) - wicks[1] * 0.5
    open_time = START + (offset + np.cumsum(skips)) * 60_000
    return CandleFrame(open_time, open_, high, low, close, np.ones(n), Timeframe.M1)


CONFIG = IctConfig(swing_left=2, swing_right=2)


@settings(max_examples=60, deadline=None)
@given(candle_series(), st.data())
def test_generated_series_prefix_run_equals_full_run_as_of_the_cut(frame, data):
    cut = data.draw(st.integers(1, len(frame)))
    full, prefix = detect_frame(frame, CONFIG), detect_frame(frame.slice(0, cut), CONFIG)
    last = int(frame.open_time[cut - 1])
    for detector in DETECTORS:
        expected = as_of(batch_records(full, detector), last)
        assert same(without_open_fill(batch_records(prefix, detector)), expected), detector


@settings(max_examples=60, deadline=None)
@given(candle_series())
def test_generated_series_incremental_equals_batch(frame):
    incremental, _ = incremental_records(frame, CONFIG)
    assert incremental == batch_records(detect_frame(frame, CONFIG))


@settings(max_examples=60, deadline=None)
@given(candle_series())
def test_generated_series_records_are_well_formed(frame):
    records = batch_records(detect_frame(frame, CONFIG))
    for r in records:
        assert r.top >= r.bottom
        assert r.formed_at <= r.known_at
        for name in LIFECYCLE_FIELDS:
            step = getattr(r, name, None)
            assert step is None or step > r.known_at, (name, r)
        if isinstance(r, FairValueGap):
            assert r.top > r.bottom and 0.0 <= r.fill <= 1.0
            assert (r.filled_at is None) == (r.fill < 1.0)
    kept = [r for r in records if isinstance(r, Swing) and r.superseded_at is None]
    assert all(a.direction != b.direction for a, b in itertools.pairwise(kept))
