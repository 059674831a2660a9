"""Causality: running on history[:t] yields exactly what the full run knew at t, for every detector."""

from __future__ import annotations

import numpy as np
import pytest
from ict_support import DETECTORS, as_of, batch_records, detect, real_frame, same, without_open_fill

from ictbot.ict.records import FairValueGap

CASES = [
    (symbol, timeframe, candles)
    for symbol in ("BTC", "ETH", "SOL")
    for timeframe, candles in (("1m", 3000), ("15m", 2000), ("1h", 720))
]


@pytest.mark.parametrize(("symbol", "timeframe", "candles"), CASES)
def test_prefix_run_knows_exactly_what_the_full_run_knew_at_each_cut(symbol, timeframe, candles):
    frame = real_frame(symbol, timeframe, candles)
    full = detect(frame)
    full_by_detector = {d: batch_records(full, d) for d in DETECTORS}
    rng = np.random.default_rng(len(frame))
    cuts = sorted(set(np.linspace(1, len(frame), 25, dtype=int)) | set(rng.integers(1, len(frame), 10).tolist()))
    for cut in cuts:
        prefix = detect(frame.slice(0, cut))
        last = int(frame.open_time[cut - 1])
        for detector in DETECTORS:
            got = batch_records(prefix, detector)
            expected = as_of(full_by_detector[detector], last)
            assert same(without_open_fill(got), expected), f"{detector} differs at cut {cut}"
        for name in ("trend", "range_direction", "range_top", "range_bottom"):
            np.testing.assert_array_equal(getattr(prefix, name), getattr(full, name)[:cut], err_msg=name)


def test_an_open_gap_never_shows_more_fill_than_the_full_run_records():
    frame = real_frame("BTC", "1m", 3000)
    full = {(g.known_at, g.direction): g for g in detect(frame).fvgs.records()}
    for cut in (500, 1500, 2500):
        for gap in detect(frame.slice(0, cut)).fvgs.records():
            assert isinstance(gap, FairValueGap)
            assert 0.0 <= gap.fill <= full[(gap.known_at, gap.direction)].fill <= 1.0
