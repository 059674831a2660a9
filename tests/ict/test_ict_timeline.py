"""IctTimeline answers, as of every candle, exactly what IctState holds after that candle — and nothing later."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ict_support import DATA, real_frame

from ictbot.data.frame import CandleFrame
from ictbot.data.loaders import load_candles
from ictbot.domain import Timeframe
from ictbot.ict.config import IctConfig
from ictbot.ict.records import LIFECYCLE_FIELDS, Record
from ictbot.ict.sessions import Killzone
from ictbot.ict.state import IctState
from ictbot.ict.timeline import IctTimeline

VARIANTS = {
    "defaults": IctConfig(),
    "wick_breaks_body_extreme_zones": IctConfig(
        break_on="wick", ob_anchor="extreme", ob_zone="body", ob_invalidate_on="wick", fvg_invalidate_on="fill"
    ),
    "short_swings_and_thresholds": IctConfig(
        swing_left=2,
        swing_right=1,
        fvg_min_atr_fraction=0.3,
        eq_fraction=0.0005,
        killzones=(Killzone.parse("early", "00:00", "06:00"), Killzone.parse("overlap", "05:00", "09:30")),
    ),
    "zones_expire": IctConfig(max_age=60),
}
ACCESSORS = ("trend", "swing_high", "swing_low", "fvgs", "active_order_blocks", "breakers", "liquidity_levels")


def _steps(records: list[Record], t: int) -> list[Record]:
    """What ``IctState.update`` returned at ``t``, less gaps whose fill merely deepened (no lifecycle step)."""
    return [r for r in records if r.known_at == t or any(getattr(r, name, None) == t for name in LIFECYCLE_FIELDS)]


def _range(rng) -> tuple | None:
    return None if rng is None else (rng.direction, rng.top, rng.bottom, rng.formed_at, rng.known_at)


def _assert_timeline_is_state(frame: CandleFrame, config: IctConfig) -> int:
    """Checks every candle; returns how many records the state reported, so callers can see the test had work."""
    timeline = IctTimeline(frame, config)
    state = IctState(frame.timeframe, config)
    reported = 0
    for i, candle in enumerate(frame.candles()):
        expected = _steps(state.update(candle), candle.open_time)
        view = timeline.at(i)
        reported += len(expected)
        assert view.records == expected, i
        for name in ACCESSORS:
            assert getattr(view, name) == getattr(state, name), (i, name)
        assert view.killzone == state.killzone, i
        assert _range(view.dealing_range) == _range(state.dealing_range), i
        since = candle.open_time - 6 * frame.timeframe.ms
        assert view.fvgs_formed_since(since) == [g for g in state.fvgs if g.formed_at >= since], i
        for side in (1, -1):
            assert view.liquidity_levels_on(side) == [lvl for lvl in state.liquidity_levels if lvl.direction == side]
    return reported


@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize(("symbol", "timeframe", "candles"), [("BTC", "1m", 3_000), ("ETH", "15m", 1_500)])
def test_timeline_equals_ict_state_after_every_candle(symbol, timeframe, candles, variant):
    assert _assert_timeline_is_state(real_frame(symbol, timeframe, candles), VARIANTS[variant]) > 500


def test_timeline_equals_ict_state_on_a_gappy_series():
    gappy = load_candles(DATA / "XRP_ETH-1m.feather").slice(0, 3_000)
    assert len(gappy.gaps()) > 50
    assert _assert_timeline_is_state(gappy, IctConfig(swing_left=3, swing_right=3)) > 300


@pytest.mark.parametrize("cut", [40, 777, 1_499])
def test_a_view_ignores_every_later_candle(cut):
    frame = real_frame("ETH", "15m", 1_500)
    full, prefix = IctTimeline(frame).at(cut), IctTimeline(frame.slice(0, cut + 1)).at(cut)
    assert full.records == prefix.records
    for name in (*ACCESSORS, "killzone"):
        assert getattr(full, name) == getattr(prefix, name), name
    assert _range(full.dealing_range) == _range(prefix.dealing_range)


def test_before_the_first_candle_nothing_is_known():
    view = IctTimeline(real_frame("SOL", "1h", 50)).at(-1)
    assert (view.records, view.trend, view.dealing_range, view.swing_high, view.killzone) == ([], 0, None, None, None)
    assert view.fvgs == view.liquidity_levels == view.active_order_blocks == []


def test_index_of_finds_only_candles_of_the_history():
    frame = real_frame("SOL", "1h", 50)
    timeline = IctTimeline(frame)
    assert timeline.index_of(int(frame.open_time[7])) == 7
    with pytest.raises(KeyError):
        timeline.index_of(int(frame.open_time[7]) + 1)


START = 1_710_036_000_000  # 2024-03-10 02:00 UTC, the day New York moves to daylight time


@st.composite
def candle_series(draw) -> CandleFrame:
    """A tick-grid random walk (ties, equal highs, zero-range candles) with missing candles."""
    n = draw(st.integers(1, 300))
    steps = np.array(draw(st.lists(st.integers(-6, 6), min_size=n, max_size=n)), dtype=float)
    wicks = np.array(draw(st.lists(st.integers(0, 4), min_size=2 * n, max_size=2 * n)), dtype=float).reshape(2, n)
    skips = np.array(draw(st.lists(st.sampled_from([1] * 12 + [2, 7]), min_size=n, max_size=n)))
    close = 1000 + np.cumsum(steps) * 0.5
    open_ = np.concatenate(([1000.0], close[:-1]))
    high = np.maximum(open_, close) + wicks[0] * 0.5
    low = np.minimum(open_, close) - wicks[1] * 0.5
    open_time = START + (draw(st.integers(0, 3 * 1440)) + np.cumsum(skips)) * 60_000
    return CandleFrame(open_time, open_, high, low, close, np.ones(n), Timeframe.M1)


@settings(max_examples=60, deadline=None)
@given(candle_series(), st.sampled_from(sorted(VARIANTS)))
def test_generated_series_timeline_equals_ict_state(frame, variant):
    config = VARIANTS[variant]
    if variant == "defaults":
        config = IctConfig(swing_left=2, swing_right=2)
    _assert_timeline_is_state(frame, config)
