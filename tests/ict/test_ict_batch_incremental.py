"""The batch kernels and the incremental IctState produce identical records and state on real data."""

from __future__ import annotations

import numpy as np
import pytest
from ict_support import batch_records, detect, incremental_records, real_frame

from ictbot.ict.config import IctConfig
from ictbot.ict.records import FairValueGap
from ictbot.ict.state import IctState

VARIANTS = {
    "defaults": IctConfig(),
    "wick_breaks_body_extreme_zones": IctConfig(
        break_on="wick", ob_anchor="extreme", ob_zone="body", ob_invalidate_on="wick", fvg_invalidate_on="fill"
    ),
    "thresholds": IctConfig(
        swing_left=3, swing_right=2, fvg_min_atr_fraction=0.3, fvg_require_middle_direction=True, eq_fraction=0.0005
    ),
    "zones_expire": IctConfig(max_age=60),
}


@pytest.mark.parametrize(
    ("symbol", "timeframe", "candles"), [("BTC", "1m", 20_000), ("ETH", "15m", 2_800), ("SOL", "1h", 720)]
)
@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_incremental_records_equal_batch_records(symbol, timeframe, candles, variant):
    frame = real_frame(symbol, timeframe, candles)
    config = VARIANTS[variant]
    incremental, _ = incremental_records(frame, config)
    batch = batch_records(detect(frame, config))
    assert len(batch) > 100
    assert incremental == batch


def test_incremental_state_matches_batch_state_after_every_candle():
    frame = real_frame("ETH", "15m", 2_800)
    tables = detect(frame)
    state = IctState(frame.timeframe)
    for i, candle in enumerate(frame.candles()):
        state.update(candle)
        assert state.trend == tables.trend[i]
        rng = state.dealing_range
        if rng is None:
            assert tables.range_direction[i] == 0
        else:
            assert (rng.direction, rng.top, rng.bottom) == (
                tables.range_direction[i],
                tables.range_top[i],
                tables.range_bottom[i],
            )
    open_gaps = [r for r in tables.fvgs.records() if r.invalidated_at is None]
    assert sorted(state.fvgs, key=lambda g: g.known_at) == sorted(open_gaps, key=lambda g: g.known_at)
    resting = [r for r in tables.liquidity.records() if r.swept_at is None and r.broken_at is None]
    assert sorted(state.liquidity_levels, key=lambda r: (r.known_at, r.kind)) == sorted(
        resting, key=lambda r: (r.known_at, r.kind)
    )


def test_update_returns_new_records_and_those_whose_lifecycle_advanced():
    frame = real_frame("BTC", "1m", 3000)
    state = IctState(frame.timeframe)
    fills: dict[int, float] = {}
    for candle in frame.candles():
        for record in state.update(candle):
            if record.known_at != candle.open_time:
                steps = [getattr(record, f) for f in record.__slots__ if f.endswith("_at") and f != "known_at"]
                deeper = isinstance(record, FairValueGap) and record.fill > fills.get(id(record), 0.0)
                assert candle.open_time in steps or deeper, record
            if isinstance(record, FairValueGap):
                fills[id(record)] = record.fill


def test_dealing_range_levels_follow_the_leg():
    frame = real_frame("SOL", "15m", 2000)
    tables = detect(frame)
    has = tables.range_direction != 0
    assert has.sum() > 1000
    assert np.all(tables.range_top[has] >= tables.range_bottom[has])


def test_order_blocks_remember_only_the_source_candles_of_current_legs():
    """One block per source candle and direction, without remembering every source of a run that lasts months: a
    new swing starts the leg every later block of its direction comes from, so older sources are forgotten."""
    frame = real_frame("BTC", "1m", 20_000)
    state = IctState(frame.timeframe)
    blocks = 0
    for candle in frame.candles():
        blocks += sum(
            1 for record in state.update(candle) if record.kind == "ob" and record.known_at == candle.open_time
        )
    assert blocks > 500
    assert sum(len(sources) for sources in state.order_blocks._seen.values()) < 10


def test_with_max_age_no_zone_or_level_is_held_longer_and_each_expiry_is_reported_once():
    """A bot that runs for months holds a bounded number of zones: nothing older than ``max_age`` candles stays
    active, and an expiring record comes back from ``update`` on the candle it expires, as any lifecycle step does."""
    frame = real_frame("BTC", "1m", 20_000)
    max_age = 300
    state = IctState(frame.timeframe, IctConfig(max_age=max_age))
    index_of = {int(t): i for i, t in enumerate(frame.open_time)}
    reported: dict[int, object] = {}  # id → the record, held so that its id stays its own
    for i, candle in enumerate(frame.candles()):
        for record in state.update(candle):
            if getattr(record, "expired_at", None) == candle.open_time:
                assert id(record) not in reported
                reported[id(record)] = record
                assert i == index_of[record.known_at] + max_age + 1
        held = [*state.fvgs, *state.order_blocks.active, *state.liquidity_levels]
        assert all(index_of[zone.known_at] >= i - max_age for zone in held)
    assert len(reported) > 500


def test_a_max_age_below_one_candle_is_refused_with_the_fix():
    with pytest.raises(ValueError, match="max_age must be at least 1 candle"):
        IctConfig(max_age=0)
