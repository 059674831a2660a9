"""Cross-check against the peer library smartmoneyconcepts 0.0.27 on real data (differences: docs/ict.md)."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest
from ict_support import real_frame

from ictbot.ict.batch import detect_frame
from ictbot.ict.config import IctConfig

os.environ.setdefault("SMC_CREDIT", "0")
smc = pytest.importorskip("smartmoneyconcepts").smc

CANDLES = 8000


def ohlc(frame) -> pd.DataFrame:
    return pd.DataFrame({k: getattr(frame, k) for k in ("open", "high", "low", "close", "volume")})


def gap_set(columns) -> set[tuple]:
    keys = ("formed_at", "known_at", "direction", "top", "bottom")
    return set(zip(*(columns[k].tolist() for k in keys), strict=True))


@pytest.mark.parametrize("symbol", ["BTC", "ETH", "SOL"])
def test_every_smc_fvg_is_found_with_the_same_candles_direction_and_prices(symbol):
    frame = real_frame(symbol, "1m", CANDLES)
    theirs = smc.fvg(ohlc(frame))
    t = frame.open_time
    rows = np.flatnonzero(~np.isnan(theirs["FVG"].to_numpy()))
    # smc indexes a gap at its middle candle i; it becomes knowable at the close of i + 1.
    expected = {
        (t[i], t[i + 1], int(theirs["FVG"].iat[i]), theirs["Top"].iat[i], theirs["Bottom"].iat[i]) for i in rows
    }
    ours = gap_set(detect_frame(frame).fvgs.columns)
    assert len(expected) > 1000
    assert expected <= ours
    # Any extra gap of ours has a middle candle that does not close in the gap's direction (smc's colour rule) …
    for formed_at, _, direction, _, _ in ours - expected:
        i = int(np.searchsorted(t, formed_at))
        assert np.sign(frame.close[i] - frame.open[i]) != direction
    # … so adopting that rule reproduces smc exactly.
    assert gap_set(detect_frame(frame, IctConfig(fvg_require_middle_direction=True)).fvgs.columns) == expected


@pytest.mark.parametrize(("symbol", "length"), [("BTC", 5), ("ETH", 10), ("SOL", 50)])
def test_smc_swings_equal_ours_with_left_length_minus_one_and_right_length(symbol, length):
    frame = real_frame(symbol, "1m", CANDLES)
    theirs = smc.swing_highs_lows(ohlc(frame), swing_length=length)
    flags = theirs["HighLow"].to_numpy()
    # smc forces labels on the first and last candle, and its rolling window cannot mark the first 2·length − 1
    # candles; compare from 4·length on, where neither applies.
    start = 4 * length
    rows = [i for i in np.flatnonzero(~np.isnan(flags)) if start <= i < len(frame) - 1]
    t = frame.open_time
    expected = {(t[i], int(flags[i]), theirs["Level"].iat[i]) for i in rows}
    swings = detect_frame(frame, IctConfig(swing_left=length - 1, swing_right=length)).swings.columns
    kept = (swings["superseded_at"] == -1) & (swings["formed_at"] >= t[start])
    ours = set(zip(*(swings[k][kept].tolist() for k in ("formed_at", "direction", "top")), strict=True))
    assert len(expected) > 20
    assert ours == expected
